"""tf.data input pipelines: random training clips, per host, resumable by step.

Each step's batch is a pure function of `(seed, step, host)`, so a resumed run sees the
same data as an uninterrupted one and hosts never read each other's rows.
"""
import functools

import jax
import numpy as np
from cvision.tensorflow_cpu import tf

from cvision import errors
from cvision.data import tours, video_io
from cvision.train_lib import sharding


def random_clip(data_config, rng: np.random.Generator) -> np.ndarray:
  """One uint8 `[frames, crop, crop, 3]` training clip from the configured source."""
  frames, size, stride = data_config.frames, data_config.size, data_config.frame_stride
  span = clip_span(data_config)
  if data_config.source == 'tours':
    tour = tours.Tour(seed=int(rng.integers(data_config.num_tours)), size=size)
    start = int(rng.integers(0, int(data_config.tour_seconds * tour.fps) - span))
    clip = tour.frames(start, span)[::stride]
  elif data_config.source == 'folder':
    files = folder_videos(data_config.path, span)
    path, length = files[int(rng.integers(len(files)))]
    start = int(rng.integers(0, length - span + 1))
    clip = video_io.read_clip(path, start, frames, size, stride,
                              crop_offset=tuple(rng.uniform(size=2)))
  else:
    raise _unknown_source(data_config)
  crop = crop_size(data_config)
  y, x = rng.integers(0, size - crop + 1, size=2)
  clip = clip[:, y:y + crop, x:x + crop]
  if rng.random() < 0.5:
    clip = clip[:, :, ::-1]
  return np.ascontiguousarray(clip)


def clip_span(data_config) -> int:
  """Source frames a training clip covers: `data.frames` at `data.frame_stride`."""
  return (data_config.frames - 1) * data_config.frame_stride + 1


def _unknown_source(data_config) -> errors.ConfigError:
  return errors.ConfigError(f"data.source must be 'tours' or 'folder', got "
                            f"{data_config.source!r}")


def crop_size(data_config) -> int:
  """The side of training crops: `data.crop`, or the whole frame when it is 0."""
  return data_config.crop or data_config.size


@functools.lru_cache(maxsize=4)
def folder_videos(path: str, span: int) -> tuple[tuple[str, int], ...]:
  """`(file, frames)` of every video under `path`, each checked before training starts (an
  error inside tf.data would lose its message): unreadable or shorter than `span`
  frames is a VideoError naming the file."""
  found = []
  for video in video_io.list_videos(path):
    length = video_io.probe(video)['frames']
    if length < span:
      raise video_io.VideoError(f'{video} has {length} frames, fewer than the {span} a '
                                f'training clip needs')
    found.append((video, length))
  return tuple(found)


def host_batch(data_config, seed: int, step: int, local_batch: int,
               host: int) -> np.ndarray:
  """The rows of global batch `step` that `host` reads: uint8 `[local, T, H, W, 3]`."""
  rows = []
  for i in range(local_batch):
    rng = np.random.default_rng([seed, step, host * local_batch + i])
    rows.append(random_clip(data_config, rng))
  return np.stack(rows)


def train_batches(data_config, seed: int, start_step: int):
  """Endless iterator of host-local batches `{'video': uint8 [B_local, T, H, W, 3]}`."""
  # Checked here, not inside tf.data, where an error would lose its message.
  if data_config.source == 'folder':
    folder_videos(data_config.path, clip_span(data_config))
  elif data_config.source != 'tours':
    raise _unknown_source(data_config)
  rows = sharding.host_batch_slice(data_config.batch_size)
  local, host = rows.stop - rows.start, jax.process_index()
  crop = crop_size(data_config)
  shape = (local, data_config.frames, crop, crop, 3)

  def make(step):
    return host_batch(data_config, seed, int(step), local, host)

  ds = tf.data.Dataset.range(start_step, 2 ** 62)
  ds = ds.map(lambda s: tf.ensure_shape(tf.numpy_function(make, [s], tf.uint8), shape),
              num_parallel_calls=data_config.workers, deterministic=True)
  ds = ds.prefetch(2)
  for video in ds.as_numpy_iterator():
    yield {'video': video}
