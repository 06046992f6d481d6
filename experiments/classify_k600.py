"""Paper-size video-level classification (Kinetics-600 layout; CV §4.3, §E.4).

python -m cvision.main --config=experiments/classify_k600.py:rgb --config.data.source=/data/k600
with /data/k600/{train,test}/*.mp4 and /data/k600/labels.csv (`video,label`).
Variants: rgb, cr30, cr256, recon (reconstructions of the CR-256 codes). Point
--config.codec.workdir at a paper-size codec (experiments/codec_cr30.py, codec_cr256.py).
For TPU/GPU; on CPU only shapes and compilation are tested.
"""
from cvision.configs import classify


def get_config(arg=None):
  return classify.paper('k600', arg)
