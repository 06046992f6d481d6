"""Procedural walking tours: endless continuous videos over real photographs.

A tour is a camera gliding over a large "world" canvas tiled from the photographs that
scikit-image ships, with moving objects (photo cut-outs) and a slow lighting drift. Every
frame is a pure function of `(seed, frame index)`, so any window of a tour of any length
is made on demand: nothing is simulated from the start and the whole video never exists
in memory. The camera follows smooth curves through random waypoints, so it pans, drifts,
zooms, turns now and then and, the world being bounded, revisits places.

With `open_world=True` the world has no edge: it is tiled on demand around the camera,
which walks on through new ground, as a real walking tour does, and only now and then
goes back to a place passed a while ago. Long tours need this: in a bounded world a
30-minute walk comes back near earlier places often, so "have I seen this?" loses its
meaning (see `revisit_fraction`).
"""
import dataclasses
import functools
import os

import numpy as np
from PIL import Image
from scipy import ndimage

# Colour photographs shipped in skimage/data, then greyscale ones (tinted when used).
_COLOUR = ('astronaut.png', 'chelsea.png', 'coffee.png', 'motorcycle_left.png',
           'rocket.jpg', 'hubble_deep_field.jpg', 'retina.jpg', 'color.png', 'ihc.png',
           'motorcycle_right.png')
_GREY = ('camera.png', 'brick.png', 'grass.png', 'gravel.png', 'moon.png', 'coins.png',
         'page.png', 'text.png', 'clock_motion.png')


@functools.lru_cache(maxsize=None)
def _photo(name: str) -> np.ndarray:
  """A photograph from the installed scikit-image package as uint8 `[H, W, 3]`."""
  import skimage
  path = os.path.join(os.path.dirname(skimage.__file__), 'data', name)
  image = np.asarray(Image.open(path).convert('RGB'))
  return image


@functools.lru_cache(maxsize=64)  # ~14 MB each
def _world(seed: int, world_size: int) -> np.ndarray:
  """A `[world_size, 2 * world_size, 3]` uint8 canvas tiled from randomly scaled photos."""
  rng = np.random.default_rng([seed, 7])
  h, w = world_size, 2 * world_size
  canvas = np.zeros((h, w, 3), np.uint8)
  tile = world_size // 3
  for ty in range(0, h, tile):
    for tx in range(0, w, tile):
      canvas[ty:ty + tile, tx:tx + tile] = _random_patch(rng, min(tile, h - ty),
                                                          min(tile, w - tx))
  return canvas


def _random_patch(rng, height: int, width: int) -> np.ndarray:
  """A random crop of a random photo, rescaled and possibly flipped or tinted."""
  names = _COLOUR + _GREY
  image = _photo(names[rng.integers(len(names))]).astype(np.float32)
  if image.ndim == 3 and np.allclose(image[..., 0], image[..., 1]):
    image = image * rng.uniform(0.6, 1.0, size=3)  # tint greyscale photos
  fit = max(height / image.shape[0], width / image.shape[1])
  scale = max(rng.uniform(0.5, 1.5) * fit, 1.01 * fit)
  size = (max(width, round(image.shape[1] * scale)), max(height, round(image.shape[0] * scale)))
  image = np.asarray(Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).resize(
      size, Image.BILINEAR), np.float32)
  y = rng.integers(0, image.shape[0] - height + 1)
  x = rng.integers(0, image.shape[1] - width + 1)
  patch = image[y:y + height, x:x + width]
  if rng.random() < 0.5:
    patch = patch[:, ::-1]
  return np.clip(patch, 0, 255).astype(np.uint8)


