"""Labelled video datasets for classification: procedural, a folder of files, or TFDS.

A split is an index held in memory (video ids, labels `[N]` at video level or `[N, T]`
at frame level, `data.level='frame'`, and class names) and videos read one at a time, on
demand: uint8 `[T, H, W, 3]` of `data.frames` frames (after `data.frame_stride`) at
`data.size` (shorter side resized, centre crop). Nothing holds a whole split, so memory
does not grow with the number of videos.

`data.source`:
  'actions'        the procedural dataset of `actions.py` (no download)
  '/a/folder'      `<folder>/<split>/` video files, labelled by `data.labels` (default
                   `<folder>/labels.csv`): rows `video,label` for video level, rows
                   `video,start,end,label` (seconds) for frame level, where frames in no
                   segment are 'background'; `video` is the file name
  'tfds:<name>'    a prepared TFDS video dataset (features `video`, `label`), e.g.
                   'tfds:ucf101', read by index (`tfds.data_source`: prepare it in the
                   array_record format); `data.tfds_splits` maps train/test to its splits

The index is built once and cached in `cache_dir` (a file per split named by a hash of
the data settings). Videos that RGB training reads are cached there too, one `.npy` each
written atomically on first use, so a procedural video is rendered, and a file decoded,
once; encoding for codes reads the source directly (its frames are not kept).
"""
import csv
import dataclasses
import hashlib
import json
import os
from typing import Callable

import numpy as np

from cvision import atomic_files, errors, progress
from cvision.data import actions, npy, video_io

SPLITS = ('train', 'test')
_SPLIT_SEEDS = {'train': 5000, 'test': 6000}  # the procedural splits share no scene
BACKGROUND = 'background'


@dataclasses.dataclass
class Split:
  """One split: its index, and `read(i)`, video i's uint8 `[frames, H, W, 3]`."""
  ids: list[str]
  labels: np.ndarray  # int32 [N] or [N, T]
  classes: tuple[str, ...]
  frames: int
  read: Callable[[int], np.ndarray]
  cache: str | None = None  # folder of videos already read

  def __len__(self) -> int:
    return len(self.ids)

  @property
  def frame_level(self) -> bool:
    return self.labels.ndim == 2

  def video(self, i: int) -> np.ndarray:
    """Video i, from the cache when read before (else read, then cached)."""
    if self.cache is None:
      return self.read(i)
    path = os.path.join(self.cache, f'{i:07d}.npy')
    if os.path.exists(path):
      return npy.load(path)
    video = self.read(i)
    with atomic_files.replacing(path, '.npy') as tmp:
      np.save(tmp, video)
    return video

  def window(self, i: int, start: int, stop: int) -> np.ndarray:
    return self.video(i)[start:stop]


def in_memory(ids, videos: np.ndarray, labels, classes) -> Split:
  """A split of videos already in memory `[N, T, H, W, 3]` (tests, small tools)."""
  return Split(list(ids), np.asarray(labels, np.int32), tuple(classes), videos.shape[1],
               lambda i: videos[i])


def mirrored_classes(classes) -> np.ndarray:
  """`[C]`: the class each class becomes when its video is flipped left to right. Names
  with 'left' and 'right' swapped, where that names a class (pan_left and pan_right;
  Something-Something's "left to right" ones), each other class itself: a flipped
  pan_left clip is a pan_right clip, and training on flips must say so."""
  index = {name: i for i, name in enumerate(classes)}
  def swapped(name):
    return name.replace('left', '\0').replace('right', 'left').replace('\0', 'right')
  return np.asarray([index.get(swapped(name), i) for i, name in enumerate(classes)], np.int32)


