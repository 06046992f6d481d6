"""A trained rate-distortion codec loaded from its workdir: the autoencoder (any device),
the latent coder (prior on the CPU backend) and a fingerprint that `.cvz` files carry.

The `rdcodec` stage writes `rdcodec.json` (model, prior, chunk length, training fields)
next to its checkpoints; `compress`, `decompress` and the evaluations load from there.
"""
import dataclasses
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

from cvision import atomic_files, errors, trained_codec
from cvision.coding import latents as latent_coding
from cvision.configs import rdcodec as rdcodec_configs
from cvision.data import pipeline
from cvision.evaluators import rate_distortion
from cvision.models import pixelcnn, rdae
from cvision.tasks import rdcodec as task
from cvision.train_lib import checkpoint, state as state_lib

INFO_FILE = 'rdcodec.json'


def read_info(workdir: str):
  return atomic_files.read_json(os.path.join(workdir, INFO_FILE))


def make_info(config) -> dict:
  return dict(model=config.model.to_dict(), prior=config.prior.to_dict(),
              chunk_frames=config.data.frames, train_size=pipeline.crop_size(config.data),
              prior_rows=config.coding.prior_rows, loss=config.loss.to_dict(),
              train={k: v for k, v in config.train.to_dict().items()
                     if k not in ('log_every', 'ckpt_every')})


def check_config(config):
  """Errors an rdcodec run would otherwise meet only after training (a sweep checks
  every run's config before the first one trains)."""
  if config.loss.distortion not in task.DISTORTIONS:
    raise errors.ConfigError(f'loss.distortion must be one of {task.DISTORTIONS}, got '
                             f'{config.loss.distortion!r}')
  crop = pipeline.crop_size(config.data)
  if crop % rdae.SPACE_FACTOR:
    raise errors.ConfigError(f'training crops ({crop}) must be a multiple of '
                             f'{rdae.SPACE_FACTOR}')
  try:
    make_models(make_info(config))[1].validate()
  except ValueError as e:
    raise errors.ConfigError(str(e)) from e
  if config.eval.after_training:
    rate_distortion.classic_names(config.eval)


def write_info(workdir: str, info: dict):
  """Records `info`; a workdir holding another rdcodec (other fields) is refused: its
  checkpoints would be resumed as this one's."""
  checkpoint.claim_workdir(workdir, info, INFO_FILE, 'another rdcodec')


def make_models(info: dict) -> tuple[rdae.RDAE, pixelcnn.GatedPixelCNN]:
  ae = rdae.make_rdae(info['model'])
  p = info['prior']
  prior = pixelcnn.GatedPixelCNN(latent_channels=ae.latent_channels, levels=ae.levels,
                                 features=p['features'], layers=p['layers'],
                                 groups=p['groups'], kernel=p['kernel'], context=p['context'])
  return ae, prior


def init_fn(info: dict, tx):
  """`rng -> TrainState` of a fresh codec (the shapes a checkpoint restores into)."""
  ae, prior = make_models(info)
  size, frames = info['train_size'], info['chunk_frames']
  video = jnp.zeros((1, frames, size, size, 3))
  latents = jnp.zeros((1, frames, size // rdae.SPACE_FACTOR, size // rdae.SPACE_FACTOR,
                       ae.latent_channels))

  def init(rng):
    ae_rng, prior_rng = jax.random.split(rng)
    v = ae.init(ae_rng, video)
    params = dict(ae=v['params'], prior=prior.init(prior_rng, latents)['params'])
    return state_lib.TrainState.create(params, tx, {'batch_stats': v['batch_stats']})
  return init


@dataclasses.dataclass
class TrainedRDCodec:
  ae: rdae.RDAE
  prior: pixelcnn.GatedPixelCNN
  params: dict
  batch_stats: dict
  chunk_frames: int
  prior_rows: int
  step: int
  fingerprint: str

  def __post_init__(self):
    weights = {'params': self.params['ae'], 'batch_stats': self.batch_stats}
    self._weights = weights
    self._encode = jax.jit(functools.partial(self.ae.apply, method=rdae.RDAE.encode))
    self._decode = jax.jit(functools.partial(self.ae.apply,
                                             method=rdae.RDAE.decode_indices))
    centers = np.asarray(self.params['ae']['quantizer']['centers'])
    self.coder = latent_coding.LatentCoder(self.prior, self.params['prior'], centers,
                                           self.prior_rows)
    self._coders = {self.prior_rows: self.coder}

  def coder_for(self, rows: int) -> latent_coding.LatentCoder:
    """The latent coder that calls the prior on `rows` chunks, as a file made with that
    many must be decoded (compiled once per number of rows)."""
    if rows not in self._coders:
      self._coders[rows] = dataclasses.replace(self.coder, rows=rows)
    return self._coders[rows]

  @property
  def latent_channels(self) -> int:
    return self.ae.latent_channels

  @property
  def levels(self) -> int:
    return self.ae.levels

  def encode(self, chunks: np.ndarray) -> np.ndarray:
    """uint8 `[n, T, H, W, 3]` (H, W multiples of 8) -> int32 latents `[n, T, h, w, K]`."""
    return np.asarray(self._encode(self._weights, jnp.asarray(chunks, jnp.float32))[1])

  def decode(self, latents: np.ndarray) -> np.ndarray:
    """int latents `[n, T, h, w, K]` -> uint8 frames `[n, T, H, W, 3]`."""
    recon = self._decode(self._weights, jnp.asarray(latents, jnp.int32))
    return np.asarray(jnp.clip(jnp.round(recon), 0, 255).astype(jnp.uint8))


def load(workdir: str) -> TrainedRDCodec:
  """The newest checkpoint of the RD codec trained in `workdir`."""
  info = read_info(workdir)
  if info is None:
    raise errors.MissingInput(f'no trained rdcodec in {workdir} ({INFO_FILE} missing); run '
                              f'the rdcodec stage with --workdir={workdir} first')
  train = rdcodec_configs.base().train
  train.update({k: v for k, v in info['train'].items() if k in train})
  init = init_fn(info, state_lib.make_optimizer(train))
  abstract = jax.eval_shape(init, jax.random.key(0))
  step, restored = checkpoint.load_latest(workdir, abstract)
  ae, prior = make_models(info)
  return TrainedRDCodec(ae, prior, restored.params, restored.variables['batch_stats'],
                        info['chunk_frames'], info['prior_rows'], step,
                        trained_codec.fingerprint(restored.params, restored.variables))


def initialised(info: dict, seed: int = 0) -> TrainedRDCodec:
  """An untrained codec of `info`'s shape (tests; timing the paper-size models)."""
  import optax  # pylint: disable=g-import-not-at-top
  state = jax.jit(init_fn(info, optax.sgd(0.0)))(jax.random.key(seed))
  ae, prior = make_models(info)
  return TrainedRDCodec(ae, prior, state.params, state.variables['batch_stats'],
                        info['chunk_frames'], info['prior_rows'], 0,
                        trained_codec.fingerprint(state.params, state.variables))
