"""The codes store: neural codes of many videos on disk, with random access in time.

Layout (a local path, or any path `tf.io.gfile` supports such as a bucket; see `fs`):

  manifest.json                        format, codec fingerprint and shape fields
  videos/<id>/video.json               commit record: shapes, chunk files, sha256 each
  videos/<id>/chunk-<token>-<i>.npy    `[chunk_frames, H', W', N]` codes (uint8/uint16)
  index/<name>.jsonl                   committed videos, a line each: id, frames, bytes

A video becomes visible only when its `video.json` is written, last and atomically, so a
killed encode leaves nothing half-written in view; chunks of an uncommitted attempt carry
their own token and are cleaned up by the next write of that video. Reading a window
touches only the chunks it overlaps, and each is checked against its checksum.

The index lists committed videos without listing `videos/` (a bucket of 400k folders
takes minutes to list). Each commit appends its line as a new file written atomically
(no file system here can append in place); a writer merges its own lines every
`INDEX_MERGE` commits and `compact_index` merges everything, so opening reads a few
files. `video.json` stays the truth: a video committed by a writer killed before its
index line is found again by `recover` (the encode loop asks before re-encoding).
"""
import hashlib
import io
import json
import os
import re
import uuid

import numpy as np

from cvision import atomic_files, errors, fs
from cvision.data import npy

FORMAT = 'cvision-codes/1'
INDEX_MERGE = 1000  # a writer's own index files merged into one this often


class CodesStoreError(errors.UserError, ValueError):
  """A store that cannot be used as asked: wrong codec, missing video, corrupt chunk."""


def _read_json(path: str) -> dict:
  return json.loads(fs.read_bytes(path))


def video_id(name: str) -> str:
  """A file-system-safe id from a video's file name."""
  stem = os.path.splitext(os.path.basename(name))[0]
  return re.sub(r'[^A-Za-z0-9_.-]+', '_', stem) or 'video'


