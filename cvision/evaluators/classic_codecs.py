"""Classic codec baselines: JPEG per frame (Pillow), H.264 (libx264), H.265 (libx265).

Sizes are the bytes of the real files: JPEG files and raw elementary streams (`-f h264`,
`-f hevc`, no container), so the compression rates compare with the codec's code bits.
"""
import io
import os
import shutil
import subprocess
import tempfile
import time
from typing import Optional

import numpy as np
from PIL import Image

from cvision import metrics

JPEG_QUALITIES = (1, 2, 3, 5, 8, 12, 20, 30, 45, 60, 75, 90)
CRFS = (12, 18, 23, 28, 32, 36, 40, 44, 48, 51)
_FFMPEG_CODECS = {'h264': ('libx264', 'h264'), 'h265': ('libx265', 'hevc')}


def ffmpeg_missing() -> Optional[str]:
  """None if ffmpeg with libx264 and libx265 is usable, else why not (for the log)."""
  if shutil.which('ffmpeg') is None:
    return ('the ffmpeg program is not installed, so the H.264/H.265 baselines are '
            'skipped (Debian/Ubuntu: apt-get install ffmpeg)')
  encoders = subprocess.run(['ffmpeg', '-hide_banner', '-encoders'], capture_output=True,
                            text=True).stdout
  missing = [lib for lib, _ in _FFMPEG_CODECS.values() if lib not in encoders]
  if missing:
    return f'ffmpeg lacks {missing}, so the H.264/H.265 baselines are skipped'
  return None


def jpeg_roundtrip(clip: np.ndarray, quality: int) -> tuple[np.ndarray, int]:
  """uint8 `[T, H, W, 3]` -> (decoded frames, total JPEG bytes)."""
  decoded, total = [], 0
  for frame in clip:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format='JPEG', quality=quality)
    total += buffer.tell()
    buffer.seek(0)
    decoded.append(np.asarray(Image.open(buffer).convert('RGB')))
  return np.stack(decoded), total


def ffmpeg_encode_command(codec: str, width: int, height: int, crf: int, path: str,
                          fps: float = 25.0, preset: str = 'medium') -> list[str]:
  """ffmpeg arguments that encode raw rgb24 frames from stdin to an elementary stream."""
  lib, fmt = _FFMPEG_CODECS[codec]
  command = ['ffmpeg', '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24',
             '-s', f'{width}x{height}', '-r', str(fps), '-i', '-', '-c:v', lib,
             '-preset', preset, '-crf', str(crf), '-pix_fmt', 'yuv420p', '-f', fmt]
  if lib == 'libx265':
    command += ['-x265-params', 'log-level=error']
  return command + [path]


def ffmpeg_roundtrip(clip: np.ndarray, codec: str, crf: int, fps: float = 25.0,
                     preset: str = 'medium') -> tuple[np.ndarray, int, float, float]:
  """Encodes with libx264/libx265 at `crf`; returns (decoded, stream bytes, enc s, dec s)."""
  fmt = _FFMPEG_CODECS[codec][1]
  t, h, w, _ = clip.shape
  with tempfile.TemporaryDirectory() as tmp:
    stream = os.path.join(tmp, f'video.{fmt}')
    encode = ffmpeg_encode_command(codec, w, h, crf, stream, fps, preset)
    start = time.perf_counter()
    subprocess.run(encode, input=np.ascontiguousarray(clip).tobytes(),
                   check=True, capture_output=True)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    out = subprocess.run(['ffmpeg', '-v', 'error', '-f', fmt, '-i', stream, '-f', 'rawvideo',
                          '-pix_fmt', 'rgb24', '-'], check=True, capture_output=True).stdout
    decode_s = time.perf_counter() - start
    size = os.path.getsize(stream)
  decoded = np.frombuffer(out, np.uint8).reshape(-1, h, w, 3)[:t]
  return decoded, size, encode_s, decode_s


def sweep(clip: np.ndarray, codec: str) -> list[dict]:
  """Rate-distortion points of one classic codec on one clip, sorted by CR."""
  raw = clip.size
  points = []
  settings = JPEG_QUALITIES if codec == 'jpeg' else CRFS
  for setting in settings:
    if codec == 'jpeg':
      decoded, size = jpeg_roundtrip(clip, setting)
    else:
      decoded, size, _, _ = ffmpeg_roundtrip(clip, codec, setting)
    point = metrics.reconstruction_metrics(clip / 255.0, decoded / 255.0)
    point.update(setting=setting, bytes=size, cr=raw / size,
                 bpp=metrics.bits_per_pixel(size, *clip.shape[:3]))
    points.append(point)
  return sorted(points, key=lambda p: p['cr'])


def at_rate(points: list[dict], cr: float) -> Optional[dict]:
  """Metrics interpolated (in log CR) at compression rate `cr`; None if out of range."""
  crs = np.log([p['cr'] for p in points])
  if not crs[0] <= np.log(cr) <= crs[-1]:
    return None
  keys = ('psnr', 'ssim', 'ms_ssim', 'mae', 'bpp')
  return {k: float(np.interp(np.log(cr), crs, [p[k] for p in points])) for k in keys} | {
      'cr': cr}
