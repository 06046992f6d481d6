"""Labelled video datasets for classification: procedural, a folder of files, or TFDS.

A split comes out as one `LabeledVideos`: uint8 videos `[N, T, H, W, 3]` of one length
`data.frames` (after `data.frame_stride`) at `data.size` (shorter side resized, centre
crop), and labels `[N]` (video level) or `[N, T]` (frame level, `data.level='frame'`).

`data.source`:
  'actions'        the procedural dataset of `actions.py` (no download)
  '/a/folder'      `<folder>/<split>/` video files, labelled by `data.labels` (default
                   `<folder>/labels.csv`): rows `video,label` for video level, rows
                   `video,start,end,label` (seconds) for frame level, where frames in no
                   segment are 'background'; `video` is the file name
  'tfds:<name>'    a prepared TFDS video dataset (features `video`, `label`), e.g.
                   'tfds:ucf101'; `data.tfds_splits` maps train/test to its split names

Decoded splits are cached in `cache_dir` (a file per split named by a hash of the data
settings), written atomically, so the encode and train phases and later runs reuse them.
"""
import csv
import dataclasses
import hashlib
import json
import os

import numpy as np

from cvision import atomic_files, errors, progress
from cvision.data import actions, video_io

SPLITS = ('train', 'test')
_SPLIT_SEEDS = {'train': 5000, 'test': 6000}  # the procedural splits share no scene
BACKGROUND = 'background'


@dataclasses.dataclass
class LabeledVideos:
  ids: list[str]
  videos: np.ndarray  # uint8 [N, T, H, W, 3]
  labels: np.ndarray  # int32 [N] or [N, T]
  classes: tuple[str, ...]

  @property
  def frame_level(self) -> bool:
    return self.labels.ndim == 2


def load_split(data_config, split: str, cache_dir: str) -> LabeledVideos:
  """One split, from the cache when it holds these settings, else made and cached."""
  identity = dict(data_config.to_dict(), split=split, generator=generator_version(data_config))
  settings = json.dumps(identity, sort_keys=True, default=str)
  key = hashlib.sha256(settings.encode()).hexdigest()[:12]
  path = os.path.join(cache_dir, f'{split}-{key}.npz')
  if os.path.exists(path):
    with np.load(path) as f:
      return LabeledVideos(list(f['ids']), f['videos'], f['labels'], tuple(f['classes']))
  data = _make_split(data_config, split)
  if len(data.ids) == 0:
    raise errors.InputError(f'the {split} split of {data_config.source!r} has no videos')
  os.makedirs(cache_dir, exist_ok=True)
  with atomic_files.replacing(path, '.npz') as tmp:
    np.savez(tmp, ids=np.asarray(data.ids), videos=data.videos, labels=data.labels,
             classes=np.asarray(data.classes))
  # What the cached file holds, for people.
  atomic_files.write_text(os.path.join(cache_dir, f'{split}-{key}.json'), settings)
  return data


def generator_version(data_config) -> int | None:
  """The procedural generator's version (None for files): part of the cache key, the
  video ids and a run's identity, so nothing made by an older generator is reused."""
  return actions.VERSION if data_config.source == 'actions' else None


def _make_split(data_config, split: str) -> LabeledVideos:
  source = data_config.source
  if source == 'actions':
    return _procedural(data_config, split)
  if source.startswith('tfds:'):
    return _tfds(data_config, split, source[len('tfds:'):])
  return _folder(data_config, split)


def _procedural(data_config, split: str) -> LabeledVideos:
  count = data_config[f'num_{split}']
  seed = _SPLIT_SEEDS[split] + data_config.seed_offset
  scenes = actions.Scenes(seed, data_config.size)
  frame_level = data_config.level == 'frame'
  videos, labels = [], []
  for i in progress.bar(range(count), f'render {split}', 'video'):
    if frame_level:
      video, label = scenes.steps(i, data_config.frames, data_config.steps,
                                  data_config.min_step_frames)
    else:
      video, label = scenes.clip(i, data_config.frames)
    videos.append(video)
    labels.append(label)
  ids = [f'actions_v{actions.VERSION}_{data_config.level}_{split}_{i:06d}'
         for i in range(count)]
  return LabeledVideos(ids, np.stack(videos), np.asarray(labels, np.int32), actions.MOTIONS)


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


def _folder(data_config, split: str) -> LabeledVideos:
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
  index = {name: i for i, name in enumerate(classes)}
  by_video = {}
  for r in rows:
    by_video.setdefault(r['video'], []).append(r)
  ids, videos, labels = [], [], []
  for path in video_io.list_videos(folder):
    name = os.path.basename(path)
    if name not in by_video:
      raise errors.InputError(f'{path} has no row in {labels_path}')
    videos.append(_read_fixed(path, data_config))
    ids.append(f'{split}_' + os.path.splitext(name)[0])
    if frame_level:
      fps = video_io.probe(path)['fps'] / data_config.frame_stride
      times = np.arange(data_config.frames) / fps
      per_frame = np.zeros(data_config.frames, np.int32)  # background
      for r in by_video[name]:
        per_frame[(times >= float(r['start'])) & (times < float(r['end']))] = index[r['label']]
      labels.append(per_frame)
    else:
      labels.append(index[by_video[name][0]['label']])
  return LabeledVideos(ids, np.stack(videos), np.asarray(labels, np.int32), classes)


def _tfds(data_config, split: str, name: str) -> LabeledVideos:
  from cvision import tensorflow_cpu  # pylint: disable=g-import-not-at-top,unused-import
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  tfds_split = dict(zip(SPLITS, data_config.tfds_splits))[split]
  count = data_config[f'num_{split}']
  ds, info = tfds.load(name, split=tfds_split, with_info=True,
                       data_dir=data_config.tfds_data_dir or None)
  stride = data_config.frame_stride
  ids, videos, labels = [], [], []
  for i, example in enumerate(tfds.as_numpy(ds)):
    if count and i == count:
      break
    frames = example['video'][::stride][:data_config.frames]
    if len(frames) < data_config.frames:
      raise video_io.VideoError(f'{name}/{tfds_split} example {i} has {len(frames)} frames '
                                f'at stride {stride}, fewer than data.frames')
    videos.append(np.stack([video_io.resize_and_crop(f, data_config.size) for f in frames]))
    labels.append(int(example['label']))
    ids.append(f'{name}_{tfds_split}_{i:06d}')
  return LabeledVideos(ids, np.stack(videos), np.asarray(labels, np.int32),
                       tuple(info.features['label'].names))
