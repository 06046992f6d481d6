"""Configs: one base config per stage, which is also its schema, and the one loader.

Every experiment file starts from its stage's base (`configs.codec.base()`, ...) and
changes what it needs. `check` refuses any field the base does not have (a misspelt
field would otherwise be ignored in silence) and fills the ones a config leaves out, so
code reads `config.block.field` and every default lives in one place. `load` reads an
experiment file (`path.py` or `path.py:variant`) and checks it: the runs a stage starts
on the way (`codec.config`) are checked exactly like the command line's.
"""
import importlib.util
import os

import ml_collections

from cvision import errors
from cvision.configs import augmenter, classify, codec, pastfuture, rdcodec

BASES = {
    'codec': codec.base,
    'codec_eval': codec.eval_base,
    'encode': codec.encode_base,
    'decode': codec.decode_base,
    'benchmark': codec.speed_base,
    'classify': classify.base,
    'classify_benchmark': classify.benchmark_base,
    'pastfuture': pastfuture.base,
    'pastfuture_benchmark': pastfuture.benchmark_base,
    'augmenter': augmenter.base,
    'augmenter_benchmark': augmenter.benchmark_base,
    'rdcodec': rdcodec.base,
    'rdcodec_sweep': rdcodec.sweep_base,
    'rdcodec_benchmark': rdcodec.benchmark_base,
}
STAGES = tuple(BASES)
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def base(stage: str) -> ml_collections.ConfigDict:
  if stage not in BASES:
    raise errors.ConfigError(f'config.stage must be one of {", ".join(STAGES)}; got {stage!r}')
  return BASES[stage]()


def check(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Raises ConfigError naming every field the stage does not know; fills the missing
  ones from the stage's base. Returns `config` (changed in place)."""
  reference = base(config.get('stage'))
  unknown = _unknown(config, reference, '')
  if unknown:
    raise errors.ConfigError(
        f'unknown config field(s) {", ".join(unknown)} for stage {config.stage!r}: misspelt? '
        f'(the fields of each stage are in cvision/configs/)')
  with config.unlocked():
    _fill(config, reference)
  return config


def _unknown(config, reference, prefix: str) -> list[str]:
  found = []
  for key, value in config.items():
    if key not in reference:
      found.append(prefix + key)
    elif isinstance(reference[key], ml_collections.ConfigDict):
      if not isinstance(value, ml_collections.ConfigDict):
        found.append(f'{prefix}{key} (a block of fields, not a value)')
      else:
        found += _unknown(value, reference[key], f'{prefix}{key}.')
  return found


def _fill(config, reference):
  for key, value in reference.items():
    if key not in config:
      config[key] = value
    elif isinstance(value, ml_collections.ConfigDict):
      _fill(config[key], value)


def resolve_path(path: str) -> str:
  """A config file path as given, or else relative to the project (so `codec.config =
  'experiments/...'` works from any directory)."""
  if os.path.exists(path) or os.path.isabs(path):
    return path
  inside = os.path.join(PROJECT_ROOT, path)
  return inside if os.path.exists(inside) else path


def load(spec: str) -> ml_collections.ConfigDict:
  """`get_config(variant)` of an experiment file `path.py[:variant]`, checked."""
  path, _, arg = spec.partition(':')
  path = resolve_path(path)
  if not os.path.isfile(path):
    raise errors.MissingInput(f'config file not found: {path}')
  module_spec = importlib.util.spec_from_file_location('experiment_config', path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  try:
    config = module.get_config(arg or None)
  except (ValueError, KeyError, AttributeError) as e:
    raise errors.ConfigError(f'{spec}: {e}') from e
  return check(config)