class CodesStore:
  """Open with `CodesStore.open(path, codec_info)`; `codec_info` is `codec_manifest(...)`."""

  def __init__(self, path: str, manifest: dict):
    self.path, self.manifest = path, manifest
    self._index = None  # {id: entry}, read on first use
    self._token = uuid.uuid4().hex[:8]  # names this object's index files
    self._written = []  # index files this object wrote and has not merged yet

  @classmethod
  def open(cls, path: str, codec_info: dict | None = None, create: bool = False):
    """Opens (or with `create`, makes) a store; refuses one made by another codec."""
    manifest_path = os.path.join(path, 'manifest.json')
    if not fs.exists(manifest_path):
      if not create:
        raise CodesStoreError(f'no codes store at {path} (manifest.json missing); run the '
                              f'encode stage first')
      if codec_info is None:
        raise CodesStoreError('creating a codes store needs the codec info')
      fs.makedirs(os.path.join(path, 'videos'))
      fs.makedirs(os.path.join(path, 'index'))
      manifest = dict(format=FORMAT, codec=codec_info)
      atomic_files.write_json(manifest_path, manifest)
      return cls(path, manifest)
    manifest = _read_json(manifest_path)
    if manifest.get('format') != FORMAT:
      raise CodesStoreError(f'{path} is not a {FORMAT} store (format '
                            f'{manifest.get("format")!r})')
    if codec_info is not None:
      theirs = manifest['codec']['fingerprint']
      if theirs != codec_info['fingerprint']:
        raise CodesStoreError(
            f'codes store {path} was written by codec {theirs}, not by this codec '
            f'{codec_info["fingerprint"]}: its codes mean nothing to this decoder. Use the '
            f'codec it was made with, or encode into a new store.')
    return cls(path, manifest)

  @property
  def codec(self) -> dict:
    return self.manifest['codec']

  def _video_dir(self, vid: str) -> str:
    return os.path.join(self.path, 'videos', vid)

  def videos(self) -> list[str]:
    """Ids of committed videos, sorted (from the index)."""
    return sorted(self._entries())

  def __contains__(self, vid: str) -> bool:
    return vid in self._entries()

  def code_frames(self, vid: str) -> int:
    return self._entry(vid)['code_frames']

  def _entry(self, vid: str) -> dict:
    entry = self._entries().get(vid)
    if entry is None:
      raise CodesStoreError(f'video {vid!r} is not in the codes store {self.path}')
    return entry

  def _entries(self) -> dict:
    if self._index is None:
      try:
        self._index = self._read_index()
      except FileNotFoundError:  # a file merged away while listed: read again
        self._index = self._read_index()
    return self._index

  def refresh(self):
    """Forgets the index read so far (other writers may have committed since)."""
    self._index = None

  def _read_index(self) -> dict:
    folder = os.path.join(self.path, 'index')
    if not fs.exists(folder):  # a store from before the index: list it once
      return self._index_from_listing()
    entries = {}
    for name in sorted(fs.listdir(folder)):
      if name.endswith('.jsonl'):  # not the temporaries of a killed write
        for line in fs.read_bytes(os.path.join(folder, name)).splitlines():
          entry = json.loads(line)
          entries[entry['id']] = entry
    return entries

  def _index_from_listing(self) -> dict:
    root = os.path.join(self.path, 'videos')
    names = fs.listdir(root) if fs.exists(root) else []
    entries = {}
    for name in names:
      if fs.exists(os.path.join(root, name, 'video.json')):
        entries[name] = _index_entry(self.info(name))
    fs.makedirs(os.path.join(self.path, 'index'))
    self._write_index_file('listed', list(entries.values()))
    return entries

  def _write_index_file(self, kind: str, entries: list[dict]) -> str:
    name = f'{kind}-{self._token}-{uuid.uuid4().hex[:8]}.jsonl'
    lines = ''.join(json.dumps(e, sort_keys=True) + '\n' for e in entries)
    atomic_files.write_text(os.path.join(self.path, 'index', name), lines)
    return name

  def _add_to_index(self, record: dict):
    """Called after a video's `video.json` is written: its line becomes an index file."""
    entry = _index_entry(record)
    self._entries()[entry['id']] = entry
    self._written.append(self._write_index_file('commit', [entry]))
    if len(self._written) >= INDEX_MERGE:
      self._merge(self._written)
      self._written = []

  def _merge(self, names: list[str]):
    """One index file for `names`, written before they are removed (a reader in between
    sees some lines twice, which the index dict folds)."""
    folder = os.path.join(self.path, 'index')
    entries = {}
    for name in names:
      for line in fs.read_bytes(os.path.join(folder, name)).splitlines():
        entry = json.loads(line)
        entries[entry['id']] = entry
    self._write_index_file('merged', list(entries.values()))
    for name in names:
      fs.remove(os.path.join(folder, name))

  def compact_index(self):
    """Merges every index file into one (the end of an encode: later opens read one)."""
    folder = os.path.join(self.path, 'index')
    names = [n for n in fs.listdir(folder) if n.endswith('.jsonl')]
    if len(names) > 1:
      self._merge(names)
    self._written = []
    self.refresh()

  def recover(self, vid: str) -> bool:
    """Whether `vid` is committed; one committed by a writer killed before its index
    line gets that line now."""
    if vid in self._entries():
      return True
    if not fs.exists(os.path.join(self._video_dir(vid), 'video.json')):
      return False
    self._add_to_index(self.info(vid))
    return True

  def info(self, vid: str) -> dict:
    path = os.path.join(self._video_dir(vid), 'video.json')
    try:  # one request, not an existence check and a read (buckets pay per request)
      return _read_json(path)
    except FileNotFoundError as e:
      raise CodesStoreError(f'video {vid!r} is not in the codes store {self.path}') from e

  @property
  def dtype(self) -> np.dtype:
    """How codes are stored: the smallest unsigned type that holds every index."""
    return code_dtype(self.codec['codebook_size'])

  def read(self, vid: str, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Codes of code frames `[start, stop)`, `[stop - start, H', W', N]` in `self.dtype`."""
    info = self.info(vid)
    total = info['code_frames']
    stop = total if stop is None else stop
    if not 0 <= start <= stop <= total:
      raise CodesStoreError(f'window [{start}, {stop}) is outside video {vid!r} '
                            f'({total} code frames)')
    per = self.codec['chunk_frames']
    parts = []
    for index in range(start // per, -(-stop // per)):
      chunk = self._load_chunk(vid, info['chunks'][index])
      lo, hi = max(start - index * per, 0), min(stop - index * per, per)
      parts.append(chunk[lo:hi])
    if not parts:
      return np.zeros((0, *info['code_shape']), self.dtype)
    return np.concatenate(parts).astype(self.dtype, copy=False)

  def _load_chunk(self, vid: str, chunk: dict) -> np.ndarray:
    path = os.path.join(self._video_dir(vid), chunk['file'])
    try:
      data = fs.read_bytes(path)
    except FileNotFoundError as e:
      raise CodesStoreError(f'chunk missing from the codes store: {path}') from e
    if hashlib.sha256(data).hexdigest() != chunk['sha256']:
      raise CodesStoreError(f'chunk is corrupt (checksum mismatch): {path}')
    try:
      return npy.loads(data)
    except ValueError as e:
      raise CodesStoreError(f'chunk is not a code array ({e}): {path}') from e

  def writer(self, vid: str, **meta) -> 'VideoWriter':
    return VideoWriter(self, vid, meta)

  def disk_bytes(self, vid: str | None = None) -> int:
    """Bytes of committed chunks (of one video, or of all)."""
    vids = [vid] if vid else self.videos()
    return sum(self._entry(v)['bytes'] for v in vids)


def _index_entry(record: dict) -> dict:
  """What the index keeps of a commit record: enough to list, size and sample videos."""
  return dict(id=record['id'], code_frames=record['code_frames'],
              bytes=sum(c['bytes'] for c in record['chunks']))


def code_dtype(codebook_size: int) -> np.dtype:
  if codebook_size > 2 ** 16:
    raise CodesStoreError(f'codebooks of {codebook_size} entries do not fit the store\'s '
                          f'16-bit codes')
  return np.dtype(np.uint8 if codebook_size <= 256 else np.uint16)


def codec_manifest(codec, chunk_frames: int = 64) -> dict:
  """What a store records of the codec that writes it."""
  m = codec.model
  return dict(fingerprint=codec.fingerprint, step=codec.step, size=codec.size,
              codebooks=m.codebooks, codebook_size=m.codebook_size,
              time_factor=m.time_factor, space_factor=m.space_factor,
              chunk_frames=chunk_frames)


class VideoWriter:
  """Appends codes of one video in time order; `commit()` makes it visible.

  Use as a context manager: leaving it by an exception commits nothing.
  """

  def __init__(self, store: CodesStore, vid: str, meta: dict):
    self.store, self.vid, self.meta = store, vid, meta
    self.token = uuid.uuid4().hex[:8]
    self.buffer, self.chunks, self.frames = [], [], 0
    self.code_shape = None
    self.dtype = store.dtype
    fs.makedirs(store._video_dir(vid))  # pylint: disable=protected-access

  def __enter__(self):
    return self

  def __exit__(self, exc_type, exc, tb):
    if exc_type is None and self.chunks is not None:
      self.commit()

  def append(self, codes: np.ndarray):
    """Adds code frames `[t, H', W', N]`."""
    if codes.ndim != 4:
      raise CodesStoreError(f'codes must be [T, H, W, N], got shape {codes.shape}')
    if self.code_shape is None:
      self.code_shape = list(codes.shape[1:])
    elif list(codes.shape[1:]) != self.code_shape:
      raise CodesStoreError(f'codes shape {codes.shape[1:]} differs from {self.code_shape}')
    size = self.store.codec['codebook_size']
    if codes.size and (codes.min() < 0 or codes.max() >= size):
      raise CodesStoreError(f'codes of {self.vid!r} outside [0, {size}): not from this '
                            f"store's codec")
    self.buffer.append(codes.astype(self.dtype))
    self.frames += len(codes)
    self._flush(final=False)

  def _flush(self, final: bool):
    per = self.store.codec['chunk_frames']
    pending = np.concatenate(self.buffer) if self.buffer else None
    self.buffer = []
    while pending is not None and (len(pending) >= per or (final and len(pending))):
      chunk, pending = pending[:per], pending[per:]
      buf = io.BytesIO()
      np.save(buf, chunk, allow_pickle=False)
      data = buf.getvalue()
      name = f'chunk-{self.token}-{len(self.chunks):06d}.npy'
      path = os.path.join(self.store._video_dir(self.vid), name)  # pylint: disable=protected-access
      fs.write_bytes(path, data)
      self.chunks.append(dict(file=name, frames=len(chunk), bytes=len(data),
                              sha256=hashlib.sha256(data).hexdigest()))
    if pending is not None and len(pending):
      self.buffer = [pending]

  def commit(self):
    self._flush(final=True)
    if not self.frames:
      raise CodesStoreError(f'no codes were written for video {self.vid!r}')
    record = dict(self.meta, id=self.vid, code_frames=self.frames,
                  code_shape=self.code_shape, chunks=self.chunks,
                  fingerprint=self.store.codec['fingerprint'])
    folder = self.store._video_dir(self.vid)  # pylint: disable=protected-access
    atomic_files.write_json(os.path.join(folder, 'video.json'), record)
    self.store._add_to_index(record)  # pylint: disable=protected-access
    # Only now are older attempts unreferenced: remove their chunks.
    for name in fs.listdir(folder):
      if name.startswith('chunk-') and f'-{self.token}-' not in name:
        fs.remove(os.path.join(folder, name))
    self.chunks = None
