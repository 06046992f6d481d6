"""`.npy` reading without `ast`: every plain array `np.save` writes comes back exactly,
other files are refused, and reads survive Python parsing in another thread."""
import ast
import inspect
import io
import threading

import numpy as np
import pytest

from cvision.data import npy


def _saved(array, **kwargs) -> bytes:
  buf = io.BytesIO()
  np.save(buf, array, **kwargs)
  return buf.getvalue()


@pytest.mark.parametrize('array', [
    np.arange(4 * 8 * 8 * 4, dtype=np.uint8).reshape(4, 8, 8, 4),
    np.arange(300, dtype=np.uint16).reshape(3, 100),
    np.linspace(-1, 1, 7, dtype=np.float32),
    np.asarray(3.5),
    np.zeros((0, 3), np.int32),
    np.asfortranarray(np.arange(12, dtype=np.int64).reshape(3, 4)),
    np.arange(5, dtype='>i4'),
    np.asarray([True, False]),
])
def test_plain_arrays_come_back_exactly_and_writable(array):
  back = npy.loads(_saved(array))
  assert back.dtype == array.dtype and back.shape == array.shape
  np.testing.assert_array_equal(back, array)
  assert back.flags.writeable


def test_header_of_a_large_format_version(tmp_path):
  array = np.arange(6, dtype=np.uint8)
  path = tmp_path / 'v2.npy'
  with open(path, 'wb') as f:
    np.lib.format.write_array(f, array, version=(2, 0))
  np.testing.assert_array_equal(npy.load(str(path)), array)


def test_other_files_are_refused():
  data = _saved(np.arange(10, dtype=np.int32))
  with pytest.raises(ValueError, match='truncated'):
    npy.loads(data[:-4])
  with pytest.raises(ValueError, match='magic'):
    npy.loads(b'PK\x03\x04' + data[4:])
  with pytest.raises(ValueError, match='objects|plain'):
    npy.loads(_saved(np.asarray([{'a': 1}], dtype=object), allow_pickle=True))
  with pytest.raises(ValueError, match='plain'):
    npy.loads(_saved(np.zeros(2, dtype=[('x', np.int8), ('y', np.float32)])))


def test_reads_use_no_python_parser(monkeypatch):
  def refuse(*args, **kwargs):
    raise AssertionError('ast used')
  monkeypatch.setattr(ast, 'parse', refuse)
  monkeypatch.setattr(ast, 'literal_eval', refuse)
  array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
  np.testing.assert_array_equal(npy.loads(_saved(array)), array)


def test_reads_beside_a_thread_parsing_python():
  """The failure this module exists for: np.load here failed within seconds."""
  data = _saved(np.zeros((4, 8, 8, 4), np.uint8))
  source = inspect.getsource(np.lib.format) * 4
  failures = []

  def read():
    try:
      for _ in range(3000):
        npy.loads(data)
    except Exception as e:  # pylint: disable=broad-except
      failures.append(repr(e))

  readers = [threading.Thread(target=read) for _ in range(4)]
  parser = threading.Thread(target=lambda: [ast.parse(source) for _ in range(20)])
  for t in readers + [parser]:
    t.start()
  for t in readers + [parser]:
    t.join()
  assert not failures, failures[:2]
