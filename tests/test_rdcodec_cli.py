"""The rdcodec stage, `compress` and `decompress` end to end from the command line."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import conftest
from cvision import trained_rdcodec
from cvision.coding import video as video_coding
from cvision.data import video_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_CONFIG = '''
from cvision.configs import rdcodec

def get_config(arg=None):
  c = rdcodec.quick('steps=2')
  c.data.update(num_tours=2, tour_seconds=8.0, frames=2, size=32, crop=16, batch_size=2,
                workers=1)
  c.model.update(width=8, res_blocks=1, latent_channels=4, levels=4)
  c.prior.update(features=8, layers=2)
  c.train.update(log_every=1, ckpt_every=2)
  c.eval.update(frames=4, size=32, procedural_clips=2, classic_codecs=('h264',))
  return c
'''


def _run(module, *args, cwd):
  env = dict(os.environ, PYTHONPATH=ROOT, XLA_FLAGS=conftest.FAST_COMPILE)  # one device
  return subprocess.run([sys.executable, '-m', module, *args], cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=600)


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
  """An RD codec trained for 2 steps by the rdcodec stage, then evaluated."""
  folder = tmp_path_factory.mktemp('rdcodec')
  (folder / 'tiny.py').write_text(TINY_CONFIG)
  result = _run('cvision.main', f'--config={folder / "tiny.py"}',
                f'--workdir={folder / "run"}', cwd=folder)
  assert result.returncode == 0, result.stderr[-3000:]
  return folder / 'run'


def test_stage_trains_and_evaluates_real_bitstreams(workdir):
  results = json.loads((workdir / 'eval' / 'rdcodec_eval.json').read_text())
  assert set(results['clips']) == {'carphone_pristine.mp4', 'bikes.mp4', 'bigbuckbunny.mp4'}
  assert results['roundtrip'] == dict(checked=5, exact=5)
  for point in results['clips'].values():
    assert point['bytes'] > point['header_bytes'] > 0
    assert point['bpp'] == pytest.approx(8 * point['bytes'] / (4 * 32 * 32))
  if results['classic']:
    assert [p['crf'] for p in results['classic']['h264']][:2] == [12, 18]


def test_compress_then_decompress_cli(workdir, tmp_path):
  frames = np.random.default_rng(0).integers(0, 255, (5, 36, 44, 3), np.uint8)
  video_io.write_video(str(tmp_path / 'in.mp4'), frames)
  result = _run('cvision.compress', f'--workdir={workdir}', 'in.mp4', 'out.cvz', cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  assert '5 frames' in result.stdout
  result = _run('cvision.decompress', f'--workdir={workdir}', 'out.cvz', 'back.npy',
                cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  back = np.load(tmp_path / 'back.npy')
  codec = trained_rdcodec.load(str(workdir))
  expected = np.stack(list(video_coding.decompress(
      codec, (tmp_path / 'out.cvz').read_bytes())))
  assert back.shape == (5, 36, 44, 3)
  np.testing.assert_array_equal(back, expected)
  result = _run('cvision.decompress', f'--workdir={workdir}', 'out.cvz', 'back.mp4',
                cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  probed = video_io.probe(str(tmp_path / 'back.mp4'))
  assert (probed['frames'], probed['width'], probed['height']) == (5, 44, 36)
  # A truncated file: one line naming the problem, status 2, and no output file at all.
  data = (tmp_path / 'out.cvz').read_bytes()
  (tmp_path / 'cut.cvz').write_bytes(data[:len(data) - 5])
  result = _run('cvision.decompress', f'--workdir={workdir}', 'cut.cvz', 'cut.npy',
                cwd=tmp_path)
  assert result.returncode == 2 and 'error:' in result.stderr and 'cut.cvz' in result.stderr
  assert not any(p.name.startswith('cut.npy') for p in tmp_path.iterdir())
  result = _run('cvision.compress', f'--workdir={workdir}', 'missing.mp4', 'x.cvz',
                cwd=tmp_path)
  assert result.returncode == 2 and 'not found' in result.stderr
