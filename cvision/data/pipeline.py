"""tf.data input pipelines: random training clips, per host, resumable by step.

Each step's batch is a pure function of `(seed, step, host)`, so a resumed run sees the
same data as an uninterrupted one and hosts never read each other's rows.
"""
import functools

import jax
import numpy as np
import tensorflow as tf

from cvision.data import tours, video_io


def random_clip(data_config, rng: np.random.Generator) -> np.ndarray:
  """One uint8 `[frames, crop, crop, 3]` training clip from the configured source."""
  frames, size = data_config.frames, data_config.size
  stride = data_config.get('frame_stride', 1)
  span = (frames - 1) * stride + 1
  if data_config.source == 'tours':
    tour = tours.Tour(seed=int(rng.integers(data_config.num_tours)), size=size)
    start = int(rng.integers(0, int(data_config.tour_seconds * tour.fps) - span))
    clip = tour.frames(start, span)[::stride]
  elif data_config.source == 'folder':
    files = _folder(data_config.path)
    path = files[int(rng.integers(len(files)))]
    length = video_io.probe(path)['frames']
    if length < span:
      raise video_io.VideoError(f'{path} has {length} frames, fewer than the {span} a '
                                f'training clip needs')
    start = int(rng.integers(0, length - span + 1))
    clip = video_io.read_clip(path, start, frames, size, stride,
                              crop_offset=tuple(rng.uniform(size=2)))
  else:
    raise ValueError(f"data.source must be 'tours' or 'folder', got {data_config.source!r}")
  crop = data_config.get('crop', size)
  y, x = rng.integers(0, size - crop + 1, size=2)
  clip = clip[:, y:y + crop, x:x + crop]
  if rng.random() < 0.5:
    clip = clip[:, :, ::-1]
  return np.ascontiguousarray(clip)


@functools.lru_cache(maxsize=4)
def _folder(path: str) -> list[str]:
  return video_io.list_videos(path)


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
  count, host = jax.process_count(), jax.process_index()
  if data_config.batch_size % count:
    raise ValueError(f'data.batch_size {data_config.batch_size} must divide by {count} hosts')
  local = data_config.batch_size // count
  crop = data_config.get('crop', data_config.size)
  shape = (local, data_config.frames, crop, crop, 3)

  def make(step):
    return host_batch(data_config, seed, int(step), local, host)

  ds = tf.data.Dataset.range(start_step, 2 ** 62)
  ds = ds.map(lambda s: tf.ensure_shape(tf.numpy_function(make, [s], tf.uint8), shape),
              num_parallel_calls=data_config.get('workers', 2), deterministic=True)
  ds = ds.prefetch(2)
  for video in ds.as_numpy_iterator():
    yield {'video': video}
