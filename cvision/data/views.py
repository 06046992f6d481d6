"""Space-time views (crops) of videos and of code tensors, with the same boxes for both.

A view is a box in the RGB video's units: first frame `t`, top-left pixel `(y, x)`,
`frames` long and `crop` wide. An input on a coarser grid (codes: `time_factor` frames
and `space_factor` pixels per cell) takes the cells nearest to the box, the
nearest-neighbour crop of the code tensor (CV §4.5's baseline), so RGB, codes and
reconstructions are cropped alike.
"""
import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Grid:
  """How many RGB frames and pixels one input cell covers (1, 1 for pixels)."""
  time: int = 1
  space: int = 1

  def check(self, frames: int, crop: int):
    if frames % self.time or crop % self.space:
      raise ValueError(f'clips of {frames} frames cropped to {crop} pixels do not fall on '
                       f'the input grid of {self.time} frames x {self.space} pixels per cell')


def crop(videos: np.ndarray, boxes: np.ndarray, frames: int, size: int,
         grid: Grid = Grid()) -> np.ndarray:
  """`videos[i]` `[N, T, H, W, C]` cut to `boxes[i]` = (t, y, x) in RGB units:
  `[len(boxes), frames / grid.time, size / grid.space, size / grid.space, C]`."""
  grid.check(frames, size)
  ft, fs = frames // grid.time, size // grid.space
  out = []
  for video, (t, y, x) in zip(videos, np.asarray(boxes)):
    ct = first_cell(t, grid.time, video.shape[0], ft)
    cy = first_cell(y, grid.space, video.shape[1], fs)
    cx = first_cell(x, grid.space, video.shape[2], fs)
    out.append(video[ct:ct + ft, cy:cy + fs, cx:cx + fs])
  return np.stack(out)


def first_cell(start: float, per_cell: int, cells: int, span: int) -> int:
  """The nearest cell to a box edge at `start` (the cell whose centre is closest to the
  edge's), kept so that `span` cells fit in `cells`; a streamed read takes just those."""
  return min(max(int(np.floor(start / per_cell + 0.5)), 0), cells - span)


def random_boxes(rng: np.random.Generator, count: int, length: int, side: int, frames: int,
                 size: int, grid: Grid = Grid(), offsets: np.ndarray | None = None) -> np.ndarray:
  """`count` random boxes `(t, y, x)` on the input's grid (training crops).

  offsets: `[count, 3]`, box i on the grid of an input shifted by `offsets[i]` (see
  `shift`): `offsets[i]` plus whole cells, inside the video."""
  if offsets is None:
    t = rng.integers(0, (length - frames) // grid.time + 1, size=count) * grid.time
    yx = rng.integers(0, (side - size) // grid.space + 1, size=(count, 2)) * grid.space
    return np.concatenate([t[:, None], yx], 1)
  offsets = np.asarray(offsets)
  room = np.asarray([length - frames, side - size, side - size]) - offsets
  if (room < 0).any():
    raise ValueError(f'offsets up to {offsets.max(0).tolist()} leave no room for a box of '
                     f'{frames} frames x {size} pixels in {length} x {side}')
  cells = rng.integers(0, room // np.asarray([grid.time, grid.space, grid.space]) + 1)
  return offsets + cells * np.asarray([grid.time, grid.space, grid.space])


def shift(video: np.ndarray, offset) -> np.ndarray:
  """`video [T, H, W, C]` moved back by `offset` = (frames, pixels down, pixels right),
  the far edges repeated: frame/pixel p of the result is p + offset of `video`. Encoded,
  its code cells start `offset` into the video: a crop that falls between the cells of
  the unshifted codes (CV Table 2 encoded randomly cropped videos)."""
  dt, dy, dx = (int(v) for v in offset)
  return np.pad(video[dt:, dy:, dx:], ((0, dt), (0, dy), (0, dx), (0, 0)), mode='edge')


def sub_cell_offsets(rng: np.random.Generator, videos: int, copies: int,
                     grid: Grid) -> np.ndarray:
  """`[videos, 1 + copies, 3]` offsets (frames, pixels, pixels) within one cell of `grid`:
  first the unshifted (0, 0, 0), then `copies` distinct others drawn at random per video."""
  cells = [(t, y, x) for t in range(grid.time) for y in range(grid.space)
           for x in range(grid.space)][1:]
  if copies > len(cells):
    raise ValueError(f'{copies} shifted copies asked, but a cell of {grid.time} frames x '
                     f'{grid.space}x{grid.space} pixels has {len(cells)} other offsets')
  picks = [rng.choice(len(cells), copies, replace=False) for _ in range(videos)]
  return np.asarray([[(0, 0, 0)] + [cells[i] for i in p] for p in picks], np.int64)


def eval_boxes(length: int, side: int, frames: int, size: int, clips: int,
               crops: int) -> np.ndarray:
  """`clips` x `crops` boxes: clips evenly spaced in time, crops along the diagonal
  (one: the centre; three: top-left, centre, bottom-right), `[clips * crops, 3]`."""
  times = np.linspace(0, length - frames, clips).round() if clips > 1 else [(length - frames) / 2]
  corners = np.linspace(0, side - size, crops).round() if crops > 1 else [(side - size) / 2]
  return np.asarray([(t, c, c) for t in times for c in corners], np.float64)


def covering_starts(length: int, frames: int) -> list[int]:
  """First frames of windows of `frames` that cover `[0, length)`: back to back, the last
  one flush with the end."""
  if length < frames:
    raise ValueError(f'a video of {length} frames is shorter than a clip of {frames}')
  starts = list(range(0, length - frames + 1, frames))
  if starts[-1] + frames < length:
    starts.append(length - frames)
  return starts
