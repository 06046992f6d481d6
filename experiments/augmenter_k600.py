"""The paper's augmenter (CV §4.5): 256x256 clips, against the CR-30 codec (codec_cr30.py).

python -m cvision.main --config=experiments/augmenter_k600.py \
  --config.data.source=folder --config.data.path=/data/k600/train
For TPU/GPU; on CPU only its shapes and compilation are tested.
"""
from cvision.configs import augmenter


def get_config(arg=None):
  del arg
  return augmenter.paper()
