"""Paper-size VQ codec at CR 256 on 256x256 clips of 32 frames (CV Table 5/10, §E.2-E.3).

python -m cvision.main --config=experiments/codec_cr256.py --workdir=runs/codec_cr256

For TPU/GPU hosts (shape/compile-tested in CI, not trained there): codes 1/8 of the image side (32x32) and 1/4 of the frames, four codebooks of 64
entries (the layout of codec_quick.py at paper size): the CR-256 codes that S3D reads
with the stem of CV Fig. 14 (classify_k600.py:cr256).
Train on real videos with --config.data.source=folder --config.data.path=/videos.
"""
from cvision.configs import codec


def get_config(arg=None):
  del arg
  return codec.paper(256.0, down_blocks=3, codebooks=4, codebook_size=64,
                             temporal_downsamples=2)
