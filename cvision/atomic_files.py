"""Writes that are all or nothing: a killed job leaves the old file or none, never half.

Every file goes to a temporary name beside its target and is renamed over it once
complete (a rename within one folder is atomic on POSIX file systems and on the bucket
paths tf.io.gfile supports; `fs` picks which).
"""
import contextlib
import json
import os
import uuid

from cvision import fs


def _temporary_name(path: str, suffix: str = '') -> str:
  # Unique per writer, so two processes writing the same file never share a temporary.
  return f'{path}.tmp-{uuid.uuid4().hex[:8]}{suffix}'


def write_bytes(path: str, data: bytes):
  tmp = _temporary_name(path)
  fs.write_bytes(tmp, data)
  fs.rename(tmp, path)


def write_text(path: str, text: str):
  write_bytes(path, text.encode())


def read_json(path: str):
  """The JSON value in `path`, or None when there is no such file."""
  try:  # one request, not an existence check and a read
    return json.loads(fs.read_bytes(path))
  except FileNotFoundError:
    return None


def write_json(path: str, value, indent: int = 1):
  write_text(path, json.dumps(value, indent=indent))


@contextlib.contextmanager
def replacing(path: str, suffix: str = ''):
  """Yields a local temporary path for a writer (numpy, ffmpeg, PyAV) to fill; it becomes
  `path` when the block ends and is removed if the block raises. `suffix` keeps the
  extension tools that guess the format from the name need (e.g. '.mp4')."""
  tmp = _temporary_name(path, suffix)
  try:
    yield tmp
    os.replace(tmp, path)
  finally:
    if os.path.exists(tmp):
      os.remove(tmp)


def save_figure(fig, path: str, dpi: int = 100):
  """A matplotlib figure saved all or nothing (the format from `path`'s extension)."""
  with replacing(path, os.path.splitext(path)[1]) as tmp:
    fig.savefig(tmp, dpi=dpi)
