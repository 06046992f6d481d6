"""Every experiment config loads; the CLI runs the codec stage and refuses config typos."""
import glob
import os
import subprocess
import sys

import pytest

from cvision import config_schema
from cvision.trainers import encode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'experiments', '*.py')))


@pytest.mark.parametrize('path', CONFIGS, ids=os.path.basename)
def test_config_loads_and_documents_its_command(path):
  config = encode.load_config(path)
  config_schema.check(config)
  assert config.stage in ('codec', 'codec_eval', 'encode', 'decode', 'benchmark')
  doc = open(path).read().split('"""')[1]
  assert 'python -m cvision.main --config=experiments/' in doc


def _cli(*args, cwd):
  env = dict(os.environ, PYTHONPATH=ROOT, XLA_FLAGS='')
  return subprocess.run([sys.executable, '-m', 'cvision.main', *args], cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=600)


def test_codec_stage_two_steps_from_cli(tmp_path):
  config = os.path.join(ROOT, 'experiments', 'codec_quick.py')
  result = _cli(f'--config={config}', f'--workdir={tmp_path}', '--config.train.steps=2',
                '--config.data.batch_size=2', '--config.data.num_tours=2',
                '--config.data.frames=4', '--config.eval.frames=8',
                '--config.eval.classic_codecs=("jpeg",)', cwd=tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  assert os.path.exists(tmp_path / 'checkpoints' / '2')
  assert os.path.exists(tmp_path / 'eval' / 'rd_points.json')
  assert 'neural' in (tmp_path / 'eval' / 'rd_table.md').read_text()


def test_config_typo_is_refused(tmp_path):
  config = os.path.join(ROOT, 'experiments', 'codec_quick.py')
  result = _cli(f'--config={config}', '--config.train.stpes=2', cwd=tmp_path)
  assert result.returncode != 0
  assert 'stpes' in result.stderr


def test_unknown_field_in_a_config_file_is_named():
  config = encode.load_config(os.path.join(ROOT, 'experiments', 'codec_quick.py'))
  config.train.stpes = 3
  with pytest.raises(ValueError, match='train.stpes'):
    config_schema.check(config)
