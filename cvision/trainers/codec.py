"""The `codec` stage: train the VQ-VAE on clips, then evaluate it against classic codecs."""
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import logging

from cvision import metrics, trained_codec
from cvision.data import eval_clips, pipeline
from cvision.models import vqvae
from cvision.train_lib import checkpoint, loop, sharding, state as state_lib


def train_step(state, batch, rng, *, model, tx, ms_ssim_weight: float = 0.0,
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
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  state = state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                        variables=dict(new_vars), opt_state=opt_state)
  return state, dict(stats, grad_norm=optax.tree.norm(grads))


def init_state(config, model, tx, mesh):
  """Initialised (or restored-shape) train state placed with the sharding rules."""
  crop = config.data.get('crop', config.data.size)
  dummy = jnp.zeros((1, config.data.frames, crop, crop, 3))

  def init(rng):
    v = model.init({'params': rng}, dummy)
    return state_lib.create_state(v['params'], {'vq': v['vq']}, tx)

  rng = jax.random.key(config.seed)
  abstract = jax.eval_shape(init, rng)
  shardings = sharding.state_shardings(mesh, abstract)
  return jax.jit(init, out_shardings=shardings)(rng), shardings


def train(config, workdir: str, mesh) -> trained_codec.TrainedCodec:
  trained_codec.write_info(workdir, config)  # first: refuses another codec's workdir
  model = vqvae.make_vqvae(config.model)
  tx = state_lib.make_optimizer(config.train)
  state, shardings = init_state(config, model, tx, mesh)
  manager = checkpoint.make_manager(workdir, config.train.ckpt_every)
  state = checkpoint.restore_or(manager, state, shardings)
  start = int(state.step)
  cr = vqvae.compression_rate(
      config.data.frames, config.data.size, config.data.size,
      config.data.frames // model.time_factor, config.data.size // model.space_factor,
      config.data.size // model.space_factor, model.codebooks, model.codebook_size)
  logging.info('codec: nominal compression rate %.1f at %dx%d; %s', cr, config.data.size,
               config.data.size, 'resuming at step %d' % start if start else 'from scratch')
  writer = loop.make_writer(workdir)
  writer.write_hparams({'compression_rate': cr, **config.model.to_dict()})
  step_fn = jax.jit(
      functools.partial(train_step, model=model, tx=tx,
                        ms_ssim_weight=config.train.get('ms_ssim_weight', 0.0),
                        mse_weight=config.train.get('mse_weight', 0.0)),
      in_shardings=(shardings, sharding.batch_sharding(mesh), None),
      out_shardings=(shardings, None), donate_argnums=(0,))
  progress = loop.make_progress(config.train.steps, writer)
  preview = _preview_clip(config)
  rng = jax.random.key(config.seed + 1)
  history = []
  batches = pipeline.train_batches(config.data, config.seed, start)
  for step in range(start, config.train.steps):
    batch = sharding.put_batch(next(batches), mesh)
    state, stats = step_fn(state, batch, rng)
    history = loop.after_step(step + 1, state, stats, history, writer=writer,
                              progress=progress, manager=manager, train_config=config.train)
    if (step + 1) % config.train.get('preview_every', 1000) == 0 and preview is not None:
      _write_preview(writer, workdir, model, state, preview, step + 1)
  manager.wait_until_finished()
  manager.close()
  writer.flush()
  return trained_codec.load(workdir)


def _preview_clip(config):
  """First frames of the first evaluation clip, for reconstruction images."""
  try:
    paths = eval_clips.resolve(config.eval.videos)
  except (FileNotFoundError, ValueError) as e:
    logging.warning('no preview clip: %s', e)
    return None
  t = 2 ** config.model.get('temporal_downsamples', 0)
  return eval_clips.load(paths[0], config.data.size, max(t, 8))


def _write_preview(writer, workdir, model, state, clip, step):
  """Original over reconstruction, 8 frames wide, to TensorBoard and a PNG strip."""
  from PIL import Image
  video = jnp.asarray(clip[None], jnp.float32) / 255.0
  recon, _ = model.apply({'params': state.params, **state.variables}, video)
  recon = np.clip(np.asarray(recon[0]), 0, 1)
  strip = np.concatenate([np.concatenate(list(clip / 255.0), 1),
                          np.concatenate(list(recon), 1)], 0)
  writer.write_images(step, {'reconstruction': strip[None]})
  os.makedirs(os.path.join(workdir, 'previews'), exist_ok=True)
  Image.fromarray((strip * 255).round().astype(np.uint8)).save(
      os.path.join(workdir, 'previews', f'step_{step:07d}.png'))


def run(config, workdir: str, mesh):
  if not config.eval.get('after_training', True):
    train(config, workdir, mesh)
    return
  from cvision.trainers import codec_eval  # pylint: disable=g-import-not-at-top
  codec_eval.classic_names(config)  # a misspelt codec fails now, not after training
  codec_eval.evaluate(config, workdir, train(config, workdir, mesh))
