"""Runs one stage of the pipeline from a config file.

python -m cvision.main --config=experiments/<name>.py [--config.a.b=v] [--workdir=DIR]
"""
import importlib
import os
import re

import jax
from absl import app, flags, logging
from ml_collections import config_flags

from cvision import config_schema
from cvision.train_lib import sharding

STAGES = ('codec', 'codec_eval', 'encode', 'decode', 'benchmark', 'pastfuture',
          'pastfuture_benchmark', 'classify', 'classify_benchmark')

_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file.',
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None,
                               'Where checkpoints, metrics and outputs go '
                               '(default: runs/<config file name>).')
_MULTIHOST = flags.DEFINE_bool('multihost', False,
                               'Call jax.distributed.initialize() (TPU VM pods, SLURM).')


def default_workdir(config_path: str) -> str:
  """runs/<config name>, or runs/<config name>_<arg> for a variant `file.py:arg`."""
  path, _, arg = config_path.partition(':')
  name = os.path.splitext(os.path.basename(path))[0]
  if arg:
    name += '_' + re.sub(r'[^A-Za-z0-9_.-]+', '_', arg)
  return os.path.join('runs', name)


def main(argv):
  del argv
  if _MULTIHOST.value:
    jax.distributed.initialize()
  config = _CONFIG.value
  config_schema.check(config)
  if config.stage not in STAGES:
    raise app.UsageError(f'config.stage must be one of {STAGES}, got {config.stage!r}')
  workdir = _WORKDIR.value or default_workdir(
      config_flags.get_config_filename(flags.FLAGS['config']))
  os.makedirs(workdir, exist_ok=True)
  logging.info('stage %s, workdir %s, %d processes, %d devices', config.stage, workdir,
               jax.process_count(), jax.device_count())
  mesh = sharding.make_mesh(config.get('mesh', (('data', -1),)))
  stage = importlib.import_module(f'cvision.trainers.{config.stage}')
  stage.run(config, workdir, mesh)


if __name__ == '__main__':
  flags.mark_flag_as_required('config')
  app.run(main)
