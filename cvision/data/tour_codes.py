"""Long videos as codes for the past-future task: encode the splits once, read chunks back.

Train, validation and test tours come from disjoint seed ranges, so they have different
worlds, paths and objects. A folder source needs `train/`, `val/` and `test/` subfolders
of video files. Everything goes through the `encode` stage's streaming encoder into one
codes store; the task then reads only codes, never RGB.
"""
import dataclasses
import os

import jax
import numpy as np

from cvision import codec_io, errors
from cvision.data import codes_store, sources
from cvision.train_lib import multihost

SPLITS = ('train', 'val', 'test')
# First seed of each split: far apart, so no tour is in two splits.
SPLIT_SEEDS = dict(train=0, val=100_000, test=200_000)


def chunk_code_frames(chunk_seconds: float, fps: float, time_factor: int) -> int:
  """Code frames per chunk: `chunk_seconds` of video at `fps`, in steps of the time factor."""
  return max(int(round(chunk_seconds * fps / time_factor)), 1)


def split_sources(data_config, split: str, size: int):
  """(id, frames, meta) of every video of a split."""
  if data_config.source == 'tours':
    first = SPLIT_SEEDS[split] + data_config.seed_offset
    seeds = range(first, first + data_config[f'num_{split}'])
    return sources.tour_sources(seeds, data_config.tour_seconds, size, data_config.open_world)
  folder = os.path.join(data_config.source, split)
  if not os.path.isdir(folder):
    raise errors.MissingInput(f'data.source {data_config.source!r} is a folder, so it needs '
                              f'a {split}/ subfolder of videos; {folder} does not exist')
  return sources.file_sources(folder, size, data_config.frame_stride)


def ensure_encoded(codec, data_config, store_path: str, window: int):
  """Encodes what is missing (finished videos are reused); returns ids and size reports.

  Hosts of a multi-host run share the store: each encodes its share of the videos (two
  writers of one video would delete each other's chunks), then all wait for the others
  and read the reports of every video from the store."""
  videos = {split: list(split_sources(data_config, split, codec.size)) for split in SPLITS}
  reports = {split: codec_io.encode_all(codec, store_path, multihost.my_share(videos[split]),
                                        window, desc=f'encode {split}')['videos']
             for split in SPLITS}
  if jax.process_count() > 1:
    multihost.sync('tour_codes.ensure_encoded')
    reports = {split: codec_io.encode_all(codec, store_path, videos[split], window,
                                          desc=f'read {split}')['videos'] for split in SPLITS}
  return {split: list(report) for split, report in reports.items()}, reports


def load_chunks(store: codes_store.CodesStore, vid: str, chunk_len: int) -> np.ndarray:
  """A video's codes as whole chunks `[n, chunk_len, H', W', N]` (the tail dropped), in
  the store's own dtype (uint8, or uint16 for codebooks of more than 256 entries)."""
  total = store.info(vid)['code_frames']
  n = total // chunk_len
  if n < 2:
    raise errors.InputError(f'{vid} has {total} code frames: fewer than 2 chunks of '
                            f'{chunk_len}; use longer videos or a shorter data.chunk_seconds')
  codes = store.read(vid, 0, n * chunk_len)
  return codes.reshape(n, chunk_len, *codes.shape[1:])


def past_labels(query_index: np.ndarray, t) -> np.ndarray:
  """1 where the query chunk is already observed at step t (chunk t itself included)."""
  return (query_index <= t).astype(np.float32)


