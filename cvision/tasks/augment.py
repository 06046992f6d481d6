"""What the latent augmenter learns: θ sampled in its trained ranges, the pixel-space
references `A_θ(X)` (dm-pix), the training step, and views of codes made with it.

The loss is the paper's L1 between `decoder(a(c(X), θ))` and `A_θ(X)` (CV Eq. 1) plus a
cross-entropy against the codes of the augmented clip, `c(A_θ(X))`: the L1 alone reaches
the codes only through the frozen decoder, a long and flat path; the cross-entropy tells
every cell directly which code re-encoding would give, so training gets there in a
fraction of the steps, and the L1 still prefers codes that decode closer to `A_θ(X)`.
An augmenter that outputs vectors (`Augmenter.output` 'embeddings') has no argmax in the
way of the L1; its cross-entropy scores the vectors' distances to the codebook entries
(`Augmenter.code_logits`), which pushes them off the codebook's scale, so its configs
weigh it 0 and it is only logged.
"""
import dataclasses

import dm_pix
import jax
import jax.numpy as jnp
import numpy as np
import optax

from cvision import errors, metrics
from cvision.models import augmenter as augmenter_lib
from cvision.models import vqvae

SLOTS = augmenter_lib.SLOTS
# What training mixes, one per clip: a kind alone, crop and flip together (the views
# classification asks for), or nothing.
MIXES = ('crop', 'flip', 'brightness', 'saturation', 'rotation', 'crop+flip', 'identity')


@dataclasses.dataclass(frozen=True)
class Ranges:
  """The θ an augmenter is trained on; outside them it would extrapolate in silence."""
  min_crop: float = 0.5  # the smallest box side, as a fraction of the frame
  brightness: float = 0.3  # the largest |delta| added to [0, 1] pixels
  saturation: tuple[float, float] = (0.0, 2.0)  # factors
  rotation_degrees: float = 30.0  # the largest |angle|

  def check(self, theta: np.ndarray):
    """Raises InputError naming the first θ (rows of `[B, THETA_SIZE]`) outside the ranges."""
    theta = np.atleast_2d(np.asarray(theta, np.float64))
    if theta.shape[-1] != augmenter_lib.THETA_SIZE:
      raise errors.InputError(f'θ has {theta.shape[-1]} values; the augmenter takes '
                              f'{augmenter_lib.THETA_SIZE}')
    eps = 1e-6
    for i, row in enumerate(theta):
      top, left, bottom, right = row[SLOTS['crop']]
      problems = []
      if min(top, left) < -eps or max(bottom, right) > 1 + eps:
        problems.append(f'crop box {row[SLOTS["crop"]].tolist()} is outside the frame')
      elif min(bottom - top, right - left) < self.min_crop - eps:
        problems.append(f'crop box {row[SLOTS["crop"]].tolist()} is smaller than the '
                        f'trained minimum side {self.min_crop}')
      if row[4] not in (0.0, 1.0):
        problems.append(f'flip is {row[4]}, not 0 or 1')
      if abs(row[5]) > self.brightness + eps:
        problems.append(f'brightness delta {row[5]:.3g} is outside +-{self.brightness}')
      low, high = self.saturation
      if not low - eps <= row[6] <= high + eps:
        problems.append(f'saturation factor {row[6]:.3g} is outside [{low}, {high}]')
      if abs(np.degrees(row[7])) > self.rotation_degrees + eps:
        problems.append(f'rotation {np.degrees(row[7]):.3g} degrees is outside '
                        f'+-{self.rotation_degrees}')
      if problems:
        raise errors.InputError(f'augmentation {i}: {"; ".join(problems)} (the ranges the '
                                f'augmenter was trained on)')


def square_boxes(rng, count: int, sides) -> jnp.ndarray:
  """`count` square boxes of side `sides` (fractions, `[count]`) at random places."""
  corner = jax.random.uniform(rng, (count, 2)) * (1.0 - sides)[:, None]
  return jnp.concatenate([corner, corner + sides[:, None]], -1)


