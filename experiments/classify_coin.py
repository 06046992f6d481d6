"""Paper-size frame-level classification (COIN layout; CV §4.4, §E.4).

python -m cvision.main --config=experiments/classify_coin.py:rgb --config.data.source=/data/coin
with /data/coin/{train,test}/*.mp4 and /data/coin/labels.csv (`video,start,end,label`,
seconds; frames in no segment are 'background').
Variants: rgb, cr30, cr256, recon (reconstructions of the CR-256 codes). Point
--config.codec.workdir at a paper-size codec (experiments/codec_cr30.py, codec_cr256.py).
For TPU/GPU; on CPU only shapes and compilation are tested.
"""
from cvision.configs import classify


def get_config(arg=None):
  return classify.paper('coin', arg)