def different_crops(rng: np.random.Generator, avoid: np.ndarray, code_size: int,
                    crop: int) -> np.ndarray:
  """Random crop offsets `[n, 2]`, each unlike the offset `avoid[i]` when there is a choice.

  A query chunk in memory is stored with its own crop; asking it with another crop means
  the model has to recognise the place, not an identical tensor.
  """
  span = code_size - crop + 1
  flat = avoid[:, 0] * span + avoid[:, 1]
  if span > 1:
    flat = (flat + 1 + rng.integers(0, span * span - 1, size=len(flat))) % (span * span)
  return np.stack([flat // span, flat % span], -1)


@dataclasses.dataclass(frozen=True)
class SubTour:
  """What one lane observes from memory reset to memory reset."""
  tour: int  # index of the training tour
  frame_offset: int  # first code frame of the tour's chunk 0 (chunk jitter)
  first_chunk: int  # the tour's chunk the lane observes first
  length: int  # chunks observed
  chunk_offset: np.ndarray  # [length, 2] crop of every observed chunk


class LaneSchedule:
  """Which chunks and queries each lane of a training batch sees at every update.

  A batch has `lanes` lanes; each runs through sub-tours one after another, an update
  taking the next `per_update` steps of every lane (a sub-tour's last update is padded
  with masked steps, so one update never mixes two sub-tours of a lane). A sub-tour
  observes a tour from `first_chunk` to its end, the memory empty at its start; that
  chunk is drawn from the tour's first half, so a chunk's place in what is observed
  varies from pass to pass. Otherwise a model learns each training chunk's position by
  heart, which answers the task on training tours without memory (`none` and `lstm` did
  so instead of learning to match or count; docs/results.md). When an update is shorter
  than a tour, the lanes' first sub-tours start at evenly spread chunks, so every update mixes early and
  late positions: the labels of a stretch of one tour are nearly all "future" early on
  and "past" late, and updates made of one position at a time pull the model back and
  forth instead of teaching it.

  At each update a lane draws `queries` query chunks from its whole sub-tour; every step
  asks all of them, so an update has steps x queries labels per lane for steps + queries
  adapter passes. Crops are drawn independently, so a query now and then has the crop
  its chunk is stored with (1 in 4 with a 7-of-8 crop): those exact matches are what gets
  the model started (forcing every training query off its stored crop left the slot
  memory far behind, docs/results.md); evaluation always uses a different crop.
  With `window` > 0, the sub-tours that start before update `window_updates` are
  instead `window` chunks from anywhere in a tour (a curriculum for long tours: see
  `tasks.pastfuture.Lanes`); later ones are as above.
  Everything is a function of (seed, lane, update), so a resumed run sees the same data.
  """

  def __init__(self, *, seed: int, lanes: int, tours: int, chunks: int, per_update: int,
               chunk_len: int, jitter: bool, code_size: int, crop: int, queries: int,
               window: int = 0, window_updates: int = 0):
    if not 0 < crop <= code_size:
      raise ValueError(f'task.crop {crop} must be in [1, {code_size}] (the code grid side)')
    if not 0 <= window <= chunks:
      raise ValueError(f'task.train_chunks {window} must be in [0, {chunks}] (the chunks of '
                       f'the shortest training tour; 0: whole tours)')
    self.seed, self.lanes, self.tours, self.chunks = seed, lanes, tours, chunks
    self.window = window
    self.window_updates = window_updates if window else 0  # 0: no window sub-tours
    self.per_update = min(per_update or chunks, chunks)
    self.chunk_len, self.jitter = chunk_len, jitter
    self.code_size, self.crop, self.queries = code_size, crop, queries
    self._starts = [[0] for _ in range(lanes)]  # first update of each sub-tour, per lane

  def sub_tour(self, lane: int, j: int) -> SubTour:
    rng = np.random.default_rng([self.seed, lane, j])
    windowed = self.window_updates and self._start(lane, j) < self.window_updates
    if windowed:
      first = int(rng.integers(0, self.chunks - self.window + 1))
    elif j == 0 and self.per_update < self.chunks:
      first = lane * self.chunks // self.lanes  # lanes spread over the tour
    else:
      first = int(rng.integers(0, self.chunks // 2 + 1))
    length = self.window if windowed else self.chunks - first
    return SubTour(
        tour=int(rng.integers(self.tours)),
        frame_offset=int(rng.integers(self.chunk_len)) if self.jitter else 0,
        first_chunk=first, length=length,
        chunk_offset=rng.integers(0, self.code_size - self.crop + 1, size=(length, 2)))

  def _start(self, lane: int, j: int) -> int:
    """The update at which a lane's sub-tour `j` starts."""
    starts = self._starts[lane]
    while len(starts) <= j:  # each sub_tour call here needs only starts already known
      length = self.sub_tour(lane, len(starts) - 1).length
      starts.append(starts[-1] + -(-length // self.per_update))
    return starts[j]

  def _locate(self, lane: int, update: int) -> tuple[int, int]:
    """(sub-tour, its update) of a lane's `update`."""
    starts = self._starts[lane]
    while starts[-1] <= update:
      self._start(lane, len(starts))
    j = int(np.searchsorted(starts, update, side='right')) - 1
    return j, update - starts[j]

  def segment(self, lane: int, update: int) -> tuple[SubTour, dict]:
    """The lane's sub-tour and its steps and queries at `update`.

    Steps: `t` `[K]` (position in the sub-tour = memory slot; -1 for padding), `valid` `[K]`,
    `chunk_offset` `[K, 2]`; queries: `query_t` `[Q]` positions, `query_offset` `[Q, 2]`;
    `label` `[K, Q]` (past = 1); `reset` (the memory starts empty).
    """
    j, s = self._locate(lane, update)
    sub = self.sub_tour(lane, j)
    rng = np.random.default_rng([self.seed, lane, j, s])
    steps = s * self.per_update + np.arange(self.per_update)
    valid = steps < sub.length
    t = np.where(valid, steps, -1)  # padding writes nothing
    query_t = rng.choice(sub.length, size=self.queries, replace=self.queries > sub.length)
    return sub, dict(
        t=t, valid=valid, chunk_offset=sub.chunk_offset[np.minimum(steps, sub.length - 1)],
        query_t=query_t,
        query_offset=rng.integers(0, self.code_size - self.crop + 1, size=(self.queries, 2)),
        label=past_labels(query_t[None, :], t[:, None]), reset=np.bool_(s == 0))
