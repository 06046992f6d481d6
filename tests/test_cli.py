"""Every experiment config loads; the CLI runs the codec stage and refuses config typos."""
import glob
import json
import os
import subprocess
import sys

import pytest

import conftest
from cvision import configs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'experiments', '*.py')))


@pytest.mark.parametrize('path', CONFIGS, ids=os.path.basename)
def test_config_loads_and_documents_its_command(path):
  config = configs.load(path)
  assert config.stage in configs.STAGES
  doc = open(path).read().split('"""')[1]
  assert 'python -m cvision.main --config=experiments/' in doc


def _cli(*args, cwd):
  env = dict(os.environ, PYTHONPATH=ROOT, XLA_FLAGS=conftest.FAST_COMPILE)  # one device
  return subprocess.run([sys.executable, '-m', 'cvision.main', *args], cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=600)


@pytest.fixture(scope='module')
def codec_workdir(tmp_path_factory):
  """A codec trained for 2 steps through the CLI (then evaluated with JPEG only)."""
  workdir = tmp_path_factory.mktemp('codec')
  config = os.path.join(ROOT, 'experiments', 'codec_quick.py')
  result = _cli(f'--config={config}', f'--workdir={workdir}', '--config.train.steps=2',
                '--config.data.batch_size=2', '--config.data.num_tours=2',
                '--config.data.frames=4', '--config.eval.frames=8',
                '--config.eval.classic_codecs=("jpeg",)', cwd=workdir)
  assert result.returncode == 0, result.stderr[-3000:]
  return workdir


def test_codec_stage_two_steps_from_cli(codec_workdir):
  assert os.path.exists(codec_workdir / 'checkpoints' / '2')
  assert os.path.exists(codec_workdir / 'eval' / 'rd_curve.png')
  results = json.loads((codec_workdir / 'eval' / 'rd_points.json').read_text())
  assert set(results['clips']) == {'carphone_pristine.mp4', 'bikes.mp4', 'bigbuckbunny.mp4'}
  assert results['summary']['neural']['cr'] == pytest.approx(256.0)
  assert 'jpeg@max_cr' in results['summary']
  assert 'neural' in (codec_workdir / 'eval' / 'rd_table.md').read_text()


