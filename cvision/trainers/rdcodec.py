"""The `rdcodec` stage: train the RD autoencoder with its prior, then code real clips."""
import functools
import os

import jax

from cvision import trained_rdcodec
from cvision.data import pipeline
from cvision.evaluators import rdcodec as rdcodec_eval
from cvision.tasks import rdcodec as task
from cvision.train_lib import scaffold, sharding, state as state_lib


def train(config, workdir: str, mesh) -> trained_rdcodec.TrainedRDCodec:
  """Trains (or resumes, or finds finished) the RD codec in `workdir` and loads it."""
  trained_rdcodec.check_config(config)
  info = trained_rdcodec.make_info(config)
  trained_rdcodec.write_info(workdir, info)  # first: refuses another codec's workdir
  ae, prior = trained_rdcodec.make_models(info)
  tx = state_lib.make_optimizer(config.train)
  run = scaffold.TrainRun(workdir, mesh, config.shard_rules)
  state, shardings = run.initial_state(trained_rdcodec.init_fn(info, tx),
                                       jax.random.key(config.seed))
  step = jax.jit(
      functools.partial(task.train_step, ae=ae, prior=prior, beta=config.loss.beta,
                        kind=config.loss.distortion),
      in_shardings=(shardings, sharding.batch_sharding(mesh)),
      out_shardings=(shardings, sharding.replicated(mesh)), donate_argnums=(0,))
  d = config.data
  if run.start < config.train.steps:
    print(f'rdcodec: {config.train.steps} steps on {d.source} chunks of {d.frames} frames at '
          f'{pipeline.crop_size(d)}px, {"3D" if ae.temporal else "2D"} AE, '
          f'{prior.context} prior, beta {config.loss.beta} in {workdir}'
          + (f', resuming at step {run.start}' if run.start else ''))
  run.loop(state, step, pipeline.train_batches(d, config.seed, run.start), config.train,
           name='train rdcodec', examples_per_step=d.batch_size,
           schedule=state_lib.make_schedule(config.train))
  run.close()
  return trained_rdcodec.load(workdir)


def run(config, workdir: str, mesh, load_codec):
  del load_codec  # this stage makes its own codec
  codec = train(config, workdir, mesh)
  if config.eval.after_training:
    rdcodec_eval.evaluate(config.eval, codec, os.path.join(workdir, 'eval'))