@dataclasses.dataclass(frozen=True)
class Tour:
  """One endless tour. `frames(start, count)` -> uint8 `[count, size, size, 3]`.

  seed: which world, path and objects. size: frame side in pixels. fps: frames per
  second (the camera speed is set in world pixels per second). world_size: canvas height.
  """
  seed: int
  size: int = 128
  fps: float = 25.0
  world_size: int = 1536
  seconds_per_waypoint: float = 12.0  # ~2-4 px/frame at 128 px: a walking pace
  num_objects: int = 24
  open_world: bool = False
  revisit_probability: float = 0.03  # open world: chance a waypoint returns to an old one

  def frames(self, start: int, count: int) -> np.ndarray:
    if start < 0 or count < 0:
      raise ValueError(f'Tour.frames needs start >= 0 and count >= 0, got {start}, {count}')
    return np.stack([self.frame(start + i) for i in range(count)]) if count else (
        np.zeros((0, self.size, self.size, 3), np.uint8))

  def frame(self, index: int) -> np.ndarray:
    t = index / self.fps
    cx, cy, zoom, angle = self.camera(t)
    view = self.size * zoom  # world pixels across the frame
    # Render objects into a local copy of the region the camera sees.
    half = int(view * 0.75) + 2
    y0, x0 = int(cy) - half, int(cx) - half
    if self.open_world:
      region = _take_open(self.seed, y0, x0, 2 * half, self.world_size // 3)
      objects = self._objects_near(t)
    else:
      region = _take(_world(self.seed, self.world_size), y0, x0, 2 * half)
      objects = [_object(self.seed, k, self.world_size) for k in range(self.num_objects)]
    region = region.astype(np.float32)
    self._draw_objects(region, t, y0, x0, objects)
    # Sample the rotated, zoomed view with bilinear interpolation.
    grid = (np.arange(self.size) + 0.5) / self.size - 0.5
    gy, gx = np.meshgrid(grid * view, grid * view, indexing='ij')
    cos, sin = np.cos(angle), np.sin(angle)
    wy = cy - y0 + gy * cos - gx * sin
    wx = cx - x0 + gy * sin + gx * cos
    out = np.stack([ndimage.map_coordinates(region[..., c], [wy, wx], order=1,
                                            mode='nearest') for c in range(3)], -1)
    out *= self._lighting(t)
    return np.clip(out, 0, 255).astype(np.uint8)

  def _waypoint(self, i: int) -> np.ndarray:
    rng = np.random.default_rng([self.seed, 11, i + 1])  # i >= -1
    h, w = self.world_size, 2 * self.world_size
    margin = self.size * 2
    if not self.open_world:
      return np.array([rng.uniform(margin, w - margin), rng.uniform(margin, h - margin),
                       rng.uniform(1.0, 2.2), rng.uniform(-0.15, 0.15)])
    # Forward along x by about as far as a bounded-world leg, wandering in y; now and
    # then back to a waypoint a few legs earlier.
    zoom, angle = rng.uniform(1.0, 2.2), rng.uniform(-0.15, 0.15)
    if i > 4 and rng.random() < self.revisit_probability:
      old = self._waypoint(i - int(rng.integers(3, 5)))
      return np.array([old[0], old[1], zoom, angle])
    step = self.size * 5.0
    return np.array([i * step + rng.uniform(-0.3, 0.3) * step,
                     h / 2 + rng.uniform(-1.0, 1.0) * self.size * 3, zoom, angle])

  def _objects_near(self, t: float) -> list:
    """Open world: the objects of the legs around the camera's (each leg has its own)."""
    leg = int(np.floor(t / self.seconds_per_waypoint))
    per_leg = max(self.num_objects // 8, 1)
    out = []
    for j in range(leg - 1, leg + 3):
      home = self._waypoint(j)[:2]
      for k in range(per_leg):
        sprite, alpha, offset, amp, freq, phase = _object(self.seed, (j, k), self.size * 3)
        out.append((sprite, alpha, home + offset - self.size * 3 * np.array([1.0, 0.5]),
                    amp, freq, phase))
    return out

  def camera(self, t: float):
    """Catmull-Rom spline through seeded waypoints: (x, y, zoom, angle) at time t."""
    s = t / self.seconds_per_waypoint
    i = int(np.floor(s))
    u = s - i
    p0, p1, p2, p3 = (self._waypoint(i + k) for k in (-1, 0, 1, 2))
    pos = 0.5 * ((2 * p1) + (-p0 + p2) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u ** 2
                 + (-p0 + 3 * p1 - 3 * p2 + p3) * u ** 3)
    return pos[0], pos[1], max(pos[2], 0.7), pos[3]

  def _lighting(self, t: float) -> np.ndarray:
    rng = np.random.default_rng([self.seed, 13])
    periods = rng.uniform(20, 90, size=3)
    phases = rng.uniform(0, 2 * np.pi, size=3)
    return 1.0 + 0.12 * np.sin(2 * np.pi * t / periods + phases)

  def _draw_objects(self, region: np.ndarray, t: float, y0: int, x0: int, objects):
    """Pastes moving elliptical photo cut-outs whose centres fall near the region."""
    for sprite, alpha, home, amp, freq, phase in objects:
      cx, cy = home + amp * np.sin(2 * np.pi * freq * t + phase)
      sh, sw = alpha.shape
      top, left = int(cy) - sh // 2 - y0, int(cx) - sw // 2 - x0
      rh, rw = region.shape[:2]
      if top >= rh or left >= rw or top + sh <= 0 or left + sw <= 0:
        continue
      ys, xs = slice(max(top, 0), min(top + sh, rh)), slice(max(left, 0), min(left + sw, rw))
      sy = slice(ys.start - top, ys.stop - top)
      sx = slice(xs.start - left, xs.stop - left)
      a = alpha[sy, sx, None]
      region[ys, xs] = a * sprite[sy, sx] + (1 - a) * region[ys, xs]


@functools.lru_cache(maxsize=4096)
def _object(seed: int, k, world_size: int):
  """Object k (an int; open world: (leg, k)) of a world: sprite, mask, home, motion."""
  key = [k] if isinstance(k, int) else [k[0] + 1_000_000, k[1]]
  rng = np.random.default_rng([seed, 17, *key])
  size = int(rng.integers(24, 96))
  sprite = _random_patch(rng, size, size).astype(np.float32)
  yy, xx = np.mgrid[:size, :size] / (size - 1) * 2 - 1
  alpha = ((yy ** 2 + xx ** 2) < 1).astype(np.float32)
  home = np.array([rng.uniform(0, 2 * world_size), rng.uniform(0, world_size)])
  amp = rng.uniform(20, 160, size=2)
  freq = rng.uniform(0.02, 0.12)
  phase = rng.uniform(0, 2 * np.pi, size=2)
  return sprite, alpha, home, amp, freq, phase


@functools.lru_cache(maxsize=256)  # 512 px tiles at the default size: 0.8 MB each
def _tile(seed: int, ty: int, tx: int, tile: int) -> np.ndarray:
  return _random_patch(np.random.default_rng([seed, 7, ty + 1_000_000, tx + 1_000_000]),
                       tile, tile)


def _take_open(seed: int, y0: int, x0: int, side: int, tile: int) -> np.ndarray:
  """A `[side, side, 3]` window of the endless world of `seed`, tiled on demand."""
  out = np.empty((side, side, 3), np.uint8)
  for ty in range(y0 // tile, (y0 + side - 1) // tile + 1):
    for tx in range(x0 // tile, (x0 + side - 1) // tile + 1):
      ys = slice(max(ty * tile, y0), min((ty + 1) * tile, y0 + side))
      xs = slice(max(tx * tile, x0), min((tx + 1) * tile, x0 + side))
      out[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0] = _tile(seed, ty, tx, tile)[
          ys.start - ty * tile:ys.stop - ty * tile, xs.start - tx * tile:xs.stop - tx * tile]
  return out


def revisit_fraction(tour: Tour, seconds: float, chunk_seconds: float = 5.0) -> float:
  """How often a chunk comes back to an earlier place: the fraction of chunks whose
  centre lies within half a view of a chunk at least two chunks earlier (camera path)."""
  n = int(seconds / chunk_seconds)
  cams = np.array([tour.camera((i + 0.5) * chunk_seconds)[:3] for i in range(n)])
  near = [np.any(np.hypot(*(cams[:t - 1, :2] - cams[t, :2]).T) < 0.5 * tour.size * cams[t, 2])
          for t in range(2, n)]
  return float(np.mean(near)) if near else 0.0


def _take(world: np.ndarray, y0: int, x0: int, side: int) -> np.ndarray:
  """A `[side, side, 3]` window of the world, edge-extended where it leaves the canvas."""
  h, w = world.shape[:2]
  ys = np.clip(np.arange(y0, y0 + side), 0, h - 1)
  xs = np.clip(np.arange(x0, x0 + side), 0, w - 1)
  return world[ys[:, None], xs[None, :]]
