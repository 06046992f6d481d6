"""The `.cvz` file: a video's latents as range-coded chunks, one per T-frame group.

Layout (little-endian; CRC-32 as zlib computes it):

    offset  bytes  field
    0       4      magic b'CVZ\\x00'
    4       2      format version (1)
    6       16     codec fingerprint (the checkpoint's hash, 32 hex digits as bytes)
    22      4      frames (of the video, before padding to whole chunks)
    26      2, 2   height, width (pixels, before padding to multiples of 8)
    30      4, 4   fps as numerator / denominator
    38      2      chunk frames T
    40      2, 2   latent height, latent width
    44      2, 2   latent channels K, levels L
    48      1      probability precision (bits)
    49      1      prior rows (chunks per prior call when the file was made)
    50      4      chunk count
    54      4      CRC-32 of bytes 0..53
    58      8 * n  chunk table: payload bytes (a multiple of 4), CRC-32 of the chunk's
                   decoded latents (uint8, [T, h, w, K] in C order)
    58+8n   4      CRC-32 of the chunk table
    62+8n   ...    the payloads, in chunk order; the file ends with the last one

Every field is checked against the others, against the file's size and against sane
limits before anything is allocated; a bad file is a `CorruptFile` naming what is wrong
(and which chunk), never a crash, a huge allocation or a garbage video.
"""
import dataclasses
import math
import struct
import zlib

import numpy as np

from cvision import errors

MAGIC = b'CVZ\x00'
VERSION = 1
HEADER_STRUCT = struct.Struct('<4sH16sIHHIIHHHHHBBI')
ENTRY_STRUCT = struct.Struct('<II')
CRC_STRUCT = struct.Struct('<I')
HEADER_BYTES = HEADER_STRUCT.size + CRC_STRUCT.size
SPACE_FACTOR = 8
# Sane limits: a day of 240 fps video, 8K frames, the widest latents a codec here makes.
MAX_FRAMES = 24 * 3600 * 240
MAX_SIDE = 8192
MAX_CHUNK_FRAMES = 1024
MAX_CHANNELS = 1024
MAX_LEVELS = 256
MAX_PRIOR_ROWS = 64


class CorruptFile(errors.InputError):
  """A `.cvz` file that cannot be decoded: truncated, altered, or not a `.cvz` at all."""


class WrongCodec(errors.InputError):
  """A `.cvz` file written by another codec than the one asked to decode it."""


@dataclasses.dataclass(frozen=True)
class Header:
  fingerprint: str
  frames: int
  height: int
  width: int
  fps_num: int
  fps_den: int
  chunk_frames: int
  latent_height: int
  latent_width: int
  latent_channels: int
  levels: int
  precision: int
  prior_rows: int

  @property
  def chunks(self) -> int:
    return math.ceil(self.frames / self.chunk_frames)

  @property
  def fps(self) -> float:
    return self.fps_num / self.fps_den

  @property
  def symbols_per_chunk(self) -> int:
    return self.chunk_frames * self.latent_height * self.latent_width * self.latent_channels

  def max_chunk_bytes(self) -> int:
    """The most a chunk's payload can take: every symbol at the floor probability
    2^-precision costs `precision` bits, plus the coder's final words."""
    return 4 * math.ceil(self.symbols_per_chunk * self.precision / 32) + 16


def latents_crc(latents: np.ndarray) -> int:
  return zlib.crc32(np.ascontiguousarray(latents, np.uint8).tobytes())


def fps_fraction(fps: float) -> tuple[int, int]:
  """fps as a small fraction (29.97 -> 30000/1001), exactly as the container stores it."""
  from fractions import Fraction  # pylint: disable=g-import-not-at-top
  f = Fraction(fps).limit_denominator(1001)
  return f.numerator, f.denominator


def pack(header: Header, payloads: list[bytes], crcs: list[int]) -> bytes:
  """The whole file's bytes; `payloads[i]` and `crcs[i]` of chunk i."""
  _check_header(header)
  if not len(payloads) == len(crcs) == header.chunks:
    raise ValueError(f'{header.chunks} chunks expected, got {len(payloads)} payloads and '
                     f'{len(crcs)} CRCs')
  head = HEADER_STRUCT.pack(MAGIC, VERSION, bytes.fromhex(header.fingerprint), header.frames,
                      header.height, header.width, header.fps_num, header.fps_den,
                      header.chunk_frames, header.latent_height, header.latent_width,
                      header.latent_channels, header.levels, header.precision,
                      header.prior_rows, header.chunks)
  table = b''.join(ENTRY_STRUCT.pack(len(p), c) for p, c in zip(payloads, crcs))
  return b''.join([head, CRC_STRUCT.pack(zlib.crc32(head)), table,
                   CRC_STRUCT.pack(zlib.crc32(table)), *payloads])


