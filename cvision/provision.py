"""What a stage needs made before it runs: the trained codec its config names.

This sits above the trainers (it calls the codec trainer) so that no trainer imports
another: `main` hands each stage a `load_codec()` that returns the codec of
`config.codec`, training it first from `codec.config` when its workdir has none, or
finishing its training when it stopped part way.
"""
import functools
import os
from typing import Callable

import ml_collections
from absl import logging

from cvision import configs, errors, trained_augmenter, trained_codec, trained_rdcodec
from cvision.train_lib import checkpoint, multihost
from cvision.trainers import augmenter as augmenter_trainer
from cvision.trainers import codec as codec_trainer
from cvision.trainers import rdcodec as rdcodec_trainer


def ensure_codec(workdir: str, codec_config: str | ml_collections.ConfigDict,
                 mesh) -> trained_codec.TrainedCodec:
  """The codec in `workdir`; trained (or finished) first if needed, from `codec_config`:
  an experiment file `path.py[:variant]`, or a codec config itself."""
  found = trained_codec.read_info(workdir) is not None
  stopped = found and trained_codec.unfinished(workdir)
  _read_by_every_host('codec')
  if not found:
    if not codec_config:
      raise errors.MissingInput(f'no codec in {workdir}: train one there (the codec stage) '
                                f'or set codec.config to train it on the way')
    why = f'no codec in {workdir}'
  elif stopped:
    why = f'the codec in {workdir} stopped at step {stopped[0]} of {stopped[1]}'
    if not codec_config:
      raise errors.MissingInput(f'{why}: finish it with the codec stage '
                                f'(--workdir={workdir}) or set codec.config')
  else:
    return trained_codec.load(workdir)
  config = _stage_config(codec_config, 'codec', why)
  # A workdir holding a codec other than this config describes is refused there.
  return codec_trainer.train(config, workdir, mesh)


def _stage_config(spec: str | ml_collections.ConfigDict, stage: str, why: str):
  """The config a missing model is trained from, checked like the command line's (a typo
  there stops the run before anything is trained)."""
  source = spec if isinstance(spec, str) else f'the given {stage} config'
  config = configs.load(spec) if isinstance(spec, str) else configs.check(spec)
  if config.stage != stage:
    raise errors.ConfigError(f'{stage}.config {source} is a {config.stage!r} config, not a '
                             f'{stage} one')
  print(f'{why}: training it from {source} first')
  logging.info('%s: training it from %s first', why, source)
  return config


def _read_by_every_host(what: str):
  """Waits until every host has looked at a model's workdir: training it writes there, and
  a host that looked later would decide otherwise (load it, or finish it) than the rest."""
  multihost.sync(f'provision: {what} looked at')


def _needs_training(workdir: str, info: dict | None, what: str) -> str | None:
  """None when the model `info` describes finished training in `workdir`; otherwise why
  it has to be trained (none there, or stopped part way)."""
  step = checkpoint.latest_step(workdir) if info else None
  _read_by_every_host(what)
  if info is not None and step is not None and step >= info['train']['steps']:
    return None
  if info is None:
    return f'no {what} in {workdir}'
  return f'the {what} in {workdir} stopped at step {step or 0} of {info["train"]["steps"]}'


def _training_config(spec, stage: str, why: str, workdir: str):
  """The config that trains a missing model, or a clear stop when none is set."""
  if not spec:
    raise errors.MissingInput(f'{why}: train it with the {stage} stage '
                              f'(--workdir={workdir}) or set {stage}.config')
  return _stage_config(spec, stage, why)


def ensure_augmenter(workdir: str, augmenter_config: str | ml_collections.ConfigDict,
                     codec: trained_codec.TrainedCodec, mesh):
  """The augmenter of `codec` in `workdir`; trained (or finished) first if needed, from
  `augmenter_config`, against `codec` (an augmenter of another codec is refused)."""
  why = _needs_training(workdir, trained_augmenter.read_info(workdir), 'augmenter')
  if why is None:
    return trained_augmenter.load(workdir, codec)
  config = _training_config(augmenter_config, 'augmenter', why, workdir)
  augmenter_trainer.check(config, codec)
  return augmenter_trainer.train(config, workdir, mesh, codec)


def codec_loader(config, workdir: str, mesh) -> Callable[[], trained_codec.TrainedCodec]:
  """A `load_codec()` for a stage (made, and loaded, only if the stage calls it)."""
  if 'codec' not in config:
    def unavailable():
      raise errors.ConfigError(f'stage {config.stage!r} has no codec block')
    return unavailable
  return functools.cache(functools.partial(
      ensure_codec, trained_codec.configured_workdir(config, workdir), config.codec.config,
      mesh))


def augmenter_loader(config, workdir: str, mesh, load_codec):
  """A `load_augmenter()` for a stage with an `augmenter` block (made only if called)."""
  where = config.augmenter.workdir or os.path.join(workdir, 'augmenter')
  return functools.cache(
      lambda: ensure_augmenter(where, config.augmenter.config, load_codec(), mesh))


def train_rdcodec(config, workdir: str, mesh) -> trained_rdcodec.TrainedRDCodec:
  """Trains (or resumes, or finds finished) the RD codec of `config` in `workdir`: how
  `rdcodec_sweep` makes its codecs without importing a trainer."""
  return rdcodec_trainer.train(config, workdir, mesh)


def rdcodec_loader(config, workdir: str, mesh):
  """A `load_rdcodec()` for a stage with an `rdcodec` block (made only if called)."""
  where = config.rdcodec.workdir or os.path.join(workdir, 'rdcodec')
  return functools.cache(functools.partial(ensure_rdcodec, where, config.rdcodec.config,
                                           mesh))


def ensure_rdcodec(workdir: str, rdcodec_config: str, mesh) -> trained_rdcodec.TrainedRDCodec:
  """The RD codec in `workdir`; trained (or finished) first from `rdcodec_config`."""
  why = _needs_training(workdir, trained_rdcodec.read_info(workdir), 'rdcodec')
  if why is None:
    return trained_rdcodec.load(workdir)
  config = _training_config(rdcodec_config, 'rdcodec', why, workdir)
  return rdcodec_trainer.train(config, workdir, mesh)
