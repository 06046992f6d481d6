"""The paper-size RD codec (RDAE §4-5): 160x160 crops of 8 frames, K = 32 latent channels,
128-channel AE with 5 residual blocks, gated PixelCNN prior; for TPU/GPU.

python -m cvision.main --config=experiments/rdcodec_kinetics.py:3d_last \
    --config.data.path=/data/kinetics/train --workdir=runs/rdcodec_kinetics
Variants `<ae>_<prior>`: ae 2d|3d, prior frame|last|gru (RDAE Fig. 5); `:3d_last` is the
paper's best. `--config.loss.beta=` sets the rate-distortion trade-off (0.1-0.7 there).
Kinetics comes from a folder of video files (shorter side resized to 160 here; the paper
downscales to 256 first, then crops).
"""
from cvision.configs import rdcodec


def get_config(arg=None):
  ae, _, prior = (arg or '3d_last').partition('_')
  if ae not in ('2d', '3d') or prior not in ('frame', 'last', 'gru'):
    raise ValueError(f'unknown variant {arg!r}: use <2d|3d>_<frame|last|gru>, e.g. 3d_last')
  c = rdcodec.paper(temporal=ae == '3d', context=prior)
  c.data.update(source='folder', path='', size=160, crop=160)
  return c
