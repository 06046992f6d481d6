"""Long videos as codes for the past-future task: encode the splits once, read chunks back.

Train, validation and test tours come from disjoint seed ranges, so they have different
worlds, paths and objects. A folder source needs `train/`, `val/` and `test/` subfolders
of video files. Everything goes through the `encode` stage's streaming encoder into one
codes store; the task then reads only codes, never RGB.
"""
import os

import numpy as np

from cvision.data import codes_store
from cvision.trainers import encode

SPLITS = ('train', 'val', 'test')
# First seed of each split: far apart, so no tour is in two splits.
SPLIT_SEEDS = dict(train=0, val=100_000, test=200_000)


def chunk_code_frames(chunk_seconds: float, fps: float, time_factor: int) -> int:
  """Code frames per chunk: `chunk_seconds` of video at `fps`, in steps of the time factor."""
  return max(int(round(chunk_seconds * fps / time_factor)), 1)


def split_sources(data_config, split: str, size: int):
  """(id, frames, meta) of every video of a split."""
  if data_config.source == 'tours':
    first = SPLIT_SEEDS[split] + data_config.get('seed_offset', 0)
    seeds = range(first, first + data_config[f'num_{split}'])
    return encode.tour_sources(seeds, data_config.tour_seconds, size)
  folder = os.path.join(data_config.source, split)
  if not os.path.isdir(folder):
    raise FileNotFoundError(f'data.source {data_config.source!r} is a folder, so it needs a '
                            f'{split}/ subfolder of videos; {folder} does not exist')
  return encode.file_sources(folder, size, data_config.get('frame_stride', 1))


def ensure_encoded(codec, data_config, store_path: str, window: int):
  """Encodes what is missing (finished videos are reused); returns ids and size reports."""
  ids, reports = {}, {}
  for split in SPLITS:
    report = encode.encode_all(codec, store_path, split_sources(data_config, split, codec.size),
                               window)
    ids[split] = list(report['videos'])
    reports[split] = report['videos']
  return ids, reports


def load_chunks(store: codes_store.CodesStore, vid: str, chunk_len: int) -> np.ndarray:
  """A video's codes as whole chunks `[n, chunk_len, H', W', N]` uint8 (the tail dropped)."""
  total = store.info(vid)['code_frames']
  n = total // chunk_len
  if n < 2:
    raise ValueError(f'{vid} has {total} code frames: fewer than 2 chunks of {chunk_len}; '
                     f'use longer videos or a shorter data.chunk_seconds')
  codes = store.read(vid, 0, n * chunk_len)
  return codes.reshape(n, chunk_len, *codes.shape[1:]).astype(np.uint8)


def past_labels(query_index: np.ndarray, t) -> np.ndarray:
  """1 where the query chunk is already observed at step t (chunk t itself included)."""
  return (query_index <= t).astype(np.float32)


def sample_episode(rng: np.random.Generator, chunks: int, queries: int, code_size: int,
                   crop: int) -> dict:
  """Random queries and crops for one pass over a tour of `chunks` chunks.

  At step t a query chunk index is drawn uniformly from the whole tour; every chunk seen
  and every query is cropped at its own random place (`crop` code cells square), so a
  query almost never equals what the memory stored.
  """
  if not 0 < crop <= code_size:
    raise ValueError(f'task.crop {crop} must be in [1, {code_size}] (the code grid side)')
  steps = np.arange(chunks)[:, None]
  query_index = rng.integers(0, chunks, size=(chunks, queries))
  return dict(
      chunk_offset=rng.integers(0, code_size - crop + 1, size=(chunks, 2)),
      query_index=query_index,
      query_offset=rng.integers(0, code_size - crop + 1, size=(chunks, queries, 2)),
      label=past_labels(query_index, steps))
