"""Codes store: streaming encode equals whole-video encode, windows decode exactly,
writes are atomic, and a store from another codec or a corrupt chunk is refused."""
import dataclasses
import json
import os
import shutil
import subprocess
import sys

import ml_collections
import numpy as np
import pytest

from cvision import atomic_files
from cvision import codec_io
from cvision.data import codes_store, sources, tours

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _video(frames=40):
  return tours.Tour(seed=4, size=32, world_size=256).frames(0, frames)


def _store(tmp_path, codec, chunk_frames=4):
  return codes_store.CodesStore.open(str(tmp_path / 'codes'),
                                     codes_store.codec_manifest(codec, chunk_frames),
                                     create=True)


def test_streaming_encode_equals_whole_video(tiny_codec):
  video = _video(38)  # not a multiple of the window: the tail is encoded too
  whole = tiny_codec.encode(video[None])[0]
  streamed = np.concatenate(list(codec_io.encode_stream(tiny_codec, iter(video), window=8)))
  assert streamed.shape == whole.shape
  assert (streamed == whole).mean() > 0.999


def test_window_read_and_decode_equal_full(tmp_path, tiny_codec):
  store = _store(tmp_path, tiny_codec)
  codes = tiny_codec.encode(_video()[None])[0]
  with store.writer('v', fps=25.0) as writer:
    for i in range(0, len(codes), 3):  # uneven appends across chunk boundaries
      writer.append(codes[i:i + 3])
  np.testing.assert_array_equal(store.read('v'), codes)
  np.testing.assert_array_equal(store.read('v', 5, 13), codes[5:13])
  full = tiny_codec.decode(codes[None])[0]
  t = tiny_codec.model.time_factor
  window = codec_io.decode_window(tiny_codec, store, 'v', 6, 11)
  np.testing.assert_allclose(window, full[6 * t:11 * t], atol=1e-5)


def test_reads_only_the_chunks_it_needs(tmp_path, tiny_codec, monkeypatch):
  store = _store(tmp_path, tiny_codec)
  with store.writer('v') as writer:
    writer.append(np.zeros((20, 8, 8, 2), np.int32))
  loaded = []
  original = store._load_chunk
  monkeypatch.setattr(store, '_load_chunk',
                      lambda vid, chunk: loaded.append(chunk['file']) or original(vid, chunk))
  store.read('v', 9, 11)
  assert len(loaded) == 1


def test_killed_write_leaves_nothing_visible(tmp_path, tiny_codec):
  store = _store(tmp_path, tiny_codec)
  with store.writer('v') as writer:
    writer.append(np.ones((8, 8, 8, 2), np.int32))
  with pytest.raises(KeyboardInterrupt):
    with store.writer('v') as writer:  # a re-encode killed half way
      writer.append(np.zeros((12, 8, 8, 2), np.int32))
      raise KeyboardInterrupt
  half = store.writer('w')  # never committed: as if the process died
  half.append(np.zeros((12, 8, 8, 2), np.int32))
  assert store.videos() == ['v']
  np.testing.assert_array_equal(store.read('v'), np.ones((8, 8, 8, 2)))
  with store.writer('v') as writer:  # the next complete write cleans up orphans
    writer.append(np.full((4, 8, 8, 2), 2, np.int32))
  files = os.listdir(tmp_path / 'codes' / 'videos' / 'v')
  assert len([f for f in files if f.startswith('chunk-')]) == 1


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path):
  path = tmp_path / 'results.json'
  atomic_files.write_json(str(path), {'a': 1})
  with pytest.raises(RuntimeError):
    with atomic_files.replacing(str(path), '.json') as tmp:
      with open(tmp, 'w') as f:
        f.write('{"a": 2, "half')
      raise RuntimeError('killed mid-write')
  assert json.loads(path.read_text()) == {'a': 1}
  assert os.listdir(tmp_path) == ['results.json']
  with atomic_files.replacing(str(path)) as tmp:
    with open(tmp, 'w') as f:
      f.write('{"a": 3}')
  assert json.loads(path.read_text()) == {'a': 3}
  assert os.listdir(tmp_path) == ['results.json']


def test_other_codec_is_refused(tmp_path, tiny_codec):
  _store(tmp_path, tiny_codec)
  other = dataclasses.replace(tiny_codec, fingerprint='0' * 32)
  with pytest.raises(codes_store.CodesStoreError, match='written by codec'):
    codes_store.CodesStore.open(str(tmp_path / 'codes'), codes_store.codec_manifest(other))


def test_corrupt_chunk_and_missing_video_are_clear_errors(tmp_path, tiny_codec):
  store = _store(tmp_path, tiny_codec)
  with store.writer('v') as writer:
    writer.append(np.zeros((8, 8, 8, 2), np.int32))
  chunk = store.info('v')['chunks'][1]['file']
  path = tmp_path / 'codes' / 'videos' / 'v' / chunk
  path.write_bytes(path.read_bytes()[:-3] + b'xyz')
  store.read('v', 0, 4)  # the intact chunk still reads
  with pytest.raises(codes_store.CodesStoreError, match='corrupt'):
    store.read('v', 0, 8)
  with pytest.raises(codes_store.CodesStoreError, match='not in the codes store'):
    store.read('nope')
  with pytest.raises(codes_store.CodesStoreError, match='no codes store'):
    codes_store.CodesStore.open(str(tmp_path / 'elsewhere'))


