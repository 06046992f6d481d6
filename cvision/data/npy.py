"""Reading `.npy` files without `ast`, so the data readers can run beside other threads.

`np.load` parses a file's header with `ast.literal_eval`. CPython 3.11 keeps one AST
recursion counter per interpreter, so a parse in another thread at the same moment
(checkpointing, autograph, a logger) can make either fail with "SystemError: AST
constructor recursion depth mismatch" (python/cpython#106905). The readers of the codes
store and of the video cache run in tf.data's threads, and a classify run died of it
mid-training. The headers `np.save` writes for plain arrays are one fixed dict literal,
read here with a regular expression.
"""
import math
import re

import numpy as np

MAGIC = b'\x93NUMPY'
_HEADER = re.compile(r"\{'descr': '([^']+)', 'fortran_order': (True|False), "
                     r"'shape': \(([0-9, ]*)\), \}")


def loads(data: bytes) -> np.ndarray:
  """The (writable) array of an `.npy` file's bytes, as `np.save` writes a plain array.

  Raises ValueError for anything else: another magic, a structured or object dtype, or
  fewer bytes than the header's shape needs."""
  if data[:len(MAGIC)] != MAGIC or len(data) < 10:
    raise ValueError('not an .npy file (no NUMPY magic)')
  major = data[6]
  if major not in (1, 2, 3):
    raise ValueError(f'unknown .npy format version {major}')
  length_bytes = 2 if major == 1 else 4
  start = 8 + length_bytes
  length = int.from_bytes(data[8:start], 'little')
  header = data[start:start + length].decode('latin1' if major < 3 else 'utf8')
  match = _HEADER.fullmatch(header.rstrip())
  if match is None:
    raise ValueError(f'not a plain array\'s .npy header: {header.strip()!r}')
  descr, fortran, dims = match.groups()
  shape = tuple(int(d) for d in dims.split(',') if d.strip())
  dtype = np.dtype(descr)
  if dtype.hasobject:
    raise ValueError('.npy file of Python objects')
  count = math.prod(shape)
  body = start + length
  if len(data) - body < count * dtype.itemsize:
    raise ValueError(f'.npy file is truncated: {len(data) - body} bytes of data for shape '
                     f'{shape} of {dtype}')
  # One copy (memoryview slices without copying), into a buffer numpy may write to.
  flat = np.frombuffer(bytearray(memoryview(data)[body:body + count * dtype.itemsize]), dtype,
                       count)
  return flat.reshape(shape, order='F' if fortran == 'True' else 'C')


def load(path: str) -> np.ndarray:
  """`loads` of the file at `path`."""
  with open(path, 'rb') as f:
    return loads(f.read())
