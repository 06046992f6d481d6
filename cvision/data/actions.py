"""Procedural labelled videos for classification, with no download (issue 4's data (a)).

A clip is a camera over a scene cut from the scikit-image photographs (a photo with
discs of another photo scattered over it, so that no view is too smooth to show the
camera's motion), with one photo cut-out object in it; its class is a kind of motion,
of the camera or of the object.
Every clip has an object and every clip drifts a little, so the class is told by how
things move, not by what is there. Frame-level videos chain several motions in one
continuous shot (the camera state carries over), with a label per frame, like the steps
of an instructional video (COIN). Everything is a pure function of (seed, index).
"""
import dataclasses

import numpy as np
from scipy import ndimage

from cvision.data import tours

# Bumped whenever the videos change, so cached splits of older videos are not reused.
VERSION = 2
_SCENE_DISCS = 150  # photo discs per scene: a view holds about eight

# Camera motions move the whole view; object motions move only the cut-out.
MOTIONS = ('pan_left', 'pan_right', 'tilt_up', 'tilt_down', 'zoom_in', 'zoom_out',
           'roll', 'object_across', 'object_bounce', 'object_grow')


@dataclasses.dataclass
class _Shot:
  """What the motions change frame by frame (canvas pixels, radians, view widths)."""
  cx: float
  cy: float
  zoom: float
  angle: float
  ox: float  # the object's centre relative to the view's centre, in view widths
  oy: float
  oscale: float


def _advance(shot: _Shot, motion: str, speed: float, t: int) -> None:
  """Moves `shot` on by one frame of `motion` at `speed` (pans: pixels a frame)."""
  s = speed
  if motion in ('pan_left', 'pan_right'):
    shot.cx += (s if motion == 'pan_right' else -s) * shot.zoom
  elif motion in ('tilt_up', 'tilt_down'):
    shot.cy += (s if motion == 'tilt_down' else -s) * shot.zoom
  elif motion == 'zoom_in':
    shot.zoom *= 1 - 0.012 * s
  elif motion == 'zoom_out':
    shot.zoom *= 1 + 0.012 * s
  elif motion == 'roll':
    shot.angle += 0.012 * s
  elif motion == 'object_across':
    shot.ox += 0.012 * s
    if shot.ox > 0.45:  # re-enters on the left, so long steps keep it in view
      shot.ox -= 0.9
  elif motion == 'object_bounce':
    shot.oy = 0.25 * np.sin(0.1 * s * t)
  elif motion == 'object_grow':
    shot.oscale = min(shot.oscale * (1 + 0.012 * s), 2.5)
  else:
    raise ValueError(f'unknown motion {motion!r} (known: {MOTIONS})')


