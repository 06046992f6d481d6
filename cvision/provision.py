"""What a stage needs made before it runs: the trained codec its config names.

This sits above the trainers (it calls the codec trainer) so that no trainer imports
another: `main` hands each stage a `load_codec()` that returns the codec of
`config.codec`, training it first from `codec.config` when its workdir has none, or
finishing its training when it stopped part way.
"""
import functools
from typing import Callable

import ml_collections
from absl import logging

from cvision import configs, errors, trained_codec
from cvision.trainers import codec as codec_trainer


def ensure_codec(workdir: str, codec_config: str | ml_collections.ConfigDict,
                 mesh) -> trained_codec.TrainedCodec:
  """The codec in `workdir`; trained (or finished) first if needed, from `codec_config`:
  an experiment file `path.py[:variant]`, or a codec config itself."""
  if trained_codec.read_info(workdir) is None:
    if not codec_config:
      raise errors.MissingInput(f'no codec in {workdir}: train one there (the codec stage) '
                                f'or set codec.config to train it on the way')
    why = f'no codec in {workdir}'
  elif stopped := trained_codec.unfinished(workdir):
    why = f'the codec in {workdir} stopped at step {stopped[0]} of {stopped[1]}'
    if not codec_config:
      raise errors.MissingInput(f'{why}: finish it with the codec stage '
                                f'(--workdir={workdir}) or set codec.config')
  else:
    return trained_codec.load(workdir)
  source = codec_config if isinstance(codec_config, str) else 'the given codec config'
  # Checked like any config: a typo there stops the run before anything is trained.
  config = (configs.load(codec_config) if isinstance(codec_config, str)
            else configs.check(codec_config))
  if config.stage != 'codec':
    raise errors.ConfigError(f'codec.config {source} is a {config.stage!r} config, not a '
                             f'codec one')
  print(f'{why}: training it from {source} first')
  logging.info('%s: training it from %s first', why, source)
  # A workdir holding a codec other than this config describes is refused there.
  return codec_trainer.train(config, workdir, mesh)


def codec_loader(config, workdir: str, mesh) -> Callable[[], trained_codec.TrainedCodec]:
  """A `load_codec()` for a stage (made, and loaded, only if the stage calls it)."""
  if 'codec' not in config:
    def unavailable():
      raise errors.ConfigError(f'stage {config.stage!r} has no codec block')
    return unavailable
  return functools.cache(functools.partial(
      ensure_codec, trained_codec.configured_workdir(config, workdir), config.codec.config,
      mesh))