@dataclasses.dataclass(frozen=True)
class Parsed:
  """A checked file: its header and, per chunk, (offset, length, latents CRC)."""
  header: Header
  entries: list[tuple[int, int, int]]

  def payload(self, data: bytes, chunk: int) -> np.ndarray:
    offset, length, _ = self.entries[chunk]
    return np.frombuffer(data, '<u4', length // 4, offset).astype(np.uint32)


def parse(data: bytes, name: str = 'the file') -> Parsed:
  """Checks everything about `data` that can be checked before decoding."""
  if len(data) < HEADER_BYTES:
    raise CorruptFile(f'{name} is not a .cvz file: {len(data)} bytes, shorter than the '
                      f'{HEADER_BYTES}-byte header')
  fields = HEADER_STRUCT.unpack_from(data)
  if fields[0] != MAGIC:
    raise CorruptFile(f'{name} is not a .cvz file (its first bytes are {fields[0]!r})')
  if fields[1] != VERSION:
    raise CorruptFile(f'{name} is a .cvz file of format version {fields[1]}; this version '
                      f'of cvision reads version {VERSION}')
  (crc,) = CRC_STRUCT.unpack_from(data, HEADER_STRUCT.size)
  if crc != zlib.crc32(data[:HEADER_STRUCT.size]):
    raise CorruptFile(f'{name}: the header is corrupt (its CRC does not match)')
  header = Header(fields[2].hex(), *fields[3:15])
  _check_header(header, name)
  if fields[15] != header.chunks:
    raise CorruptFile(f'{name}: the header lists {fields[15]} chunks, but {header.frames} '
                      f'frames in chunks of {header.chunk_frames} make {header.chunks}')
  table_end = HEADER_BYTES + ENTRY_STRUCT.size * header.chunks
  if table_end + CRC_STRUCT.size > len(data):
    raise CorruptFile(f'{name} is truncated: {len(data)} bytes, fewer than its chunk table '
                      f'of {header.chunks} chunks needs')
  table = data[HEADER_BYTES:table_end]
  if CRC_STRUCT.unpack_from(data, table_end)[0] != zlib.crc32(table):
    raise CorruptFile(f'{name}: the chunk table is corrupt (its CRC does not match)')
  entries, offset, limit = [], table_end + CRC_STRUCT.size, header.max_chunk_bytes()
  for i, (length, latents) in enumerate(ENTRY_STRUCT.iter_unpack(table)):
    if length % 4 or length > limit:
      raise CorruptFile(f'{name}: chunk {i} claims {length} bytes (a chunk holds a multiple '
                        f'of 4, at most {limit})')
    if offset + length > len(data):
      raise CorruptFile(f'{name} is truncated in chunk {i} of {header.chunks}: it ends at '
                        f'byte {len(data)}, the chunk at {offset + length}')
    entries.append((offset, length, latents))
    offset += length
  if offset != len(data):
    raise CorruptFile(f'{name} has {len(data) - offset} bytes after its last chunk')
  return Parsed(header, entries)


def check_codec(header: Header, fingerprint: str, latent_channels: int, levels: int,
                chunk_frames: int, name: str = 'the file'):
  """A file of another codec is refused by name, never decoded into garbage."""
  if header.fingerprint != fingerprint:
    raise WrongCodec(f'{name} was written by codec {header.fingerprint}, not by this one '
                     f'({fingerprint}): decode it with the codec that made it')
  mine = (latent_channels, levels, chunk_frames)
  if (header.latent_channels, header.levels, header.chunk_frames) != mine:
    raise CorruptFile(f'{name}: {header.latent_channels} latent channels of {header.levels} '
                      f'levels in chunks of {header.chunk_frames} frames; the codec that '
                      f'made it has {latent_channels} of {levels} in chunks of {chunk_frames}')


def _check_header(h: Header, name: str = 'the file'):
  problems = []
  if not 1 <= h.frames <= MAX_FRAMES:
    problems.append(f'{h.frames} frames')
  if not (1 <= h.height <= MAX_SIDE and 1 <= h.width <= MAX_SIDE):
    problems.append(f'a {h.width}x{h.height} frame size')
  if h.fps_num < 1 or h.fps_den < 1:
    problems.append(f'{h.fps_num}/{h.fps_den} fps')
  if not 1 <= h.chunk_frames <= MAX_CHUNK_FRAMES:
    problems.append(f'{h.chunk_frames} frames per chunk')
  if (h.latent_height, h.latent_width) != (-(-h.height // SPACE_FACTOR),
                                           -(-h.width // SPACE_FACTOR)):
    problems.append(f'{h.latent_width}x{h.latent_height} latents for {h.width}x{h.height} '
                    f'frames')
  if not 1 <= h.latent_channels <= MAX_CHANNELS or not 2 <= h.levels <= MAX_LEVELS:
    problems.append(f'{h.latent_channels} latent channels of {h.levels} levels')
  if not 8 <= h.precision <= 24 or not 1 <= h.prior_rows <= MAX_PRIOR_ROWS:
    problems.append(f'{h.precision}-bit probabilities, {h.prior_rows} prior rows')
  if problems:
    raise CorruptFile(f'{name}: impossible header ({"; ".join(problems)})')
