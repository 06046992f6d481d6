"""Reading and writing real video files with PyAV.

Frames come out as uint8 `[H, W, 3]` RGB, resized so the shorter side is `size` and
cropped to `size x size` (centre, or a given offset). Any file that is missing, empty or
not a decodable video raises `VideoError` naming the file.
"""
import fractions
import glob
import os
from typing import Iterable, Iterator, Optional

import av
import numpy as np
from PIL import Image

from cvision import atomic_files, errors

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.mov', '.webm', '.m4v', '.mpg', '.mpeg')


class VideoError(errors.UserError, ValueError):
  """A video file that cannot be used, with the reason and the file's path."""


def list_videos(paths) -> list[str]:
  """Expands folders (recursively) and globs into a sorted list of video files."""
  if isinstance(paths, str):
    paths = [p for p in paths.split(',') if p]
  found = []
  for path in paths:
    if os.path.isdir(path):
      for root, _, names in os.walk(path):
        found += [os.path.join(root, n) for n in names
                  if n.lower().endswith(VIDEO_EXTENSIONS)]
    elif any(ch in path for ch in '*?['):
      found += glob.glob(path)
    else:
      if not os.path.exists(path):
        raise VideoError(f'video not found: {path}')
      found.append(path)
  if not found:
    raise VideoError(f'no video files in {list(paths)}')
  return sorted(found)


def probe(path: str) -> dict:
  """`{'frames', 'fps', 'width', 'height'}` of a video, decoding it only if needed."""
  with _open(path) as container:
    stream = container.streams.video[0]
    frames = stream.frames
    fps = float(stream.average_rate or stream.guessed_rate or 25)
    width, height = stream.codec_context.width, stream.codec_context.height
    if not frames:  # containers that do not record a count: count by decoding
      frames = sum(1 for _ in _decode(container, path))
  if frames == 0:
    raise VideoError(f'video has no frames: {path}')
  return dict(frames=frames, fps=fps, width=width, height=height)


def iter_frames(path: str, size: Optional[int] = None, stride: int = 1, start: int = 0,
                crop_offset: Optional[tuple[float, float]] = None) -> Iterator[np.ndarray]:
  """Yields frames `start, start + stride, ...` resized/cropped to `size` (if given)."""
  with _open(path) as container:
    stream = container.streams.video[0]
    fps = float(stream.average_rate or 25)
    index = 0
    if start > 0 and stream.time_base:
      # Jump to the keyframe before `start`, then decode forward to it.
      target = int(start / fps / stream.time_base) + (stream.start_time or 0)
      container.seek(target, stream=stream, backward=True, any_frame=False)
      index = None
    for frame in _decode(container, path):
      if index is None:
        offset = (frame.pts or 0) - (stream.start_time or 0)
        index = int(round(float(offset * stream.time_base) * fps))
      if index >= start and (index - start) % stride == 0:
        yield _prepare(frame, size, crop_offset)
      index += 1


def read_clip(path: str, start: int, count: int, size: Optional[int] = None,
              stride: int = 1, crop_offset=None) -> np.ndarray:
  """`count` frames from `start` as uint8 `[count, size, size, 3]`; short files error."""
  frames = []
  for frame in iter_frames(path, size, stride, start, crop_offset):
    frames.append(frame)
    if len(frames) == count:
      return np.stack(frames)
  raise VideoError(f'{path} has only {len(frames)} frames from frame {start} with '
                   f'stride {stride}; {count} were asked for')


def resize_and_crop(frame: np.ndarray, size: int, crop_offset=None) -> np.ndarray:
  """Shorter side to `size` (antialiased), then a `size x size` crop.

  crop_offset: `(fy, fx)` in [0, 1], where the crop sits in the longer side; centre if None.
  """
  h, w = frame.shape[:2]
  scale = size / min(h, w)
  nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
  if (nh, nw) != (h, w):
    frame = np.asarray(Image.fromarray(frame).resize((nw, nh), Image.BICUBIC,
                                                     reducing_gap=3.0))
  fy, fx = crop_offset if crop_offset is not None else (0.5, 0.5)
  y, x = int(round((nh - size) * fy)), int(round((nw - size) * fx))
  return frame[y:y + size, x:x + size]


def write_video(path: str, frames: Iterable[np.ndarray], fps: float = 25.0,
                crf: int = 12):
  """Writes uint8 `[H, W, 3]` frames (an array `[T, H, W, 3]` or any iterable, consumed
  as it goes) as H.264 in the container `path`'s extension names (mp4 by default),
  atomically: a temporary file renamed once complete."""
  suffix = os.path.splitext(path)[1] or '.mp4'
  with atomic_files.replacing(path, suffix) as tmp, av.open(tmp, mode='w') as container:
    stream = None
    for frame in frames:
      if stream is None:
        rate = fractions.Fraction(fps).limit_denominator(1001)
        stream = container.add_stream('libx264', rate=rate)
        stream.width, stream.height = frame.shape[1], frame.shape[0]
        stream.pix_fmt = 'yuv420p'
        stream.options = {'crf': str(crf)}
      for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format='rgb24')):
        container.mux(packet)
    if stream is None:
      raise VideoError(f'no frames to write to {path}')
    for packet in stream.encode():
      container.mux(packet)


def _open(path: str):
  if not os.path.exists(path):
    raise VideoError(f'video not found: {path}')
  if os.path.getsize(path) == 0:
    raise VideoError(f'video file is empty (0 bytes): {path}')
  try:
    container = av.open(path)
  except av.FFmpegError as e:
    raise VideoError(f'cannot open video {path}: {e}') from e
  if not container.streams.video:
    container.close()
    raise VideoError(f'no video stream in {path}')
  return container


def _decode(container, path: str):
  try:
    yield from container.decode(video=0)
  except av.FFmpegError as e:
    raise VideoError(f'video is corrupt or truncated: {path}: {e}') from e


def _prepare(frame, size, crop_offset) -> np.ndarray:
  rgb = frame.to_ndarray(format='rgb24')
  return resize_and_crop(rgb, size, crop_offset) if size else rgb