def load_split(data_config, split: str, cache_dir: str) -> Split:
  """One split's index, from the cache when it holds these settings, else built there."""
  identity = dict(data_config.to_dict(), split=split, generator=generator_version(data_config),
                  files=_folder_signature(data_config, split))
  settings = json.dumps(identity, sort_keys=True, default=str)
  key = hashlib.sha256(settings.encode()).hexdigest()[:12]
  path = os.path.join(cache_dir, f'{split}-{key}.index.json')
  index = atomic_files.read_json(path)
  if index is None:
    index = _build_index(data_config, split)
    if not index['ids']:
      raise errors.InputError(f'the {split} split of {data_config.source!r} has no videos')
    os.makedirs(cache_dir, exist_ok=True)
    atomic_files.write_json(path, index, indent=None)
    # What the cached index holds, for people.
    atomic_files.write_text(os.path.join(cache_dir, f'{split}-{key}.json'), settings)
  videos = os.path.join(cache_dir, f'{split}-{key}')
  os.makedirs(videos, exist_ok=True)
  return Split(index['ids'], np.asarray(index['labels'], np.int32), tuple(index['classes']),
               data_config.frames, _reader(data_config, split, index), videos)


def generator_version(data_config) -> int | None:
  """The procedural generator's version (None for files): part of the cache key, the
  video ids and a run's identity, so nothing made by an older generator is reused."""
  return actions.VERSION if data_config.source == 'actions' else None


def _folder_signature(data_config, split: str) -> str | None:
  """For a folder source, a hash of its files' names, sizes and times and of the labels
  file's: an index cached before a file was added, replaced or relabelled is not reused."""
  source = data_config.source
  folder = os.path.join(source, split)
  if source == 'actions' or source.startswith('tfds:') or not os.path.isdir(folder):
    return None  # (a missing folder is reported by the index build)
  labels = data_config.labels or os.path.join(source, 'labels.csv')
  paths = [labels] + video_io.list_videos(folder)
  stats = [(p, os.stat(p).st_size, os.stat(p).st_mtime_ns) for p in paths if os.path.exists(p)]
  return hashlib.sha256(json.dumps(stats).encode()).hexdigest()[:16]


def _build_index(data_config, split: str) -> dict:
  source = data_config.source
  if source == 'actions':
    return _procedural_index(data_config, split)
  if source.startswith('tfds:'):
    return _tfds_index(data_config, split, source[len('tfds:'):])
  return _folder_index(data_config, split)


def _reader(data_config, split: str, index: dict) -> Callable[[int], np.ndarray]:
  source = data_config.source
  if source == 'actions':
    scenes = _scenes(data_config, split)
    if data_config.level == 'frame':
      return lambda i: scenes.steps(i, data_config.frames, data_config.steps,
                                    data_config.min_step_frames)[0]
    return lambda i: scenes.clip(i, data_config.frames)[0]
  if source.startswith('tfds:'):
    return _tfds_reader(data_config, split, source[len('tfds:'):])
  return lambda i: _read_fixed(index['paths'][i], data_config)


def _scenes(data_config, split: str) -> actions.Scenes:
  return actions.Scenes(_SPLIT_SEEDS[split] + data_config.seed_offset, data_config.size)


def _procedural_index(data_config, split: str) -> dict:
  count, scenes = data_config[f'num_{split}'], _scenes(data_config, split)
  if data_config.level == 'frame':
    labels = [scenes.step_labels(i, data_config.frames, data_config.steps,
                                 data_config.min_step_frames).tolist() for i in range(count)]
  else:
    labels = [scenes.clip_label(i) for i in range(count)]
  ids = [f'actions_v{actions.VERSION}_{data_config.level}_{split}_{i:06d}'
         for i in range(count)]
  return dict(ids=ids, labels=labels, classes=actions.MOTIONS)


def _read_fixed(path: str, data_config) -> np.ndarray:
  """`data.frames` frames (with the stride) of a file, or a VideoError naming it."""
  stride = data_config.frame_stride
  frames = []
  for frame in video_io.iter_frames(path, data_config.size, stride):
    frames.append(frame)
    if len(frames) == data_config.frames:
      return np.stack(frames)
  raise video_io.VideoError(f'{path} has {len(frames)} frames at stride {stride}, fewer '
                            f'than data.frames={data_config.frames}')


