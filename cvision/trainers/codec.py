"""The `codec` stage: train the VQ-VAE on clips, then evaluate it against classic codecs."""
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging

from cvision import atomic_files, metrics, trained_codec
from cvision.data import eval_clips, pipeline
from cvision.evaluators import rate_distortion
from cvision.models import vqvae
from cvision.train_lib import multihost, scaffold, sharding, state as state_lib


def train_step(state, batch, rng, *, model, ms_ssim_weight: float = 0.0,
               mse_weight: float = 0.0):
  """One update. `batch['video']` is uint8 `[B, T, H, W, 3]`."""
  rng = jax.random.fold_in(rng, state.step)
  video = batch['video'].astype(jnp.float32) / 255.0

  def loss_fn(params):
    (recon, aux), new_vars = model.apply({'params': params, **state.variables}, video,
                                         train=True, rngs={'vq': rng}, mutable=['vq'])
    l1 = metrics.mae(recon, video)
    loss = l1 + aux['commit_loss']
    if mse_weight:  # an L2 term speeds up the start, when errors are large
      loss += mse_weight * jnp.mean((recon - video) ** 2)
    if ms_ssim_weight:
      loss += ms_ssim_weight * (1.0 - metrics.ms_ssim(recon, video))
    stats = dict(loss=loss, l1=l1, commit_loss=aux['commit_loss'],
                 perplexity=aux['perplexity'], codes_used=aux['codes_used'],
                 psnr=metrics.psnr(jnp.clip(recon, 0, 1), video))
    return loss, (new_vars, stats)

  grads, (new_vars, stats) = jax.grad(loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads, variables=dict(new_vars))
  return state, dict(stats, grad_norm=optax.tree.norm(grads))


def build(config, workdir: str, mesh):
  """`(run, state, step_fn, model)`: the codec's state made or restored, its jitted step."""
  model = vqvae.make_vqvae(config.model)
  tx = state_lib.make_optimizer(config.train)
  crop = pipeline.crop_size(config.data)
  dummy = jnp.zeros((1, config.data.frames, crop, crop, 3))

  def init(rng):
    v = model.init({'params': rng}, dummy)
    return state_lib.TrainState.create(v['params'], tx, {'vq': v['vq']})

  run = scaffold.TrainRun(workdir, mesh, config.shard_rules)
  state, shardings = run.initial_state(init, jax.random.key(config.seed))
  step = jax.jit(
      functools.partial(train_step, model=model, ms_ssim_weight=config.train.ms_ssim_weight,
                        mse_weight=config.train.mse_weight),
      in_shardings=(shardings, sharding.batch_sharding(mesh), sharding.replicated(mesh)),
      out_shardings=(shardings, sharding.replicated(mesh)), donate_argnums=(0,))
  rng = jax.random.key(config.seed + 1)
  return run, state, lambda state, batch: step(state, batch, rng), model


def train(config, workdir: str, mesh) -> trained_codec.TrainedCodec:
  """Trains (or resumes, or finds finished) the codec in `workdir` and loads it."""
  trained_codec.write_info(workdir, config)  # first: refuses another codec's workdir
  run, state, step_fn, model = build(config, workdir, mesh)
  d = config.data
  space, time = model.space_factor, model.time_factor
  cr = vqvae.compression_rate(d.frames, d.size, d.size, d.frames // time, d.size // space,
                              d.size // space, model.codebooks, model.codebook_size)
  if run.start < config.train.steps:
    print(f'codec: {config.train.steps} steps on {d.source} clips of {d.frames}x{d.size}'
          f'x{d.size} (nominal CR {cr:.0f}) in {workdir}'
          + (f', resuming at step {run.start}' if run.start else ''))
  preview = _preview_clip(config)
  every = config.train.preview_every

  def write_preview(step, state):
    if preview is not None and step % every == 0:
      _write_preview(run.writer, workdir, model, state, preview, step)

  run.loop(state, step_fn, pipeline.train_batches(config.data, config.seed, run.start),
           config.train, name='train codec', examples_per_step=d.batch_size,
           schedule=state_lib.make_schedule(config.train), hooks=[write_preview])
  run.close()
  return trained_codec.load(workdir)


def _preview_clip(config):
  """First frames of the first evaluation clip, for reconstruction images."""
  try:
    paths = eval_clips.resolve(config.eval.videos)
  except (FileNotFoundError, ValueError) as e:
    logging.warning('no preview clip: %s', e)
    return None
  return eval_clips.load(paths[0], config.data.size, max(2 ** config.model.temporal_downsamples,
                                                         8))


def _write_preview(writer, workdir, model, state, clip, step):
  """Original over reconstruction, 8 frames wide, to TensorBoard and a PNG strip."""
  from PIL import Image  # pylint: disable=g-import-not-at-top
  video = jnp.asarray(clip[None], jnp.float32) / 255.0
  recon, _ = model.apply({'params': state.params, **state.variables}, video)
  recon = np.clip(np.asarray(recon[0]), 0, 1)
  strip = np.concatenate([np.concatenate(list(clip / 255.0), 1),
                          np.concatenate(list(recon), 1)], 0)
  writer.write_images(step, {'reconstruction': strip[None]})
  if not multihost.is_primary():  # every host computed it (the weights span them all)
    return
  os.makedirs(os.path.join(workdir, 'previews'), exist_ok=True)
  # Atomic: a run killed while saving leaves no truncated image in view.
  path = os.path.join(workdir, 'previews', f'step_{step:07d}.png')
  with atomic_files.replacing(path, '.png') as tmp:
    Image.fromarray((strip * 255).round().astype(np.uint8)).save(tmp)


def run(config, workdir: str, mesh, load_codec):
  del load_codec  # this stage makes the codec
  if config.eval.after_training:
    rate_distortion.classic_names(config.eval)  # a misspelt codec fails now, not after
  codec = train(config, workdir, mesh)
  if config.eval.after_training:
    rate_distortion.evaluate(config.eval, codec, workdir, os.path.join(workdir, 'eval'))
