"""What S3D reads in the `classify` stage: RGB videos, their codes, or reconstructions.

No split is held whole: RGB videos are read from the split (cached on disk once read),
codes from the codes store the splits are encoded into once (each host its share), one
window at a time. Training batches are random views, a pure function of (seed, step), so a
resumed run, or a run on another number of hosts, sees the same data; each host reads
only its rows of the global batch, through tf.data workers that read ahead in parallel.
Reconstructions (`input.kind='recon'`) and encode-time shifted copies are held in memory:
they are for small studies.

"Videos" below are what the model reads, in its own cells (frames and pixels, or code
frames and cells): `len(videos)`, `videos.video(i)` and `videos.window(i, start, stop)`.
"""
import dataclasses
import functools
import os

import jax
import numpy as np

from cvision import codec_io, errors
from cvision.data import codes_store, labeled, views
from cvision.train_lib import multihost, sharding

INPUTS = ('rgb', 'codes', 'recon')
AUGMENTS = ('none', 'nn_crop', 'learned')


def view_size(config) -> int:
  """The side of the views cut from the stored inputs: the crop, or the whole frame when
  the latent augmenter makes the crops from it (`input.augment` 'learned')."""
  return config.data.size if config.input.augment == 'learned' else config.data.crop


class ArrayVideos:
  """Videos in memory, `[N, T, H, W, C]`."""

  def __init__(self, array: np.ndarray):
    self.array = array

  def __len__(self):
    return len(self.array)

  def video(self, i: int) -> np.ndarray:
    return self.array[i]

  def window(self, i: int, start: int, stop: int) -> np.ndarray:
    return self.array[i, start:stop]


class StoreVideos:
  """A split's codes in the codes store, read window by window."""

  def __init__(self, store: codes_store.CodesStore, ids: list[str]):
    self.store, self.ids = store, ids

  def __len__(self):
    return len(self.ids)

  def video(self, i: int) -> np.ndarray:
    return self.store.read(self.ids[i])

  def window(self, i: int, start: int, stop: int) -> np.ndarray:
    return self.store.read(self.ids[i], start, stop)

  def disk_bytes(self) -> int:
    return sum(self.store.disk_bytes(vid) for vid in self.ids)


def as_videos(inputs):
  return ArrayVideos(inputs) if isinstance(inputs, np.ndarray) else inputs


@dataclasses.dataclass
class ShiftedCodes:
  """Training codes with encode-time shifted copies (`input.shifted_copies`): version v of
  video i, `codes[i, v]`, was encoded from the video shifted by `offsets[i, v]`
  (`views.shift`; version 0 is the unshifted video)."""
  codes: np.ndarray  # [N, V, T', H', W', n_codebooks]
  offsets: np.ndarray  # [N, V, 3]

  def __len__(self):
    return len(self.codes)


@dataclasses.dataclass
class Inputs:
  splits: dict  # {split: labeled.Split}
  inputs: dict  # {split: what the model reads: Videos or ShiftedCodes}
  grid: views.Grid  # pixels (1, 1) or the codec's cells
  codec: object  # the TrainedCodec, or None for RGB
  info: dict  # input kind, compression rate, codec fingerprint, sizes


def encode_split(codec, store_path: str, split: labeled.Split,
                 offsets: np.ndarray | None = None):
  """The split's codes, encoded into the store if missing (each host its share), as
  `StoreVideos`; with `offsets [N, V, 3]`, the codes of each video shifted by each of its
  offsets, in memory `[N, V, T', H', W', N_codebooks]` (stored as `<id>` for (0, 0, 0),
  `<id>+t.y.x` else).

  A store written by another codec is refused by the store itself (its manifest)."""
  t = codec.model.time_factor
  if split.frames % t:
    raise errors.ConfigError(f'data.frames={split.frames} must be a multiple of the codec '
                             f'time factor {t}')
  versions = np.zeros((len(split), 1, 3), np.int64) if offsets is None else offsets
  name = lambda vid, o: vid + ('+' + '.'.join(map(str, o)) if any(o) else '')

  def frames(i, offset):  # read when the encoder reaches the video, not before
    yield from views.shift(split.read(i), offset)

  meta = dict(source='classify', fps=25.0, frames=split.frames, source_bytes=None)
  encoded = ((name(split.ids[i], o), frames(i, o), meta)
             for i in multihost.my_share(range(len(split))) for o in versions[i])
  codec_io.encode_all(codec, store_path, encoded, window=split.frames)
  store = codes_store.CodesStore.open(store_path, codes_store.codec_manifest(codec))
  if offsets is None:
    return StoreVideos(store, split.ids)
  return np.stack([np.stack([store.read(name(vid, o)) for o in offs])
                   for vid, offs in zip(split.ids, versions)])