def test_encode_then_decode_from_cli(codec_workdir, tmp_path):
  config = os.path.join(ROOT, 'experiments', 'encode_quick.py')
  store = tmp_path / 'codes'
  result = _cli(f'--config={config}', f'--workdir={tmp_path}',
                f'--config.codec.workdir={codec_workdir}', f'--config.encode.store={store}',
                '--config.encode.videos=tours', '--config.encode.tour_seconds=2',
                '--config.encode.num_tours=1', cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'tour_001000' in (tmp_path / 'encode_report.md').read_text()
  result = _cli(f'--config={config}:decode', f'--workdir={tmp_path}',
                f'--config.codec.workdir={codec_workdir}', f'--config.decode.store={store}',
                '--config.decode.stop=6', cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  assert os.path.exists(tmp_path / 'decoded' / 'tour_001000_0_6.mp4')


def test_benchmark_prints_ratios(codec_workdir, tmp_path):
  config = os.path.join(ROOT, 'experiments', 'benchmark_codec_speed.py')
  result = _cli(f'--config={config}', f'--workdir={tmp_path}',
                f'--config.codec.workdir={codec_workdir}',
                '--config.benchmark.frames=8', '--config.benchmark.repeats=1', cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  speed = json.loads((tmp_path / 'codec_speed.json').read_text())
  assert speed['neural codec']['encode_fps'] > 0
  assert 'codec encode / this' in result.stdout




def test_pastfuture_smoke_from_cli_then_resume(codec_workdir, tmp_path):
  """Two updates per memory on seconds-long tours, in the default workdir; a second run
  reuses the codes and the results instead of redoing them."""
  config = os.path.join(ROOT, 'experiments', 'walkingtours_pastfuture.py')
  args = (f'--config={config}:smoke', f'--config.codec.workdir={codec_workdir}')
  result = _cli(*args, cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  workdir = tmp_path / 'runs' / 'walkingtours_pastfuture_smoke'  # the default workdir
  table = (workdir / 'results.md').read_text()
  assert all(f'| {memory} |' in table for memory in ('slot', 'lstm', 'none'))
  assert os.path.exists(workdir / 'accuracy_by_position.png')
  results = json.loads((workdir / 'results.json').read_text())
  assert 0 <= results['slot']['test']['accuracy'] <= 1
  assert len(results['slot']['test']['by_position']) == 10
  store = json.loads((workdir / 'codes' / 'manifest.json').read_text())
  assert len(os.listdir(workdir / 'codes' / 'videos')) == 4  # 2 train, 1 val, 1 test
  assert store['codec']['fingerprint']
  result = _cli(*args, cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'already in the store' in (workdir / 'log.txt').read_text()
  assert 'already evaluated' in result.stdout
  before = (workdir / 'results.json').read_text()
  result = _cli(*args, '--config.task.crop=6', cwd=tmp_path)  # another run, same workdir
  assert result.returncode == 2 and 'task differ' in result.stderr
  assert (workdir / 'results.json').read_text() == before


def test_pastfuture_benchmark_from_cli(codec_workdir, tmp_path):
  config = os.path.join(ROOT, 'experiments', 'benchmark_pastfuture_1h.py')
  result = _cli(f'--config={config}', f'--workdir={tmp_path}',
                f'--config.codec.workdir={codec_workdir}', '--config.data.tour_seconds=12',
                '--config.data.chunk_seconds=2', '--config.task.chunks_per_update=2',
                '--config.benchmark.epochs=1', '--config.benchmark.probe_frames=24',
                cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  text = (tmp_path / 'benchmark.md').read_text()
  assert '| raw RGB | 14,745,600 |' in text  # 300 frames of 128x128x3
  assert 'H.264, CRF' in text and 'peak RSS' in text and 'time per tour-epoch' in text
  assert os.path.getsize(tmp_path / 'tour_000000.h264') > 0


def _classify_results(workdir):
  results = json.loads((workdir / 'results.json').read_text())
  assert 0 <= results['test']['top1'] <= results['test']['top5'] <= 100
  assert (workdir / 'results.md').read_text().startswith('| input | CR |')
  return results


def test_classify_rgb_smoke_from_cli(tmp_path):
  config = os.path.join(ROOT, 'experiments', 'classify_rgb_quick.py')
  result = _cli(f'--config={config}:smoke', cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  results = _classify_results(tmp_path / 'runs' / 'classify_rgb_quick_smoke')
  assert results['input'] == 'rgb' and results['input_shape'] == [16, 56, 56, 3]
  assert results['test']['videos'] == 4 and results['level'] == 'video'


def test_classify_codes_and_reconstructions_smoke_from_cli(codec_workdir, tmp_path):
  """CR 256 codes (the 128x128 test codec: 1/4 of the frames, 1/8 of the side) at video
  level, then their reconstructions at frame level, sharing the codes store."""
  config = os.path.join(ROOT, 'experiments', 'classify_codes_cr256_quick.py')
  common = (f'--config.codec.workdir={codec_workdir}', '--config.data.size=128',
            '--config.data.crop=112', f'--config.data.store={tmp_path / "codes"}')
  result = _cli(f'--config={config}:smoke', f'--workdir={tmp_path / "codes_run"}', *common,
                cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  results = _classify_results(tmp_path / 'codes_run')
  assert results['input'] == 'codes' and results['cr'] == 256
  assert results['input_shape'] == [4, 14, 14, 256]  # 4 codebooks, one-hot over 64 entries
  result = _cli(f'--config={config}:smoke,recon,frames', f'--workdir={tmp_path / "recon_run"}',
                *common, cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  results = _classify_results(tmp_path / 'recon_run')
  assert results['input'] == 'recon' and results['level'] == 'frame'
  assert results['input_shape'] == [16, 112, 112, 3] and 'top1_std' in results['test']


def test_classify_codes_cr30_frame_level_smoke_from_cli(tmp_path):
  codec = tmp_path / 'codec'
  result = _cli(f"--config={os.path.join(ROOT, configs.codec.SMALL_CR30['config'])}",
                f'--workdir={codec}', '--config.train.steps=2', '--config.data.num_tours=2',
                '--config.data.frames=4', '--config.eval.after_training=False', cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  config = os.path.join(ROOT, 'experiments', 'classify_codes_cr30_quick.py')
  result = _cli(f'--config={config}:smoke,frames', f'--workdir={tmp_path / "run"}',
                f'--config.codec.workdir={codec}', cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  results = _classify_results(tmp_path / 'run')
  assert results['cr'] == 32 and results['input_shape'] == [16, 14, 14, 128]  # 2 x 64, one-hot


def test_classify_benchmark_prints_ratios(codec_workdir, tmp_path):
  config = os.path.join(ROOT, 'experiments', 'benchmark_classify.py')
  result = _cli(f'--config={config}:smoke', f'--workdir={tmp_path}',
                f'--config.codec.workdir={codec_workdir}', cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads((tmp_path / 'classify_benchmark.json').read_text())
  for side in ('rgb', 'codes'):
    assert results[side]['train_step_s'] > 0 and results[side]['peak_bytes'] > 0
  assert results['pipeline']['codes_clips_per_s'] > 0
  assert results['planned_memory'][0]['rgb_bytes'] > results['planned_memory'][0]['codes_bytes']
  assert 'RGB / codes' in result.stdout and '| S3D train step (s) |' in result.stdout


def _one_line_error(result, *words):
  """Exit status 2 and one `error: ...` line naming the problem: no traceback."""
  assert result.returncode == 2, result.stderr[-3000:]
  lines = [l for l in result.stderr.splitlines() if l.strip()]
  errors = [l for l in lines if l.startswith('error: ')]
  assert len(errors) == 1 and 'Traceback' not in result.stderr, result.stderr[-3000:]
  assert all(w in errors[0] for w in words), errors[0]


def test_a_config_typo_is_one_line_and_status_2(tmp_path):
  config = os.path.join(ROOT, 'experiments', 'codec_quick.py')
  _one_line_error(_cli(f'--config={config}', '--config.train.stpes=2', cwd=tmp_path),
                  'stpes', 'steps')
  _one_line_error(_cli(f'--config={config}:smal', cwd=tmp_path), "unknown variant 'smal'")
  _one_line_error(_cli('--config=experiments/nope.py', cwd=tmp_path), 'experiments/nope.py')
  assert not (tmp_path / 'runs').exists()  # nothing was started


def test_a_missing_folder_is_one_line_and_status_2(tmp_path):
  config = os.path.join(ROOT, 'experiments', 'classify_rgb_quick.py')
  result = _cli(f'--config={config}:smoke', '--config.data.source=/no/such/folder',
                f'--workdir={tmp_path / "run"}', cwd=tmp_path)
  _one_line_error(result, '/no/such/folder/train')
  assert 'Traceback' in (tmp_path / 'run' / 'log.txt').read_text()  # kept for a bug report


def test_an_empty_video_is_one_line_and_status_2(tmp_path):
  (tmp_path / 'videos').mkdir()
  (tmp_path / 'videos' / 'empty.mp4').write_bytes(b'')
  config = os.path.join(ROOT, 'experiments', 'codec_quick.py')
  result = _cli(f'--config={config}:small', f'--workdir={tmp_path / "run"}',
                '--config.data.source=folder', f'--config.data.path={tmp_path / "videos"}',
                cwd=tmp_path)
  _one_line_error(result, 'empty', 'empty.mp4')
  assert not (tmp_path / 'run' / 'checkpoints' / '100').exists()