def sample(rng, count: int, ranges: Ranges, mixes=MIXES) -> jnp.ndarray:
  """`[count, THETA_SIZE]` θ: each row one of `mixes` (`MIXES` names) drawn uniformly, its
  kinds' values uniform in `ranges`, every other kind the identity."""
  keys = jax.random.split(rng, 6)
  sides = jax.random.uniform(keys[0], (count,), minval=ranges.min_crop, maxval=1.0)
  drawn = jnp.concatenate([
      square_boxes(keys[1], count, sides),
      jax.random.bernoulli(keys[2], 0.5, (count, 1)).astype(jnp.float32),
      jax.random.uniform(keys[3], (count, 1), minval=-ranges.brightness,
                         maxval=ranges.brightness),
      jax.random.uniform(keys[4], (count, 1), minval=ranges.saturation[0],
                         maxval=ranges.saturation[1]),
      jax.random.uniform(keys[5], (count, 1), minval=-1.0, maxval=1.0)
      * np.radians(ranges.rotation_degrees)], -1)
  uses = np.zeros((len(mixes), augmenter_lib.THETA_SIZE), bool)
  for row, mix in enumerate(mixes):
    for kind in mix.split('+'):
      if kind != 'identity':
        uses[row, SLOTS[kind]] = True
  choice = jax.random.randint(jax.random.fold_in(rng, 7), (count,), 0, len(mixes))
  return jnp.where(jnp.asarray(uses)[choice], drawn, augmenter_lib.IDENTITY)


def _augment_frame(image, theta):
  """`A_θ` of one `[H, W, 3]` frame in [0, 1]: the geometry, then brightness, saturation."""
  image = dm_pix.adjust_brightness(augmenter_lib.geometry(image, theta), theta[5])
  image = dm_pix.adjust_saturation(jnp.clip(image, 0.0, 1.0), theta[6])
  return jnp.clip(image, 0.0, 1.0)


def augment_pixels(video, theta):
  """`A_θ(X)`: video `[B, T, H, W, 3]` in [0, 1], θ `[B, THETA_SIZE]`, every frame alike."""
  per_clip = jax.vmap(_augment_frame, in_axes=(0, None))
  return jax.vmap(per_clip)(video, theta)


def nn_crop_codes(codes, box) -> np.ndarray:
  """The code tensor `[T', H', W', N]` cut to `box` and resized back to its grid by
  nearest-neighbour sampling (CV §4.5's baseline [44]): the crop made without a network."""
  _, h, w, _ = codes.shape
  top, left, bottom, right = box
  rows = np.clip(np.floor(top * h + (np.arange(h) + 0.5) * (bottom - top)), 0, h - 1)
  cols = np.clip(np.floor(left * w + (np.arange(w) + 0.5) * (right - left)), 0, w - 1)
  return codes[:, rows.astype(int)][:, :, cols.astype(int)]


def bilinear_warp_codes(codes, theta, codebooks):
  """The augmenter's bilinear pre-warp alone (`Augmenter.prewarp` 'bilinear'): `codes`
  `[B, T', H', W', N]` moved by θ `[B, THETA_SIZE]`. A crop made without training."""
  return augmenter_lib.bilinear_warp(codes, theta, codebooks)[0]


def train_step(state, batch, codec_weights, codebooks, rng, *, model, codec_model,
               ranges: Ranges, mixes, ce_weight: float):
  """One update on `batch['video']` uint8 `[B, T, H, W, 3]`; θ drawn on the device."""
  rng = jax.random.fold_in(rng, state.step)
  video = batch['video'].astype(jnp.float32) / 255.0
  theta = sample(rng, video.shape[0], ranges, mixes)
  target = augment_pixels(video, theta)
  encode = lambda x: codec_model.apply(codec_weights, x, method=vqvae.VQVAE.encode)
  codes, target_codes = encode(video), encode(target)

  def loss_fn(params):
    out = model.apply({'params': params}, codes, theta, codebooks)
    recon = codec_model.apply(codec_weights, model.decoder_input(out, codebooks),
                              method=vqvae.VQVAE.decode_embeddings)
    l1 = metrics.mae(recon, target)
    ce = optax.softmax_cross_entropy_with_integer_labels(model.code_logits(out, codebooks),
                                                         target_codes).mean()
    agreement = (model.codes(out, codebooks) == target_codes).mean()
    stats = dict(l1=l1, ce=ce, code_agreement=agreement,
                 psnr=metrics.psnr(jnp.clip(recon, 0, 1), target))
    loss = l1 + ce_weight * ce
    return loss, dict(stats, loss=loss)

  grads, stats = jax.grad(loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads)
  return state, dict(stats, grad_norm=optax.tree.norm(grads))


def augment_codes(params, codes, theta, codebooks, *, model):
  """`a(codes, θ)` snapped to codes: `[B, T', H', W', N]` int32, a valid code tensor."""
  return model.codes(model.apply({'params': params}, codes, theta, codebooks), codebooks)


def augment_embeddings(params, codes, theta, codebooks, *, model):
  """`a(codes, θ)` as the frozen decoder reads it, `[B, T', H', W', N * D]`: an
  'embeddings' augmenter's own vectors, or the vectors of the snapped codes."""
  return model.decoder_input(model.apply({'params': params}, codes, theta, codebooks),
                             codebooks)


