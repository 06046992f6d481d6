"""What S3D reads in the `classify` stage: RGB videos, their codes, or reconstructions.

The labelled splits are encoded into a codes store once (reused by later runs and by the
other input kinds); training batches are random views of them, a pure function of
(seed, step) so that a resumed run sees the same data.
"""
import dataclasses
import os

import numpy as np

from cvision import codec_io, errors
from cvision.data import codes_store, labeled, views
from cvision.train_lib import sharding

INPUTS = ('rgb', 'codes', 'recon')
AUGMENTS = ('none', 'nn_crop', 'learned')


def view_size(config) -> int:
  """The side of the views cut from the stored inputs: the crop, or the whole frame when
  the latent augmenter makes the crops from it (`input.augment` 'learned')."""
  return config.data.size if config.input.augment == 'learned' else config.data.crop


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
  splits: dict  # {split: labeled.LabeledVideos}
  inputs: dict  # {split: what the model reads: videos, codes or ShiftedCodes}
  grid: views.Grid  # pixels (1, 1) or the codec's cells
  codec: object  # the TrainedCodec, or None for RGB
  info: dict  # input kind, compression rate, codec fingerprint, sizes


def encode_split(codec, store_path: str, split: labeled.LabeledVideos,
                 offsets: np.ndarray | None = None) -> np.ndarray:
  """The split's codes `[N, T', H', W', N_codebooks]`, encoded into the store if missing;
  with `offsets [N, V, 3]`, the codes of each video shifted by each of its offsets,
  `[N, V, T', H', W', N_codebooks]` (stored as `<id>` for (0, 0, 0), `<id>+t.y.x` else).

  A store written by another codec is refused by the store itself (its manifest)."""
  t = codec.model.time_factor
  length = split.videos.shape[1]
  if length % t:
    raise errors.ConfigError(f'data.frames={length} must be a multiple of the codec time '
                             f'factor {t}')
  versions = np.zeros((len(split.ids), 1, 3), np.int64) if offsets is None else offsets
  name = lambda vid, o: vid + ('+' + '.'.join(map(str, o)) if any(o) else '')
  sources = ((name(vid, o), iter(views.shift(video, o)),
              dict(source='classify', fps=25.0, frames=length, source_bytes=None))
             for vid, video, offs in zip(split.ids, split.videos, versions) for o in offs)
  codec_io.encode_all(codec, store_path, sources, window=length)
  store = codes_store.CodesStore.open(store_path, codes_store.codec_manifest(codec))
  codes = np.stack([np.stack([store.read(name(vid, o)) for o in offs])
                    for vid, offs in zip(split.ids, versions)])
  return codes[:, 0] if offsets is None else codes


def decode_all(codec, codes: np.ndarray, batch: int = 16) -> np.ndarray:
  """Reconstructions of `[N, T', H', W', n]` codes as uint8 frames."""
  out = [codec.decode(codes[i:i + batch]) for i in range(0, len(codes), batch)]
  return (np.concatenate(out) * 255).round().astype(np.uint8)


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
  cache = config.data.cache_dir or os.path.join(workdir, 'data')
  splits = {s: labeled.load_split(config.data, s, cache) for s in labeled.SPLITS}
  info = dict(input=kind, cr=1.0)
  if kind == 'rgb':
    return Inputs(splits, {s: d.videos for s, d in splits.items()}, views.Grid(), None, info)
  codec = load_codec()
  if codec.size != config.data.size:
    raise errors.ConfigError(f'the codec works at {codec.size}x{codec.size}; data.size is '
                             f'{config.data.size}')
  store_path = config.data.store or os.path.join(workdir, 'codes')
  codes = {s: encode_split(codec, store_path, d) for s, d in splits.items()}
  info.update(cr=codec.compression_rate(config.data.frames, codec.size, codec.size),
              codec=codec.fingerprint,
              code_bytes=int(sum(c.size * c.itemsize for c in codes.values())),
              rgb_bytes=int(sum(d.videos.size for d in splits.values())))
  if kind == 'recon':
    return Inputs(splits, {s: decode_all(codec, c) for s, c in codes.items()}, views.Grid(),
                  codec, info)
  grid = views.Grid(codec.model.time_factor, codec.model.space_factor)
  if copies:
    offsets = views.sub_cell_offsets(np.random.default_rng([config.seed, 17]),
                                     len(splits['train'].ids), copies, grid)
    codes['train'] = ShiftedCodes(encode_split(codec, store_path, splits['train'], offsets),
                                  offsets)
  return Inputs(splits, codes, grid, codec, info)


def sample_batch(inputs: np.ndarray | ShiftedCodes, data: labeled.LabeledVideos,
                 grid: views.Grid, config, step: int) -> dict:
  """This host's rows of global batch `step`: a pure function of (seed, step)."""
  d, size = config.data, view_size(config)
  rng = np.random.default_rng([config.seed, step])
  host = sharding.host_batch_slice(d.batch_size)
  rows = rng.integers(len(inputs), size=d.batch_size)
  if isinstance(inputs, ShiftedCodes):  # a random version of each video, cut on its grid
    versions = rng.integers(inputs.offsets.shape[1], size=d.batch_size)
    offsets = inputs.offsets[rows, versions]
    boxes = views.random_boxes(rng, d.batch_size, d.frames, d.size, d.clip_frames, size,
                               grid, offsets)[host]
    rows, versions, offsets = rows[host], versions[host], offsets[host]
    x = views.crop(inputs.codes[rows, versions], boxes - offsets, d.clip_frames, size, grid)
  else:
    boxes = views.random_boxes(rng, d.batch_size, d.frames, d.size, d.clip_frames, size,
                               grid)[host]
    if config.input.augment == 'none':  # central crops, random clips in time
      boxes[:, 1:] = (d.size - size) / 2
    rows = rows[host]
    x = views.crop(inputs[rows], boxes, d.clip_frames, size, grid)
  batch = dict(x=x)
  if data.frame_level:
    batch['label'] = np.stack([data.labels[r, int(t):int(t) + d.clip_frames]
                               for r, (t, _, _) in zip(rows, boxes)])
  else:
    batch['label'] = data.labels[rows]
  return batch

