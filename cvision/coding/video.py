"""Videos to `.cvz` bytes and back with a trained RD codec, a group of chunks at a time.

Frames are padded to multiples of 8 pixels (edge pixels repeated) and the last chunk to
whole chunks (last frame repeated); the header keeps the true size and frame count, and
decoding crops them off. Only `prior_rows` chunks of frames are in memory at once, so a
video of any length streams through; the compressed chunks (a few KB each) are kept
until the file is packed.
"""
import dataclasses
from typing import Callable, Iterable, Iterator

import numpy as np

from cvision import errors
from cvision.coding import container, latents as latent_coding, tables
from cvision.models import rdae


class Desync(RuntimeError):
  """compress decoded its own output to different latents: a bug, never a written file."""


@dataclasses.dataclass
class CompressStats:
  frames: int = 0
  chunks: int = 0
  estimated_bits: float = 0.0
  bytes: int = 0

  def bpp(self, height: int, width: int) -> float:
    return 8.0 * self.bytes / (self.frames * height * width)

  def estimated_bpp(self, height: int, width: int) -> float:
    return self.estimated_bits / (self.frames * height * width)


def pad_frames(frames: np.ndarray, chunk_frames: int) -> np.ndarray:
  """uint8 `[N, H, W, 3]` -> `[n, T, H8, W8, 3]`: sides to multiples of 8, N to whole
  chunks, by repeating the edge pixels and the last frame."""
  n, h, w, _ = frames.shape
  s = rdae.SPACE_FACTOR
  chunks = -(-n // chunk_frames)
  pads = ((0, chunks * chunk_frames - n), (0, -h % s), (0, -w % s), (0, 0))
  padded = np.pad(frames, pads, mode='edge')
  return padded.reshape(chunks, chunk_frames, *padded.shape[1:])


def _groups(frames: Iterable[np.ndarray], size: int) -> Iterator[np.ndarray]:
  """Stacks of `size` frames (the last may be shorter) with one shape."""
  group, shape = [], None
  for frame in frames:
    if shape is None:
      shape = frame.shape
    elif frame.shape != shape:
      raise errors.InputError(f'frame {len(group)} of a group is {frame.shape}, the video '
                              f'started at {shape}: frames must keep one size')
    group.append(frame)
    if len(group) == size:
      yield np.stack(group)
      group = []
  if group:
    yield np.stack(group)


def compress(codec, frames: Iterable[np.ndarray], fps: float, *, verify: bool = True,
             on_frames: Callable[[int], None] | None = None) -> tuple[bytes, CompressStats]:
  """uint8 frames `[H, W, 3]` -> the `.cvz` file's bytes, and what it cost.

  verify: decode every group again before anything is returned (the prior must give the
  decoder the very probabilities the encoder used; a mismatch raises `Desync`)."""
  coder, t = codec.coder, codec.chunk_frames
  payloads, crcs, stats, size = [], [], CompressStats(), None
  for group in _groups(frames, coder.rows * t):
    size = size or group.shape[1:3]
    chunks = pad_frames(group, t)
    latents = codec.encode(chunks)
    streams, estimated = coder.encode(latents)
    if verify:
      again = coder.decode(streams, *latents.shape[1:4])
      if not np.array_equal(again, latents):
        raise Desync('the prior gave the decoder other probabilities than the encoder '
                     '(a bug: please report it with the video); nothing was written')
    payloads += [s.astype('<u4').tobytes() for s in streams]
    crcs += [container.latents_crc(z) for z in latents]
    stats.frames += len(group)
    stats.chunks += len(chunks)
    stats.estimated_bits += float(np.sum(estimated))
    if on_frames:
      on_frames(len(group))
  if size is None:
    raise errors.InputError('the video has no frames')
  height, width = size
  num, den = container.fps_fraction(fps)
  s = rdae.SPACE_FACTOR
  header = container.Header(codec.fingerprint, stats.frames, height, width, num, den, t,
                            -(-height // s), -(-width // s), codec.latent_channels,
                            codec.levels, tables.PRECISION, coder.rows)
  data = container.pack(header, payloads, crcs)
  stats.bytes = len(data)
  return data, stats


def open_file(codec, data: bytes, name: str) -> container.Parsed:
  """The checked file, refused if another codec made it."""
  parsed = container.parse(data, name)
  container.check_codec(parsed.header, codec.fingerprint, codec.latent_channels,
                        codec.levels, codec.chunk_frames, name)
  if parsed.header.precision != tables.PRECISION:
    raise container.CorruptFile(f'{name}: {parsed.header.precision}-bit probabilities; this '
                                f'version of cvision codes with {tables.PRECISION}')
  return parsed


def decompress(codec, data: bytes, name: str = 'the file',
               on_frames: Callable[[int], None] | None = None) -> Iterator[np.ndarray]:
  """Yields the decoded uint8 frames `[H, W, 3]` of a `.cvz` file, a group at a time.

  Every chunk's latents are checked against the CRC the encoder stored: a corrupt payload
  is a `CorruptFile` naming the chunk, never a garbage frame."""
  for _, frames in decompress_latents(codec, data, name, on_frames):
    yield from frames


def decompress_latents(codec, data: bytes, name: str = 'the file', on_frames=None):
  """Yields `(latents [n, T, h, w, K], frames [m, H, W, 3])` per group of chunks."""
  parsed = open_file(codec, data, name)
  h = parsed.header
  coder = codec.coder_for(h.prior_rows)  # the file's own grouping: the same prior program
  left = h.frames
  for first in range(0, h.chunks, coder.rows):
    indices = range(first, min(first + coder.rows, h.chunks))
    streams = [parsed.payload(data, i) for i in indices]
    try:
      latents = coder.decode(streams, h.chunk_frames, h.latent_height, h.latent_width)
    except latent_coding.StreamError as e:
      raise container.CorruptFile(f'{name}: chunk {first + e.chunk} of {h.chunks} cannot '
                                  f'be decoded ({e.__cause__})') from e
    for i, z in zip(indices, latents):
      if container.latents_crc(z) != parsed.entries[i][2]:
        raise container.CorruptFile(f'{name}: chunk {i} of {h.chunks} is corrupt (its '
                                    f'decoded latents do not match their CRC)')
    frames = codec.decode(latents).reshape(-1, *codec_frame_shape(h))[:, :h.height, :h.width]
    frames = frames[:left]
    left -= len(frames)
    if on_frames:
      on_frames(len(frames))
    yield latents, frames


def codec_frame_shape(h: container.Header) -> tuple[int, int, int]:
  s = rdae.SPACE_FACTOR
  return h.latent_height * s, h.latent_width * s, 3

