"""Configs: each stage has its own schema; typos are errors wherever a config is loaded."""
import jax
import pytest

from cvision import configs, errors, provision
from cvision.train_lib import sharding


def test_each_stage_knows_only_its_own_fields():
  config = configs.classify.quick('rgb', None, None)
  config.model.codebooks = 4  # a codec field: meaningless to S3D
  with pytest.raises(errors.ConfigError, match=r'model\.codebooks'):
    configs.check(config)
  config = configs.base('pastfuture')
  config.data.level = 'frame'  # a classify field
  with pytest.raises(errors.ConfigError, match=r'data\.level'):
    configs.check(config)
  config = configs.base('codec')
  config.stage = 'codex'
  with pytest.raises(errors.ConfigError, match="config.stage must be one of"):
    configs.check(config)


def test_left_out_fields_come_from_the_stage_base():
  config = configs.base('classify')
  del config.train['grad_clip']
  del config['eval']
  checked = configs.check(config)
  assert checked.train.grad_clip == 1.0 and checked.eval.crops == 3


def test_a_typo_in_a_config_file_is_named(tmp_path):
  experiment = tmp_path / 'typo.py'
  experiment.write_text('from cvision.configs import codec\n\n\ndef get_config(arg=None):\n'
                        '  c = codec.base()\n  c.train.stpes = 3\n  return c\n')
  with pytest.raises(errors.ConfigError, match=r'train\.stpes'):
    configs.load(str(experiment))
  with pytest.raises(errors.ConfigError, match="unknown variant 'smal'"):
    configs.load('experiments/codec_quick.py:smal')
  with pytest.raises(errors.MissingInput, match='config file not found'):
    configs.load('experiments/no_such_config.py')


def test_a_typo_in_a_nested_codec_config_stops_before_training(tmp_path):
  """`codec.config` is loaded and checked like the command line's config: a misspelt
  field there is an error, and nothing is trained or written."""
  experiment = tmp_path / 'codec_typo.py'
  experiment.write_text('from cvision.configs import codec\n\n\ndef get_config(arg=None):\n'
                        '  c = codec.base()\n  c.model.codebok_size = 8192\n  return c\n')
  mesh = sharding.make_mesh((('data', -1),), jax.devices()[:1])
  with pytest.raises(errors.ConfigError, match=r'model\.codebok_size'):
    provision.ensure_codec(str(tmp_path / 'codec'), str(experiment), mesh)
  assert not (tmp_path / 'codec').exists()
  with pytest.raises(errors.ConfigError, match="a 'classify' config, not a codec one"):
    provision.ensure_codec(str(tmp_path / 'codec'), 'experiments/classify_rgb_quick.py', mesh)


def test_config_paths_resolve_from_any_directory(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  assert configs.load('experiments/codec_quick.py:small').data.size == 64