def test_encode_all_reports_sizes(tmp_path, tiny_codec):
  config = ml_collections.ConfigDict(dict(videos='tours', num_tours=1, tour_seconds=1.6,
                                          tour_seed=3, window=8, chunk_frames=8,
                                          frame_stride=1))
  report = codec_io.encode_all(tiny_codec, str(tmp_path / 'codes'),
                               sources.from_encode_config(config, tiny_codec.size), window=8,
                               chunk_frames=8)
  entry = report['videos']['tour_000003']
  assert entry['frames'] == 40
  assert entry['raw_rgb_bytes'] == 40 * 32 * 32 * 3
  store = codes_store.CodesStore.open(str(tmp_path / 'codes'))
  assert store.info('tour_000003')['code_frames'] == 20
  assert json.loads((tmp_path / 'codes' / 'manifest.json').read_text())['codec'][
      'fingerprint'] == tiny_codec.fingerprint


def _write(store, vid, value=0, frames=4):
  with store.writer(vid) as writer:
    writer.append(np.full((frames, 8, 8, 2), value, np.int32))


def test_index_lists_without_listing_folders(tmp_path, tiny_codec, monkeypatch):
  store = _store(tmp_path, tiny_codec)
  for i in range(5):
    _write(store, f'v{i}', i)
  store.compact_index()
  assert len(os.listdir(tmp_path / 'codes' / 'index')) == 1
  opened = codes_store.CodesStore.open(str(tmp_path / 'codes'))
  listed = []
  original = codes_store.fs.listdir
  monkeypatch.setattr(codes_store.fs, 'listdir',
                      lambda path: listed.append(path) or original(path))
  assert opened.videos() == [f'v{i}' for i in range(5)]
  assert listed == [str(tmp_path / 'codes' / 'index')]  # not videos/, nor a video folder
  assert opened.code_frames('v3') == 4
  assert opened.disk_bytes() == sum(opened.disk_bytes(f'v{i}') for i in range(5)) > 0


def test_a_writer_merges_its_index_lines(tmp_path, tiny_codec, monkeypatch):
  monkeypatch.setattr(codes_store, 'INDEX_MERGE', 3)
  store = _store(tmp_path, tiny_codec)
  for i in range(7):
    _write(store, f'v{i}')
  _write(store, 'v2', 5)  # a rewrite: listed once
  names = sorted(os.listdir(tmp_path / 'codes' / 'index'))
  assert [n.split('-')[0] for n in names] == ['commit', 'commit', 'merged', 'merged']
  assert codes_store.CodesStore.open(str(tmp_path / 'codes')).videos() == [
      f'v{i}' for i in range(7)]


def test_a_commit_missing_from_the_index_is_recovered(tmp_path, tiny_codec):
  store = _store(tmp_path, tiny_codec)
  _write(store, 'a')
  _write(store, 'b')
  index = tmp_path / 'codes' / 'index'
  for name in os.listdir(index):  # as if killed between video.json and its index line
    if 'b' in (index / name).read_text().split('"id": ')[1][:3]:
      os.remove(index / name)
  reopened = codes_store.CodesStore.open(str(tmp_path / 'codes'))
  assert reopened.videos() == ['a']
  assert reopened.recover('b') and not reopened.recover('c')
  assert codes_store.CodesStore.open(str(tmp_path / 'codes')).videos() == ['a', 'b']


def test_a_store_from_before_the_index_is_indexed_once(tmp_path, tiny_codec):
  store = _store(tmp_path, tiny_codec)
  _write(store, 'a')
  _write(store, 'b')
  half = store.writer('c')  # never committed
  half.append(np.zeros((4, 8, 8, 2), np.int32))
  shutil.rmtree(tmp_path / 'codes' / 'index')
  assert codes_store.CodesStore.open(str(tmp_path / 'codes')).videos() == ['a', 'b']
  assert len(os.listdir(tmp_path / 'codes' / 'index')) == 1


def test_store_on_the_in_memory_file_system(tiny_codec):
  """`ram://` stands in for a bucket: nothing assumes a local path."""
  path = f'ram://codes-{os.getpid()}'
  store = codes_store.CodesStore.open(path, codes_store.codec_manifest(tiny_codec, 4),
                                      create=True)
  codes = np.random.default_rng(0).integers(0, 16, (10, 8, 8, 2))
  with store.writer('v') as writer:
    writer.append(codes)
  _write(store, 'w')
  store.compact_index()
  opened = codes_store.CodesStore.open(path, codes_store.codec_manifest(tiny_codec, 4))
  assert opened.videos() == ['v', 'w']
  np.testing.assert_array_equal(opened.read('v', 3, 9), codes[3:9])
  assert not any('tmp' in n for n in codes_store.fs.listdir(path + '/index'))
  with pytest.raises(codes_store.CodesStoreError, match='not in the codes store'):
    opened.info('missing')  # gfile's NotFoundError means the same as a local one


def test_a_local_store_is_read_without_tensorflow(tmp_path, tiny_codec):
  """A notebook or tool reading a local store does not pay TensorFlow's import."""
  store = _store(tmp_path, tiny_codec)
  _write(store, 'v', 3, frames=6)
  store.compact_index()
  script = (
      'import sys\n'
      'from cvision.data import codes_store\n'
      f'store = codes_store.CodesStore.open({str(tmp_path / "codes")!r})\n'
      'assert store.videos() == ["v"], store.videos()\n'
      'assert (store.read("v", 1, 5) == 3).all()\n'
      'assert "tensorflow" not in sys.modules\n')
  subprocess.run([sys.executable, '-c', script], check=True,
                 env=dict(os.environ, PYTHONPATH=ROOT))
