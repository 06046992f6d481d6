"""The `augmenter` stage: train the latent augmenter against a frozen codec, then measure
it on held-out clips against the identity, the re-encoding ceiling and NN crops (CV §4.5).

One network serves every kind: θ carries all of them (identity values for the kinds a
view does not use), and training mixes single kinds with crop-and-flip views, so the
classifier's crop-and-flip views take one pass (see `tasks.augment.MIXES`).
"""
import functools
import os

import jax
import jax.numpy as jnp

from cvision import errors, trained_augmenter
from cvision.data import pipeline
from cvision.evaluators import augmentation
from cvision.models import augmenter as augmenter_lib
from cvision.tasks import augment
from cvision.train_lib import scaffold, sharding, state as state_lib


def check(config, codec):
  """Config problems found before anything is written: a size or clip length the codec
  cannot take, a misspelt mix, ranges that mean nothing."""
  d, a = config.data, config.augment
  if d.size and d.size != codec.size:
    raise errors.ConfigError(f'the codec works at {codec.size}x{codec.size}; data.size is '
                             f'{d.size} (0 takes the codec\'s)')
  for frames, field in ((d.frames, 'data.frames'), (config.eval.frames, 'eval.frames')):
    if frames % codec.model.time_factor:
      raise errors.ConfigError(f'{field}={frames} must be a multiple of the codec time factor '
                               f'{codec.model.time_factor}')
  unknown = [m for m in a.mixes if any(k not in (*augment.SLOTS, 'identity')
                                        for k in m.split('+'))]
  if unknown:
    raise errors.ConfigError(f'augment.mixes: unknown {unknown} (kinds: '
                             f'{", ".join(augment.SLOTS)}, identity, joined with +)')
  for field, known in (('prewarp', augmenter_lib.PREWARPS), ('output', augmenter_lib.OUTPUTS)):
    if config.model[field] not in known:
      raise errors.ConfigError(f'model.{field}={config.model[field]!r}: one of '
                               f'{", ".join(known)}')
  if not 0 < a.min_crop <= 1 or a.brightness < 0 or a.rotation_degrees < 0 or \
      not 0 <= a.saturation[0] <= a.saturation[1]:
    raise errors.ConfigError(f'augment ranges out of their domains: {a.to_dict()}')


def train(config, workdir: str, mesh, codec) -> trained_augmenter.TrainedAugmenter:
  """Trains (or resumes, or finds finished) the augmenter of `codec` in `workdir`."""
  info = trained_augmenter.make_info(config, codec)
  trained_augmenter.write_info(workdir, info)  # first: refuses another augmenter's workdir
  model = trained_augmenter.make_model(info)
  ranges = trained_augmenter.make_ranges(info)
  init = trained_augmenter.init_fn(model, state_lib.make_optimizer(config.train), codec,
                                   config.data.frames)
  run = scaffold.TrainRun(workdir, mesh, config.shard_rules)
  state, shardings = run.initial_state(init, jax.random.key(config.seed))
  whole = sharding.replicated(mesh)
  step = jax.jit(
      functools.partial(augment.train_step, model=model, codec_model=codec.model,
                        ranges=ranges, mixes=tuple(config.augment.mixes),
                        ce_weight=config.train.ce_weight),
      in_shardings=(shardings, sharding.batch_sharding(mesh), whole, whole, whole),
      out_shardings=(shardings, whole), donate_argnums=(0,))
  weights = jax.device_put(codec.weights, whole)
  codebooks = jax.device_put(jnp.asarray(codec.codebooks), whole)
  rng = jax.random.key(config.seed + 1)
  data = config.data.copy_and_resolve_references()
  data.size = codec.size
  state = run.loop(state, lambda s, batch: step(s, batch, weights, codebooks, rng),
                   pipeline.train_batches(data, config.seed, run.start), config.train,
                   name='train augmenter', examples_per_step=data.batch_size,
                   schedule=state_lib.make_schedule(config.train))
  run.close()
  return trained_augmenter.TrainedAugmenter(model, state.params, ranges, codebooks,
                                            int(state.step))


def run(config, workdir: str, mesh, load_codec):
  codec = load_codec()
  check(config, codec)
  d = config.data
  print(f'augmenter: {config.train.steps} steps on {d.source} clips of {d.frames}x{codec.size}'
        f'x{codec.size}, codes of codec {codec.fingerprint[:12]}, mixing '
        f'{", ".join(config.augment.mixes)}; in {workdir}')
  augmenter = train(config, workdir, mesh, codec)
  if config.eval.after_training:
    results = augmentation.evaluate(config.eval, codec, augmenter, os.path.join(workdir, 'eval'))
    print(augmentation.markdown_table(results))
