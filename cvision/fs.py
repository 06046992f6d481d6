"""Files on any path: local ones through the OS, `scheme://` ones through tf.io.gfile.

Buckets (gs://) and TensorFlow's in-memory `ram://` need gfile, but importing TensorFlow
costs a process hundreds of megabytes before it reads a byte; a notebook or a tool that
only reads a local codes store should not pay that. So TensorFlow is imported on the
first remote path only. Either way a missing file raises `FileNotFoundError`.
"""
import functools
import os


def is_remote(path: str) -> bool:
  return '://' in path


@functools.cache
def _gfile():
  from cvision.tensorflow_cpu import tf  # pylint: disable=g-import-not-at-top
  return tf.io.gfile, tf.errors.NotFoundError


def _remote_call(name: str, *args, **kwargs):
  gfile, not_found = _gfile()
  try:
    return getattr(gfile, name)(*args, **kwargs)
  except not_found as e:
    raise FileNotFoundError(str(e)) from e


def exists(path: str) -> bool:
  return _remote_call('exists', path) if is_remote(path) else os.path.exists(path)


def listdir(path: str) -> list[str]:
  """Names in a folder, without a trailing slash (gfile marks folders with one)."""
  names = _remote_call('listdir', path) if is_remote(path) else os.listdir(path)
  return [n.rstrip('/') for n in names]


def makedirs(path: str):
  if is_remote(path):
    _remote_call('makedirs', path)
  else:
    os.makedirs(path, exist_ok=True)


def remove(path: str):
  if is_remote(path):
    _remote_call('remove', path)
  else:
    os.remove(path)


def rename(source: str, target: str):
  """Moves `source` over `target`, replacing it (atomic within one folder)."""
  if is_remote(source):
    _remote_call('rename', source, target, overwrite=True)
  else:
    os.replace(source, target)


def read_bytes(path: str) -> bytes:
  if not is_remote(path):
    with open(path, 'rb') as f:
      return f.read()
  gfile, not_found = _gfile()
  try:
    with gfile.GFile(path, 'rb') as f:  # GFile opens lazily: a missing file fails here
      return f.read()
  except not_found as e:
    raise FileNotFoundError(str(e)) from e


def write_bytes(path: str, data: bytes):
  """Writes in place (not atomic: see `atomic_files` for that)."""
  if is_remote(path):
    gfile, _ = _gfile()
    with gfile.GFile(path, 'wb') as f:
      f.write(data)
  else:
    with open(path, 'wb') as f:
      f.write(data)