def decode_all(codec, codes, batch: int = 16) -> np.ndarray:
  """Reconstructions of every video's codes as uint8 frames, in memory."""
  out = []
  for i in range(0, len(codes), batch):
    chunk = np.stack([codes.video(j) for j in range(i, min(i + batch, len(codes)))])
    out.append((codec.decode(chunk) * 255).round().astype(np.uint8))
  return np.concatenate(out)


def prepare(config, workdir: str, load_codec) -> Inputs:
  """The splits and what S3D reads of them, per `config.input` (encoding if needed)."""
  kind, copies, augment = config.input.kind, config.input.shifted_copies, config.input.augment
  if kind not in INPUTS:
    raise errors.ConfigError(f'input.kind must be one of {INPUTS}, got {kind!r}')
  if copies and kind != 'codes':
    raise errors.ConfigError(f'input.shifted_copies={copies} is for codes; input.kind is '
                             f'{kind!r}')
  if augment not in AUGMENTS:
    raise errors.ConfigError(f'input.augment must be one of {AUGMENTS}, got {augment!r}')
  if augment == 'learned' and (kind != 'codes' or copies):
    raise errors.ConfigError("input.augment='learned' makes views of codes (input.kind "
                             "'codes', no input.shifted_copies)")
  kinds = tuple(config.input.learned_kinds)
  if augment == 'learned' and (not kinds or set(kinds) - {'crop', 'flip'}):
    raise errors.ConfigError(f"input.learned_kinds must be 'crop', 'flip' or both, got "
                             f'{kinds}')
  cache = config.data.cache_dir or os.path.join(workdir, 'data')
  splits = {s: labeled.load_split(config.data, s, cache) for s in labeled.SPLITS}
  info = dict(input=kind, cr=1.0)
  if kind == 'rgb':
    return Inputs(splits, dict(splits), views.Grid(), None, info)
  codec = load_codec()
  if codec.size != config.data.size:
    raise errors.ConfigError(f'the codec works at {codec.size}x{codec.size}; data.size is '
                             f'{config.data.size}')
  store_path = config.data.store or os.path.join(workdir, 'codes')
  codes = {s: encode_split(codec, store_path, d) for s, d in splits.items()}
  info.update(cr=codec.compression_rate(config.data.frames, codec.size, codec.size),
              codec=codec.fingerprint,
              code_bytes=int(sum(c.disk_bytes() for c in codes.values())),
              rgb_bytes=int(sum(len(d) * d.frames * codec.size ** 2 * 3
                                for d in splits.values())))
  if kind == 'recon':
    return Inputs(splits, {s: ArrayVideos(decode_all(codec, c)) for s, c in codes.items()},
                  views.Grid(), codec, info)
  grid = views.Grid(codec.model.time_factor, codec.model.space_factor)
  inputs = dict(codes)
  if copies:
    offsets = views.sub_cell_offsets(np.random.default_rng([config.seed, 17]),
                                     len(splits['train']), copies, grid)
    inputs['train'] = ShiftedCodes(encode_split(codec, store_path, splits['train'], offsets),
                                   offsets)
  return Inputs(splits, inputs, grid, codec, info)