def augment_codes_and_embeddings(params, codes, theta, codebooks, *, model):
  """`(augment_codes, augment_embeddings)` from one pass of the network: an evaluation
  that scores an 'embeddings' augmenter's vectors and its snapped codes needs both."""
  out = model.apply({'params': params}, codes, theta, codebooks)
  return model.codes(out, codebooks), model.decoder_input(out, codebooks)


def augment_views(params, codes, theta, codebooks, *, model, as_vectors: bool):
  """`a(codes, θ)` as S3D reads it: the snapped codes, or with `as_vectors` (S3D on
  codebook vectors, `input.codes_as` 'vectors') the vectors the decoder reads, each
  channel standardised as `tasks.classify.input_codebooks` standardises the entries.
  An 'embeddings' augmenter's vectors then reach S3D unsnapped; a 'codes' augmenter's
  are its codes' standardised entries, what S3D would look up."""
  if not as_vectors:
    return augment_codes(params, codes, theta, codebooks, model=model)
  return vqvae.standardise(augment_embeddings(params, codes, theta, codebooks, model=model),
                           codebooks)


def view_thetas(rng, count: int, side: float, kinds) -> jnp.ndarray:
  """`[count, THETA_SIZE]` random training views: with 'crop' in `kinds` a square box of
  `side` (a fraction of the frame) at a random place, with 'flip' a coin flip."""
  theta = jnp.broadcast_to(jnp.asarray(augmenter_lib.IDENTITY),
                           (count, augmenter_lib.THETA_SIZE))
  crop_rng, flip_rng = jax.random.split(rng)
  if 'crop' in kinds:
    boxes = square_boxes(crop_rng, count, jnp.full((count,), side))
    theta = theta.at[:, SLOTS['crop']].set(boxes)
  if 'flip' in kinds:
    flips = jax.random.bernoulli(flip_rng, 0.5, (count,)).astype(jnp.float32)
    theta = theta.at[:, SLOTS['flip']].set(flips[:, None])
  return theta


def random_views(view_args, codes, rng, *, model, side: float, kinds, as_vectors=False):
  """`(views, flipped [B])`: training views of `codes` `[B, T', H', W', N]` made by the
  augmenter on the device (`view_thetas`, `augment_views`), and which of them are
  flipped. With 'crop' in `kinds` each crop is resized back to the whole grid; without
  it, the augmenter makes the other kinds of the whole frame and the crop is a random
  window of the nearest cells cut after (`cell_crops`), as `nn_crop` views are.
  `view_args`: {'params': the augmenter's, 'codebooks': the codec's}."""
  theta = view_thetas(rng, codes.shape[0], side, kinds)
  views = augment_views(view_args['params'], codes, theta, view_args['codebooks'],
                        model=model, as_vectors=as_vectors)
  if 'crop' not in kinds:
    cells = crop_cells(side, views.shape[2])
    corners = jax.random.randint(jax.random.fold_in(rng, 2), (codes.shape[0], 2), 0,
                                 views.shape[2] - cells + 1)
    views = cell_crops(views, corners, cells)
  return views, flipped(theta)


def flipped(theta) -> jnp.ndarray:
  """`[B]` bool: which rows of θ `[B, THETA_SIZE]` flip their clip."""
  return theta[:, SLOTS['flip']][:, 0] > 0.5


def crop_cells(side: float, cells: int) -> int:
  """The side in cells of a crop of `side` (a fraction of the frame) cut on the grid."""
  return int(round(side * cells))


def cell_crops(codes, corners, cells: int):
  """`codes` `[B, T', H', W', N]` cut to `cells` x `cells` windows whose first cells are
  `corners` `[B, 2]` (row, column)."""
  def cut(clip, corner):
    t, _, _, n = clip.shape
    return jax.lax.dynamic_slice(clip, (0, corner[0], corner[1], 0), (t, cells, cells, n))
  return jax.vmap(cut)(codes, corners)


def test_thetas(crops: int, flips: int, side: float) -> np.ndarray:
  """θ of the test views pooled over (CV §4.5): `crops` boxes of `side` spaced evenly
  along the diagonal (one: the centre), each unflipped and, with `flips` 2, flipped."""
  if flips not in (1, 2):
    raise errors.ConfigError(f'eval.flips must be 1 or 2, got {flips}')
  corners = np.linspace(0.0, 1.0 - side, crops) if crops > 1 else [(1.0 - side) / 2]
  return np.stack([augmenter_lib.theta(crop=(c, c, c + side, c + side), flip=bool(f))
                   for c in corners for f in range(flips)])