def _folder_index(data_config, split: str) -> dict:
  """Paths and labels of `<source>/<split>/`; every file is probed now, so a file too
  short or unreadable stops the run before training, naming it."""
  folder = os.path.join(data_config.source, split)
  if not os.path.isdir(folder):
    raise errors.MissingInput(f'data.source {data_config.source!r} needs a {split}/ folder '
                              f'of videos; {folder} does not exist')
  labels_path = data_config.labels or os.path.join(data_config.source, 'labels.csv')
  if not os.path.exists(labels_path):
    raise errors.MissingInput(f'no labels file {labels_path} (data.labels)')
  with open(labels_path, newline='') as f:
    rows = list(csv.DictReader(f))
  frame_level = data_config.level == 'frame'
  need = {'video', 'label'} | ({'start', 'end'} if frame_level else set())
  if not rows or not need <= set(rows[0]):
    raise errors.InputError(f'{labels_path} must have the columns {sorted(need)}')
  classes = sorted({r['label'] for r in rows} - {BACKGROUND})
  classes = ((BACKGROUND,) if frame_level else ()) + tuple(classes)
  class_index = {name: i for i, name in enumerate(classes)}
  by_video = {}
  for r in rows:
    by_video.setdefault(r['video'], []).append(r)
  ids, paths, labels = [], [], []
  stride, frames = data_config.frame_stride, data_config.frames
  for path in progress.bar(video_io.list_videos(folder), f'index {split}', 'video'):
    name = os.path.basename(path)
    if name not in by_video:
      raise errors.InputError(f'{path} has no row in {labels_path}')
    meta = video_io.probe(path)
    if meta['frames'] and meta['frames'] // stride < frames:
      raise video_io.VideoError(f'{path} has {meta["frames"] // stride} frames at stride '
                                f'{stride}, fewer than data.frames={frames}')
    ids.append(f'{split}_' + os.path.splitext(name)[0])
    paths.append(path)
    if frame_level:
      times = np.arange(frames) / (meta['fps'] / stride)
      per_frame = np.zeros(frames, np.int32)  # background
      for r in by_video[name]:
        per_frame[(times >= float(r['start'])) & (times < float(r['end']))] = class_index[
            r['label']]
      labels.append(per_frame.tolist())
    else:
      labels.append(class_index[by_video[name][0]['label']])
  return dict(ids=ids, labels=labels, classes=classes, paths=paths)


def _tfds_source(data_config, split: str, name: str):
  from cvision import tensorflow_cpu  # pylint: disable=g-import-not-at-top,unused-import
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  tfds_split = dict(zip(SPLITS, data_config.tfds_splits))[split]
  try:
    source = tfds.data_source(name, split=tfds_split,
                              data_dir=data_config.tfds_data_dir or None)
  except (ValueError, NotImplementedError) as e:  # TFDS's words for "no random access"
    raise errors.InputError(f'TFDS {name}/{tfds_split} cannot be read by index ({e}); '
                            f'prepare it with --file_format=array_record') from e
  return source, tfds_split


def _tfds_index(data_config, split: str, name: str) -> dict:
  from cvision import tensorflow_cpu  # pylint: disable=g-import-not-at-top,unused-import
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  source, tfds_split = _tfds_source(data_config, split, name)
  count = min(data_config[f'num_{split}'] or len(source), len(source))
  labels = [int(source[i]['label']) for i in progress.bar(range(count), f'index {split}',
                                                           'video')]
  builder = tfds.builder(name, data_dir=data_config.tfds_data_dir or None)
  return dict(ids=[f'{name}_{tfds_split}_{i:06d}' for i in range(count)], labels=labels,
              classes=tuple(builder.info.features['label'].names))


def _tfds_reader(data_config, split: str, name: str) -> Callable[[int], np.ndarray]:
  source, tfds_split = _tfds_source(data_config, split, name)
  stride, size = data_config.frame_stride, data_config.size

  def read(i: int) -> np.ndarray:
    frames = np.asarray(source[i]['video'])[::stride][:data_config.frames]
    if len(frames) < data_config.frames:
      raise video_io.VideoError(f'{name}/{tfds_split} example {i} has {len(frames)} frames '
                                f'at stride {stride}, fewer than data.frames')
    return np.stack([video_io.resize_and_crop(f, size) for f in frames])
  return read