class Scenes:
  """Labelled videos of `size` x `size` pixels; `seed` picks the scenes (one per split)."""

  def __init__(self, seed: int, size: int = 64):
    self.seed, self.size = seed, size
    grid = (np.arange(size) + 0.5) / size - 0.5
    self._gy, self._gx = np.meshgrid(grid, grid, indexing='ij')  # view coords

  def _canvas(self, rng) -> np.ndarray:
    """A photo with photo discs scattered over it: smooth photos (a sky, a gradient) would
    hide the camera's motion, the discs make every part of the scene move visibly."""
    side = 6 * self.size
    canvas = tours._random_patch(rng, side, side).astype(np.float32)
    source = tours._random_patch(rng, side, side).astype(np.float32)
    for _ in range(_SCENE_DISCS):
      d = int(rng.integers(self.size // 8, self.size // 3))
      y, x, sy, sx = rng.integers(0, side - d, size=4)
      yy, xx = np.mgrid[:d, :d] / max(d - 1, 1) * 2 - 1
      inside = (yy ** 2 + xx ** 2) < 1
      canvas[y:y + d, x:x + d][inside] = source[sy:sy + d, sx:sx + d][inside]
    return canvas

  def _start(self, rng):
    canvas = self._canvas(rng)
    side = int(rng.integers(self.size // 4, self.size // 2))
    sprite = tours._random_patch(rng, side, side)
    yy, xx = np.mgrid[:side, :side] / max(side - 1, 1) * 2 - 1
    alpha = ((yy ** 2 + xx ** 2) < 1).astype(np.float32)
    shot = _Shot(cx=3.0 * self.size, cy=3.0 * self.size, zoom=float(rng.uniform(1.2, 1.6)),
                 angle=0.0, ox=float(rng.uniform(-0.2, 0.2)),
                 oy=float(rng.uniform(-0.2, 0.2)), oscale=1.0)
    return shot, (canvas, sprite.astype(np.float32), alpha)

  def _render(self, shot: _Shot, canvas, sprite, alpha) -> np.ndarray:
    gy, gx, view = self._gy, self._gx, self.size * shot.zoom
    cos, sin = np.cos(shot.angle), np.sin(shot.angle)
    coords = [shot.cy + (gy * cos - gx * sin) * view, shot.cx + (gy * sin + gx * cos) * view]
    frame = np.stack([ndimage.map_coordinates(canvas[..., c], coords, order=1,
                                              mode='reflect') for c in range(3)], -1)
    # The object lives in view coordinates: its motion is its own, not the camera's.
    side = sprite.shape[0]
    scale = shot.oscale * side / self.size  # its side in view widths
    coords = [(gy - shot.oy) / scale * side + side / 2, (gx - shot.ox) / scale * side + side / 2]
    a = ndimage.map_coordinates(alpha, coords, order=1, mode='constant')[..., None]
    obj = np.stack([ndimage.map_coordinates(sprite[..., c], coords, order=1,
                                            mode='constant') for c in range(3)], -1)
    return np.clip(a * obj + (1 - a) * frame, 0, 255).round().astype(np.uint8)

  def _play(self, rng, shot, scene, plan) -> np.ndarray:
    """Frames of `plan` = [(motion, frames)] in one continuous shot."""
    drift = rng.normal(0, 0.15, size=2)  # every clip moves a little, whatever its class
    out, t = [], 0
    for motion, count in plan:
      speed = float(rng.uniform(1.5, 3.0))
      for _ in range(count):
        _advance(shot, motion, speed, t)
        shot.cx += drift[0]
        shot.cy += drift[1]
        out.append(self._render(shot, *scene))
        t += 1
    return np.stack(out)

  def clip_label(self, index: int) -> int:
    """The class of `clip(index, ...)`, without rendering it (a split's index)."""
    return int(np.random.default_rng([self.seed, 1, index]).integers(len(MOTIONS)))

  def clip(self, index: int, frames: int) -> tuple[np.ndarray, int]:
    """Video-level: uint8 `[frames, size, size, 3]` and its class index in `MOTIONS`."""
    rng = np.random.default_rng([self.seed, 1, index])
    label = int(rng.integers(len(MOTIONS)))
    shot, scene = self._start(rng)
    return self._play(rng, shot, scene, [(MOTIONS[label], frames)]), label

  def step_plan(self, index: int, frames: int, steps: int, min_step: int):
    """`(rng, labels, lengths)` of `steps(index, ...)`: its motions and their lengths,
    drawn first, so a split's index needs no rendering."""
    if steps * min_step > frames:
      raise ValueError(f'{steps} steps of at least {min_step} frames do not fit in {frames}')
    rng = np.random.default_rng([self.seed, 2, index])
    labels = [int(rng.integers(len(MOTIONS)))]
    while len(labels) < steps:
      labels.append(int((labels[-1] + rng.integers(1, len(MOTIONS))) % len(MOTIONS)))
    spare = rng.multinomial(frames - steps * min_step, np.ones(steps) / steps)
    return rng, labels, min_step + spare

  def step_labels(self, index: int, frames: int, steps: int, min_step: int) -> np.ndarray:
    _, labels, lengths = self.step_plan(index, frames, steps, min_step)
    return np.repeat(np.asarray(labels, np.int32), lengths)

  def steps(self, index: int, frames: int, steps: int, min_step: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """Frame-level: `steps` motions (each unlike the one before) of at least `min_step`
    frames, `frames` in all, in one shot; uint8 frames and int32 labels per frame."""
    rng, labels, lengths = self.step_plan(index, frames, steps, min_step)
    shot, scene = self._start(rng)
    video = self._play(rng, shot, scene, [(MOTIONS[l], int(n)) for l, n in zip(labels, lengths)])
    return video, np.repeat(np.asarray(labels, np.int32), lengths)
