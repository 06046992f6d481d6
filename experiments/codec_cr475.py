"""Paper-size VQ codec at CR ~475 on 256x256 clips of 32 frames (CV Table 5/10, §E.2-E.3).

python -m cvision.main --config=experiments/codec_cr475.py --workdir=runs/codec_cr475

For TPU/GPU hosts (shape/compile-tested in CI, not trained there): codes 1/16 of the image side (16x16), one codebook of 8192 entries.
Train on real videos with --config.data.source=folder --config.data.path=/videos.
"""
from cvision.configs import codec


def get_config(arg=None):
  del arg
  return codec.paper(472.6, down_blocks=4, codebooks=1, codebook_size=8192)
