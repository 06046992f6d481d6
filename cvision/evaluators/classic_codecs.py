"""Classic codec baselines: JPEG per frame (Pillow), H.264 (libx264), H.265 (libx265).

Sizes are the bytes of the real files: JPEG files and raw elementary streams (`-f h264`,
`-f hevc`, no container), so the compression rates compare with the codec's code bits.

`h264_gop<N>` / `h265_gop<N>` restrict the encoder to closed groups of N frames (a key
frame every N, nothing predicted across groups): with N the codec's time factor, the
classic codec sees no more of the video at once than the neural codes do; `_gop1` is
intra-only coding.
"""
import io
import os
import re
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


def parse_name(name: str) -> tuple[str, Optional[int]]:
  """'jpeg' | 'h264' | 'h265' | 'h264_gop<N>' | 'h265_gop<N>' -> (codec, frames per GOP)."""
  match = re.fullmatch(r'(jpeg|h264|h265)(?:_gop([1-9][0-9]*))?', name)
  if not match or (match[1] == 'jpeg' and match[2]):
    raise ValueError(f'unknown classic codec {name!r}: use jpeg, h264, h265, or h264_gop<N> '
                     f'/ h265_gop<N> for closed groups of N frames')
  return match[1], int(match[2]) if match[2] else None


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
                          fps: float = 25.0, preset: str = 'medium',
                          gop: Optional[int] = None) -> list[str]:
  """ffmpeg arguments that encode raw rgb24 frames from stdin to an elementary stream;
  `gop` frames per closed group of pictures (None: the encoder's own choice)."""
  lib, fmt = _FFMPEG_CODECS[codec]
  command = ['ffmpeg', '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24',
             '-s', f'{width}x{height}', '-r', str(fps), '-i', '-', '-c:v', lib,
             '-preset', preset, '-crf', str(crf), '-pix_fmt', 'yuv420p', '-f', fmt]
  params = ['log-level=error'] if lib == 'libx265' else []
  if gop:
    # Scene cuts would add key frames of their own; x265's default open GOPs would let
    # a group's first frames reference the previous group.
    params += [f'keyint={gop}', f'min-keyint={gop}', 'scenecut=0']
    params += ['open-gop=0'] if lib == 'libx265' else []
  if params:
    command += ['-x265-params' if lib == 'libx265' else '-x264-params', ':'.join(params)]
  return command + [path]


def ffmpeg_roundtrip(clip: np.ndarray, codec: str, crf: int, fps: float = 25.0,
                     preset: str = 'medium',
                     gop: Optional[int] = None) -> tuple[np.ndarray, int, float, float]:
  """Encodes with libx264/libx265 at `crf`; returns (decoded, stream bytes, enc s, dec s)."""
  fmt = _FFMPEG_CODECS[codec][1]
  t, h, w, _ = clip.shape
  with tempfile.TemporaryDirectory() as tmp:
    stream = os.path.join(tmp, f'video.{fmt}')
    encode = ffmpeg_encode_command(codec, w, h, crf, stream, fps, preset, gop)
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


def sweep(clip: np.ndarray, name: str) -> list[dict]:
  """Rate-distortion points of one classic codec (`parse_name`) on one clip, sorted by CR."""
  codec, gop = parse_name(name)
  raw = clip.size
  points = []
  settings = JPEG_QUALITIES if codec == 'jpeg' else CRFS
  for setting in settings:
    if codec == 'jpeg':
      decoded, size = jpeg_roundtrip(clip, setting)
    else:
      decoded, size, _, _ = ffmpeg_roundtrip(clip, codec, setting, gop=gop)
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
