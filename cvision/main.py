"""Runs one stage of the pipeline from a config file.

python -m cvision.main --config=experiments/<name>.py[:variant] [--config.a.b=v] [--workdir=DIR]

The terminal shows the stage's plan, a progress bar per phase, warnings and the final
table; every log line (libraries' included) goes to `<workdir>/log.txt`
(`--alsologtostderr` shows them here too). A problem the user can fix ends the run with
one line and exit status 2; its traceback is in the log.
"""
import functools
import importlib
import os
import re
import sys

from cvision import tensorflow_cpu  # pylint: disable=unused-import  (first: TF stays quiet)

import jax  # pylint: disable=g-import-not-at-top,wrong-import-order
from absl import app, flags, logging  # pylint: disable=g-import-not-at-top,wrong-import-order
from ml_collections import config_flags  # pylint: disable=g-import-not-at-top

from cvision import configs, errors, provision  # pylint: disable=g-import-not-at-top
from cvision.train_lib import multihost, sharding  # pylint: disable=g-import-not-at-top

FLAGS = flags.FLAGS
_CONFIG = config_flags.DEFINE_config_file('config', None, 'Experiment config file '
                                          '(path.py or path.py:variant).', lock_config=True)
_WORKDIR = flags.DEFINE_string('workdir', None,
                               'Where checkpoints, metrics, outputs and log.txt go '
                               '(default: runs/<config file name>).')
_MULTIHOST = flags.DEFINE_bool('multihost', False,
                               'Join the other processes of the run through '
                               'jax.distributed.initialize() (TPU VM pods, SLURM, clusters).')
_COORDINATOR = flags.DEFINE_string('coordinator_address', None,
                                   'With --multihost: host:port of process 0 (default: '
                                   'found by JAX on TPU VMs and under SLURM).')
_NUM_PROCESSES = flags.DEFINE_integer('num_processes', None,
                                      'With --multihost: how many processes the run has.')
_PROCESS_ID = flags.DEFINE_integer('process_id', None,
                                   'With --multihost: this process\'s index, 0 to '
                                   'num_processes - 1.')


def default_workdir(config_path: str) -> str:
  """runs/<config name>, or runs/<config name>_<arg> for a variant `file.py:arg`."""
  path, _, arg = config_path.partition(':')
  name = os.path.splitext(os.path.basename(path))[0]
  if arg:
    name += '_' + re.sub(r'[^A-Za-z0-9_.-]+', '_', arg)
  return os.path.join('runs', name)


def _log_to_workdir(workdir: str):
  """Every log line to `<workdir>/log.txt` (`log.<i>.txt` on host i > 0 of a pod, which may
  share the workdir); only warnings and errors to the terminal."""
  index = jax.process_index()
  name = f'log.{index}.txt' if index else 'log.txt'
  handler = logging.get_absl_handler().python_handler
  handler.stream = open(os.path.join(workdir, name), 'a', encoding='utf-8')
  if not FLAGS['stderrthreshold'].present:
    FLAGS.stderrthreshold = 'warning'
  logging.info('command: %s', ' '.join(sys.argv))


def _config_file_first(argv: list[str]) -> list[str]:
  """`argv` with the --config file resolved (`configs.resolve_path`), or a clear stop."""
  argv = list(argv)
  for i, arg in enumerate(argv):
    if arg.startswith('--config='):
      path, colon, variant = arg[len('--config='):].partition(':')
      resolved = configs.resolve_path(path)
      if not os.path.isfile(resolved):
        errors.stop(errors.MissingInput(f'config file not found: {path}'))
      argv[i] = f'--config={resolved}{colon}{variant}'
  return argv


def parse_flags(argv):
  """absl's flag parsing; a config typo or a bad flag is one line and exit status 2."""
  try:
    return FLAGS(_config_file_first(argv))
  except (AttributeError, KeyError) as e:  # an override of a field the config lacks
    while e.args and isinstance(e.args[0], BaseException):
      e = e.args[0]  # ml_collections wraps the KeyError that says what it would accept
    errors.stop(errors.ConfigError(f'a --config override names an unknown field: '
                             f'{e.args[0] if e.args else e}'))
  except (flags.Error, errors.UserError, ValueError, TypeError) as e:
    # A variant's error comes wrapped with the config file's traceback: keep its last line.
    raised = re.findall(r'^\w+(?:Error|Exception): (.*)$', str(e), re.MULTILINE)
    errors.stop(errors.ConfigError(raised[-1] if raised else str(e)))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
  explicit = [f'--{f.name}' for f in (_COORDINATOR, _NUM_PROCESSES, _PROCESS_ID)
              if f.present]
  if explicit and not _MULTIHOST.value:
    raise app.UsageError(f'{", ".join(explicit)}: only with --multihost')
  if _MULTIHOST.value:
    multihost.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  try:
    config = configs.check(_CONFIG.value)
  except errors.UserError as e:
    errors.stop(e)
  workdir = _WORKDIR.value or default_workdir(
      config_flags.get_config_filename(FLAGS['config']))
  os.makedirs(workdir, exist_ok=True)
  _log_to_workdir(workdir)
  try:
    mesh = sharding.make_mesh(config.mesh)
    print(f'{config.stage} in {workdir} on {jax.device_count()} {jax.default_backend()} '
          f'device(s), {jax.process_count()} process(es), mesh {dict(mesh.shape)}; '
          f'log: {os.path.join(workdir, "log.txt")}')
    logging.info('config:\n%s', config)
    stage = importlib.import_module(f'cvision.trainers.{config.stage}')
    load_codec = provision.codec_loader(config, workdir, mesh)
    extra = {}
    if 'augmenter' in config:  # stages that can use the latent augmenter
      extra['load_augmenter'] = provision.augmenter_loader(config, workdir, mesh, load_codec)
    if 'rdcodec' in config:  # stages that use a trained RD codec
      extra['load_rdcodec'] = provision.rdcodec_loader(config, workdir, mesh)
    if 'sweep' in config:  # stages that train several RD codecs
      extra['train_rdcodec'] = functools.partial(provision.train_rdcodec, mesh=mesh)
    stage.run(config, workdir, mesh, load_codec, **extra)
  except errors.UserError as e:
    logging.info('stopped by a problem in the input or config', exc_info=True)
    errors.stop(e)


if __name__ == '__main__':
  flags.mark_flag_as_required('config')
  app.run(main, flags_parser=parse_flags)
