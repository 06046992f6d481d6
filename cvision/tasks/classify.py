"""S3D classification on RGB, on codes, or on reconstructions: inputs, model, train step.

Codes reach S3D as a table lookup per codebook (`input_codebooks`), then its code stem;
pixels are scaled to [-1, 1]. Same model, optimizer and schedule for every input.
"""
import jax
import jax.numpy as jnp
import optax

from cvision import errors
from cvision.data import views
from cvision.models import s3d, vqvae
from cvision.train_lib import state as state_lib

CODE_INPUTS = ('vectors', 'onehot')


def model_input(x, codebooks):
  """uint8 pixels -> [-1, 1]; integer codes -> their rows of the (frozen) `codebooks`;
  floats with `codebooks` are S3D's input already: vectors the latent augmenter made
  (`tasks.augment.augment_views`)."""
  if codebooks is None:
    return x.astype(jnp.float32) / 127.5 - 1.0
  if jnp.issubdtype(x.dtype, jnp.floating):
    return x
  return vqvae.lookup(codebooks, x)


def input_codebooks(codec, codes_as: str = 'vectors') -> jnp.ndarray:
  """What S3D reads for each code, as a table `[N, K, D]` looked up per codebook.

  'vectors': the codec's codebook vectors (the paper's input), each channel standardised
  over the K entries of its codebook, a fixed affine map (nothing is lost): the codec's
  own vectors are small and offset, and S3D's input layer learns from unit-scale inputs.
  'onehot': each code as a one-hot vector of K (`D = K`), so S3D's input conv learns its
  own vector for every entry instead of mixing the codec's few fixed dimensions."""
  books = jnp.asarray(codec.codebooks, jnp.float32)
  if codes_as == 'onehot':
    return jnp.broadcast_to(jnp.eye(books.shape[1]), (books.shape[0],) + (books.shape[1],) * 2)
  if codes_as != 'vectors':
    raise errors.ConfigError(f'input.codes_as must be one of {CODE_INPUTS}, got {codes_as!r}')
  mean, std = vqvae.codebook_moments(books)
  return (books - mean[:, None]) / std[:, None]


def per_frame_logits(logits, frames: int):
  """S3D's per-step logits `[B, T', C]` repeated over the frames each step covers."""
  return jnp.repeat(logits, frames // logits.shape[1], axis=1)


def make_model(config, grid: views.Grid, classes: int) -> s3d.S3D:
  m = config.model
  return s3d.S3D(classes=classes, time_factor=grid.time, space_factor=grid.space,
                 stem_features=tuple(m.stem_features), code_stem=m.code_stem, gating=m.gating,
                 dropout=m.dropout, per_frame=config.data.level == 'frame', width=m.width,
                 bn_momentum=m.bn_momentum)


def init_fn(model, tx, example, codebooks):
  """`rng -> TrainState` for `model` on inputs shaped like `example` `[1, ...]`."""
  def init(rng):
    v = model.init({'params': rng}, model_input(example, codebooks))
    return state_lib.TrainState.create(v['params'], tx, {'batch_stats': v['batch_stats']})
  return init


def mirrored_labels(label, flipped, mirror):
  """Labels `[B]` or per frame `[B, frames]` of views, `flipped` `[B]` mapped through
  `mirror` (`labeled.mirrored_classes`)."""
  flipped = flipped.reshape(flipped.shape + (1,) * (label.ndim - 1))
  return jnp.where(flipped, jnp.asarray(mirror)[label], label)


def train_step(state, batch, codebooks, view_args, rng, *, model, frames: int,
               make_views=None, mirror=None):
  """One update on `batch` = {'x': views, 'label': [B] or per frame [B, frames]}.

  make_views: `(view_args, x, rng) -> (x, flipped [B])`, views made on the device inside
  the step (the latent augmenter's, `tasks.augment.random_views`); None: `x` is the
  view. mirror: `[C]` (`labeled.mirrored_classes`), the labels of flipped views."""
  rng = jax.random.fold_in(rng, state.step)
  x, label = batch['x'], batch['label']
  if make_views is not None:
    x, flipped = make_views(view_args, x, jax.random.fold_in(rng, 1))
    if mirror is not None:
      label = mirrored_labels(label, flipped, mirror)
  x = model_input(x, codebooks)

  def loss_fn(params):
    (logits, _), new_vars = model.apply({'params': params, **state.variables}, x, train=True,
                                        rngs={'dropout': rng}, mutable=['batch_stats'])
    if model.per_frame:
      logits = per_frame_logits(logits, frames)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, label).mean()
    accuracy = (logits.argmax(-1) == label).mean()
    return loss, (new_vars, dict(loss=loss, accuracy=accuracy))

  grads, (new_vars, stats) = jax.grad(loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads, variables=dict(new_vars))
  return state, dict(stats, grad_norm=optax.tree.norm(grads))
