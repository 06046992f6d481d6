"""Base config of `classify` and `classify_benchmark`, and the bodies of the classify
experiment files: RGB, codes and reconstructions share data, S3D, optimizer and schedule."""
import ml_collections

from cvision.configs import augmenter, common

# The rows of CV Table 4 (variants of the quick configs): (input.augment, learned kinds,
# eval.crops, eval.flips). Rows that differ only at test share a workdir's training.
TABLE4_ROWS = dict(central=('none', (), 1, 1), nn_crop=('nn_crop', (), 4, 1),
                   learned_crop=('learned', ('crop',), 4, 1),
                   learned_flip_train=('learned', ('crop', 'flip'), 4, 1),
                   learned_flip_train_test=('learned', ('crop', 'flip'), 4, 2),
                   # The augmenter flips the whole frame; the crop is nn_crop's, cut after.
                   nn_crop_learned_flip=('learned', ('flip',), 4, 1),
                   nn_crop_learned_flip_test=('learned', ('flip',), 4, 2))


def base() -> ml_collections.ConfigDict:
  """CPU-sized: the procedural action videos at 64x64, S3D at a quarter width."""
  c = common.top('classify')
  # kind: 'rgb', 'codes' or 'recon' (the codes decoded); codes_as: 'onehot' or 'vectors'
  # (the codec's codebook vectors, standardised; learned views then reach S3D as the
  # augmenter's vectors, an 'embeddings' augmenter's unsnapped); shifted_copies: each
  # training video is also encoded that many times from sub-cell offsets, so training
  # crops of the codes are not confined to the cell grid (CV Table 2 encoded randomly
  # cropped videos).
  # augment: the training views, 'nn_crop' (random crops: of pixels, or the nearest code
  # cells), 'none' (central crops) or, for codes, 'learned' (the latent augmenter makes
  # them on the device: `learned_kinds` of 'crop' and 'flip'; without 'crop' it flips
  # the whole frame and nn_crop's cells are cut after; test pools eval.crops x eval.flips).
  c.input = dict(kind='rgb', codes_as='vectors', shifted_copies=0, augment='nn_crop',
                 learned_kinds=('crop', 'flip'))
  c.codec = common.codec()
  c.augmenter = augmenter.block()
  # source: 'actions' (procedural), a folder with train/ test/ and labels.csv, or
  # 'tfds:<name>'; level 'video' or 'frame'; store '' means <workdir>/codes.
  c.data = dict(source='actions', level='video', num_train=600, num_test=200, frames=24,
                size=64, clip_frames=16, crop=56, batch_size=16, steps=4,
                min_step_frames=12, frame_stride=1, seed_offset=0,
                cache_dir='runs/classify_data', labels='', tfds_splits=('train', 'test'),
                tfds_data_dir='', store='')
  c.model = dict(width=0.25, stem_features=(16, 16), code_stem='upsampled', gating=False,
                 dropout=0.2, bn_momentum=0.9)
  c.train = common.train(steps=1200, lr=3e-3, warmup_steps=20, weight_decay=1e-5,
                         log_every=25, ckpt_every=100)
  c.eval = dict(clips=2, crops=3, flips=1, batch_size=32)
  return c


def benchmark_base() -> ml_collections.ConfigDict:
  """`classify_benchmark`: S3D and its input pipeline on codes vs RGB, one run."""
  c = base()
  c.stage = 'classify_benchmark'
  c.benchmark = dict(clips=32, frames=32, batch_size=8, repeats=3, seed=7, memory_sizes=())
  return c


def quick(kind: str, codec: dict | None, arg: str | None,
          augmenter_block: dict | None = None) -> ml_collections.ConfigDict:
  """A quick experiment on `kind` input ('rgb' or 'codes') with `codec` (its workdir and
  config) and, for learned views, `augmenter_block`. arg: comma-separated variants:
  'frames' (frame-level steps videos), 'recon' (the codec's reconstructions instead of
  its codes), 'smoke' (seconds, for tests), or a row of `TABLE4_ROWS`."""
  variants = set(arg.split(',')) if arg else set()
  known = {'frames', 'recon', 'smoke', *TABLE4_ROWS}
  if variants - known:
    raise ValueError(f'unknown variant(s) {sorted(variants - known)} (known: '
                     f'{", ".join(sorted(known))})')
  if 'recon' in variants:
    if kind != 'codes':
      raise ValueError("'recon' needs a codec: use it with a classify_codes_* config")
    kind = 'recon'
  c = base()
  # One-hot codes learn faster than the vectors of these small codecs (docs/results.md).
  c.input.update(kind=kind, codes_as='onehot' if kind == 'codes' else 'vectors')
  if codec:
    c.codec.update(codec)
  if augmenter_block:
    c.augmenter.update(augmenter_block)
  for row in variants & set(TABLE4_ROWS):
    augment, kinds, crops, flips = TABLE4_ROWS[row]
    c.input.update(augment=augment, learned_kinds=kinds or c.input.learned_kinds)
    c.eval.update(crops=crops, flips=flips)
  if 'frames' in variants:
    c.data.update(level='frame', num_train=300, num_test=100, frames=64)
  if 'smoke' in variants:
    c.data.update(num_train=8, num_test=4, batch_size=4, cache_dir='')
    c.model.update(width=0.125, stem_features=(8, 8))
    c.train.update(steps=2, log_every=1, ckpt_every=1)
    c.eval.update(batch_size=8)
  return c


# The paper-size variants: input kind and codec (paper-size codecs, CV Table 5/10).
_CR30 = dict(workdir='runs/codec_cr30', config='experiments/codec_cr30.py')
_CR256 = dict(workdir='runs/codec_cr256', config='experiments/codec_cr256.py')
PAPER_VARIANTS = dict(rgb=('rgb', None), cr30=('codes', _CR30), cr256=('codes', _CR256),
                      recon=('recon', _CR256))


def paper(dataset: str, arg: str | None) -> ml_collections.ConfigDict:
  """Paper-size (CV §E.4): 32-frame clips, 224 crops of 256, S3D at full width.

  dataset: 'k600' (video level) or 'coin' (frame level); both read a folder of videos
  with a labels file (`--config.data.source=/path`). arg: a key of `PAPER_VARIANTS`.
  Trained on TPU/GPU; on CPU only their shapes and compilation are tested."""
  if (arg or 'rgb') not in PAPER_VARIANTS:
    raise ValueError(f'unknown variant {arg!r} (known: {", ".join(PAPER_VARIANTS)})')
  kind, codec = PAPER_VARIANTS[arg or 'rgb']
  c = quick('codes' if kind == 'recon' else kind, codec, 'recon' if kind == 'recon' else None)
  c.data.update(source='', num_train=0, num_test=0, frames=64, size=256, clip_frames=32,
                crop=224, batch_size=64, cache_dir='', frame_stride=2)
  c.input.codes_as = 'vectors'  # the paper's input, from its well-trained codecs
  c.model.update(width=1.0, stem_features=(64, 64), bn_momentum=0.999)
  c.train.update(steps=100_000, lr=1e-3, warmup_steps=1000, log_every=100, ckpt_every=2000)
  c.eval.update(clips=4, crops=3, batch_size=16)
  if dataset == 'coin':
    c.data.update(level='frame', frames=256)
  elif dataset != 'k600':
    raise ValueError(f"dataset must be 'k600' or 'coin', got {dataset!r}")
  return c