def _plan(inputs, grid: views.Grid, config, step: int):
  """`(rows, versions, boxes)`: this host's rows of global batch `step`, with the shifted
  version of each (or None) and its box; a pure function of (seed, step)."""
  d, size = config.data, view_size(config)
  rng = np.random.default_rng([config.seed, step])
  host = sharding.host_batch_slice(d.batch_size)
  rows = rng.integers(len(inputs), size=d.batch_size)
  if isinstance(inputs, ShiftedCodes):  # a random version of each video, cut on its grid
    versions = rng.integers(inputs.offsets.shape[1], size=d.batch_size)
    offsets = inputs.offsets[rows, versions]
    boxes = views.random_boxes(rng, d.batch_size, d.frames, d.size, d.clip_frames, size,
                               grid, offsets)[host]
    return rows[host], versions[host], boxes - offsets[host]
  boxes = views.random_boxes(rng, d.batch_size, d.frames, d.size, d.clip_frames, size,
                             grid)[host]
  if config.input.augment == 'none':  # central crops, random clips in time
    boxes[:, 1:] = (d.size - size) / 2
  return rows[host], None, boxes


def read_view(videos, i: int, box, config, grid: views.Grid) -> np.ndarray:
  """Video i cut to `box` (t, y, x) in RGB units, reading only the frames it shows."""
  d, size = config.data, view_size(config)
  span = d.clip_frames // grid.time
  first = views.first_cell(box[0], grid.time, d.frames // grid.time, span)
  window = videos.window(i, first, first + span)
  return views.crop(window[None], np.asarray([(0, box[1], box[2])]), d.clip_frames, size,
                    grid)[0]


def _example(inputs, data: labeled.Split, grid, config, plan, j: int):
  rows, versions, boxes = plan
  row, box, d = rows[j], boxes[j], config.data
  if isinstance(inputs, ShiftedCodes):
    x = views.crop(inputs.codes[row, versions[j]][None], box[None], d.clip_frames,
                   view_size(config), grid)[0]
  else:
    x = read_view(inputs, row, box, config, grid)
  if data.frame_level:  # the frames of the unshifted video the view shows
    t = int(box[0] if versions is None else box[0] + inputs.offsets[row, versions[j]][0])
    return x, data.labels[row, t:t + d.clip_frames]
  return x, data.labels[row]


def sample_batch(inputs, data: labeled.Split, grid: views.Grid, config, step: int) -> dict:
  """This host's rows of global batch `step`: a pure function of (seed, step)."""
  inputs = as_videos(inputs)
  plan = _plan(inputs, grid, config, step)
  examples = [_example(inputs, data, grid, config, plan, j) for j in range(len(plan[0]))]
  return dict(x=np.stack([x for x, _ in examples]),
              label=np.stack([y for _, y in examples]).astype(np.int32))


def train_batches(inputs, data: labeled.Split, grid: views.Grid, config, start: int,
                  stop: int):
  """This host's batches of steps `[start, stop)`, each equal to `sample_batch`'s, read
  ahead by parallel tf.data workers (in order: a run is the same however it is read)."""
  from cvision.tensorflow_cpu import tf  # pylint: disable=g-import-not-at-top
  if start >= stop:
    return
  inputs = as_videos(inputs)
  local = config.data.batch_size // jax.process_count()
  plan = functools.lru_cache(maxsize=16)(lambda step: _plan(inputs, grid, config, step))

  def read(element):
    step, j = divmod(int(element), local)
    x, label = _example(inputs, data, grid, config, plan(step), j)
    return x, np.asarray(label, np.int32)

  first = read(start * local)
  types, shapes = (tf.as_dtype(first[0].dtype), tf.int32), tuple(v.shape for v in first)
  ds = tf.data.Dataset.range(start * local, stop * local).map(
      lambda e: tuple(tf.ensure_shape(v, s) for v, s in zip(
          tf.numpy_function(read, [e], types, stateful=False), shapes)),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
  for x, label in ds.batch(local).prefetch(2).as_numpy_iterator():
    yield dict(x=x, label=label)
