"""The latent augmentation network `a` of CV §3.4 and §E.1: codes in, augmented codes out.

Trained so that `decoder(a(c(X), θ)) ≈ A_θ(X)`: given a clip's codes and the parameters θ
of an augmentation, it predicts the codes of the augmented clip, so a compressed video
gets its training views without being decoded (CV §4.5, Table 8).

θ is one fixed-length vector, a slot per kind (`SLOTS`): the crop box (top, left, bottom,
right as fractions of the frame; the box is resized back to the whole frame), the flip
bit, the brightness delta, the saturation factor and the rotation angle in radians.
`IDENTITY` leaves a clip as it is; kinds compose (crop, then flip, rotation, brightness,
saturation), so one network gives crop-and-flip views in one pass.

Architecture (§E.1): an MLP of three hidden layers of 64 maps θ to a vector with the
code embedding's channel count, broadcast over the code grid and concatenated with the
embedding; a transformer (two layers of width 128, four heads, learned absolute
position embeddings) maps that to logits over the K entries of every codebook. Every
kind acts on each frame alike, so attention runs within each code frame (time is folded
into the batch): the cost grows linearly with the clip, and clips of any length go
through. The logits start as the input codes (a learned `keep` scale on their one-hot,
beside a zero-initialised head), the identity being the commonest view.

With `output` 'embeddings' the network instead outputs code vectors, as DeepMind's public
`compressed_vision` code does: the pre-warp's vectors plus a zero-initialised correction.
The frozen decoder reads them as they are, so the views are not limited to what the
codebook can spell cell by cell; snapped to the nearest entries they give a valid code
tensor for the codes store and S3D.

The pre-warp (`prewarp`) first moves the codes by θ's geometry, and the transformer
learns what that cannot do: zoomed detail, rotated content, colour. With 'nearest' (the
default) each cell takes the code of the nearest source cell (`warp_codes`: for a crop,
the nearest-neighbour crop of CV §4.5's baseline). With 'bilinear' the code embeddings
are sampled bilinearly at the source points and each cell takes the code nearest to its
sample (`warp_embeddings`, `nearest_codes`): a zoomed cell lying between source cells gets
a code between theirs instead of a copy of one, which decodes closer to the zoomed
pixels, and the transformer reads the unsnapped sample. S3D on one-hot codes did not
learn from such views, so classification keeps 'nearest'. Flips and the identity sample
cell centres, so both pre-warps give them the input codes exactly. The paper's network
(`prewarp='none'`) has to learn the geometry itself, routing every cell through attention
from learned position embeddings; on this project's CPU budget that did not get far past
the identity (see docs/results.md). With `offsets`, each cell is also told where its
source point lies within the nearest cell.
"""
from typing import Sequence

import dm_pix
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from cvision.models import vqvae

KINDS = ('crop', 'flip', 'brightness', 'saturation', 'rotation')
SLOTS = dict(crop=slice(0, 4), flip=slice(4, 5), brightness=slice(5, 6),
             saturation=slice(6, 7), rotation=slice(7, 8))
THETA_SIZE = 8
IDENTITY = np.asarray([0, 0, 1, 1, 0, 0, 1, 0], np.float32)
PREWARPS = ('none', 'nearest', 'bilinear')
OUTPUTS = ('codes', 'embeddings')


def theta(crop=(0.0, 0.0, 1.0, 1.0), flip=False, brightness=0.0, saturation=1.0,
          rotation=0.0) -> np.ndarray:
  """One θ vector, the identity for every kind not given."""
  return np.asarray([*crop, float(flip), brightness, saturation, rotation], np.float32)


def geometry(image, theta):
  """dm-pix's crop-and-resize, flip and rotation (black corners) of one `[H, W, C]`
  image, in θ's order: the pixel reference's geometry, and the pre-warp's."""
  h, w = image.shape[:2]
  top, left, bottom, right = theta[0], theta[1], theta[2], theta[3]
  sy, sx = bottom - top, right - left
  # Output pixel centre i + 0.5 samples the box at top + (i + 0.5) * sy (in frame units).
  offset = jnp.stack([top * h + 0.5 * sy - 0.5, left * w + 0.5 * sx - 0.5, 0.0])
  image = dm_pix.affine_transform(image, jnp.stack([sy, sx, 1.0]), offset=offset, order=1,
                                  mode='nearest')
  image = jnp.where(theta[4] > 0.5, dm_pix.flip_left_right(image), image)
  return dm_pix.rotate(image, theta[7], order=1, mode='constant', cval=0.0)


def _source_points(theta_batch, h: int, w: int):
  """Where every output cell of θ's geometry comes from: `[B, H', W', 3]`, the rows and
  columns as fractions of the frame, and a third channel 1 inside the frame, 0 beyond it.

  The same dm-pix transforms as the pixels, applied to a map of each cell's centre
  coordinates (bilinear sampling of a linear ramp is exact)."""
  ys, xs = jnp.meshgrid((jnp.arange(h) + 0.5) / h, (jnp.arange(w) + 0.5) / w, indexing='ij')
  ramp = jnp.stack([ys, xs, jnp.ones_like(ys)], -1)
  return jax.vmap(geometry, in_axes=(None, 0))(ramp, theta_batch)


def warp_codes(codes, theta_batch):
  """θ's geometry applied to the code grid by nearest cells: `(codes [B, T', H', W', N],
  inside [B, H', W'], offsets [B, H', W', 2])`, inside 0 where a rotation brings in cells
  from beyond the frame, offsets where each output cell's source point lies within the
  cell it was given (row, column, in cells from that cell's centre: [-0.5, 0.5] inside).
  For crops this is CV §4.5's nearest-neighbour crop of the code tensor."""
  _, _, h, w, _ = codes.shape
  source = _source_points(theta_batch, h, w)
  rows = jnp.clip(jnp.floor(source[..., 0] * h), 0, h - 1).astype(jnp.int32)
  cols = jnp.clip(jnp.floor(source[..., 1] * w), 0, w - 1).astype(jnp.int32)
  warped = jax.vmap(lambda c, r, q: c[:, r, q])(codes, rows, cols)
  offsets = jnp.stack([source[..., 0] * h - rows - 0.5, source[..., 1] * w - cols - 0.5], -1)
  return warped, (source[..., 2] > 0.5).astype(jnp.float32), offsets


def warp_embeddings(embedded, theta_batch):
  """θ's geometry applied to code embeddings `[B, T', H', W', C]` by bilinear sampling
  between cell centres (the edge cells held beyond them): `(embeddings, inside, offsets)`
  as `warp_codes` gives them."""
  _, _, h, w, _ = embedded.shape
  source = _source_points(theta_batch, h, w)
  # Near the frame's edge a rotation blends the ramp with the zeros beyond it, all three
  # channels alike: dividing by the third recovers the point itself.
  whole = jnp.maximum(source[..., 2:], 1e-6)
  y = source[..., 0] / whole[..., 0] * h - 0.5  # in cell indices, centres at integers
  x = source[..., 1] / whole[..., 0] * w - 0.5
  y0, x0 = jnp.floor(y), jnp.floor(x)
  wy, wx = (y - y0)[:, None, ..., None], (x - x0)[:, None, ..., None]
  at = lambda r, q: jax.vmap(lambda e, r, q: e[:, r, q])(
      embedded, jnp.clip(r, 0, h - 1).astype(jnp.int32), jnp.clip(q, 0, w - 1).astype(jnp.int32))
  top = (1 - wx) * at(y0, x0) + wx * at(y0, x0 + 1)
  bottom = (1 - wx) * at(y0 + 1, x0) + wx * at(y0 + 1, x0 + 1)
  offsets = jnp.stack([y - jnp.round(y), x - jnp.round(x)], -1)
  return (1 - wy) * top + wy * bottom, (source[..., 2] > 0.5).astype(jnp.float32), offsets


def code_distances(embedded, codebooks):
  """Embeddings `[..., N * D]` -> squared distance to every entry of every codebook
  `[..., N, K]`."""
  n, _, d = codebooks.shape
  vectors = embedded.reshape(*embedded.shape[:-1], n, d)
  return (jnp.sum(vectors ** 2, -1, keepdims=True) + jnp.sum(codebooks ** 2, -1)
          - 2 * jnp.einsum('...nd,nkd->...nk', vectors, codebooks))


def nearest_codes(embedded, codebooks):
  """Embeddings `[..., N * D]` -> the nearest entry of every codebook `[..., N]` (int32)."""
  return jnp.argmin(code_distances(embedded, codebooks), -1).astype(jnp.int32)


def bilinear_warp(codes, theta_batch, codebooks):
  """The bilinear pre-warp: `(codes [B, T', H', W', N], embeddings, inside, offsets)`, each
  cell the nearest code to the bilinear sample of the embeddings at its source point, and
  the unsnapped sample the network reads (`warp_embeddings`, `nearest_codes`)."""
  embedded, inside, offsets = warp_embeddings(vqvae.lookup(codebooks, codes), theta_batch)
  return nearest_codes(embedded, codebooks), embedded, inside, offsets


class _Block(nn.Module):
  """Pre-norm transformer layer: self-attention, then an MLP of 4x the width."""
  width: int
  heads: int

  @nn.compact
  def __call__(self, x):
    x = x + nn.MultiHeadDotProductAttention(self.heads, qkv_features=self.width)(
        nn.LayerNorm()(x))
    y = nn.Dense(4 * self.width)(nn.LayerNorm()(x))
    return x + nn.Dense(self.width)(nn.gelu(y))


class Augmenter(nn.Module):
  """`(codes [B, T', H', W', N], θ [B, THETA_SIZE], codebooks [N, K, D])` -> with `output`
  'codes', logits `[B, T', H', W', N, K]`; with 'embeddings', code vectors
  `[B, T', H', W', N * D]` the frozen decoder reads as they are. `codes`,
  `decoder_input` and `code_logits` turn either into what their users take. The codebooks
  are the frozen codec's, an argument: the augmenter learns nothing about them. `grid`
  (H', W') is the code frame its position embeddings cover: the frame size it was trained
  on."""
  grid: tuple[int, int]
  width: int = 128
  depth: int = 2
  heads: int = 4
  mlp_hidden: Sequence[int] = (64, 64, 64)
  keep_init: float = 4.0
  prewarp: str = 'nearest'  # one of PREWARPS
  offsets: bool = False
  output: str = 'codes'  # one of OUTPUTS

  @nn.compact
  def __call__(self, codes, theta_batch, codebooks):
    b, t, h, w, n = codes.shape
    k = codebooks.shape[1]
    if (h, w) != tuple(self.grid):
      raise ValueError(f'the augmenter works on code frames of {tuple(self.grid)} cells; got '
                       f'{(h, w)}')
    if self.prewarp not in PREWARPS:
      raise ValueError(f'prewarp must be one of {PREWARPS}; got {self.prewarp!r}')
    if self.output not in OUTPUTS:
      raise ValueError(f'output must be one of {OUTPUTS}; got {self.output!r}')
    if self.prewarp == 'bilinear':
      codes, embedded, inside, offsets = bilinear_warp(codes, theta_batch, codebooks)
    else:
      if self.prewarp == 'nearest':
        codes, inside, offsets = warp_codes(codes, theta_batch)
      embedded = vqvae.lookup(codebooks, codes)
    start = embedded
    embedded = nn.LayerNorm()(embedded)
    if self.prewarp != 'none':
      cell_features = inside[..., None]
      if self.offsets:
        cell_features = jnp.concatenate([cell_features, offsets], -1)
      embedded = jnp.concatenate([embedded, jnp.broadcast_to(
          cell_features[:, None], (b, t, h, w, cell_features.shape[-1]))], -1)
    condition = theta_batch.astype(jnp.float32)
    for hidden in self.mlp_hidden:
      condition = nn.relu(nn.Dense(hidden)(condition))
    condition = nn.Dense(embedded.shape[-1])(condition)
    x = jnp.concatenate(
        [embedded, jnp.broadcast_to(condition[:, None, None, None], embedded.shape)], -1)
    x = nn.Dense(self.width)(x.reshape(b * t, h * w, -1))
    x = x + self.param('position', nn.initializers.normal(0.02), (h * w, self.width))
    for _ in range(self.depth):
      x = _Block(self.width, self.heads)(x)
    x = nn.LayerNorm()(x)
    if self.output == 'embeddings':
      # A correction of the pre-warp's (unsnapped) vectors, zero at the start.
      delta = nn.Dense(start.shape[-1], kernel_init=nn.initializers.zeros)(x)
      return start + delta.reshape(start.shape)
    delta = nn.Dense(n * k, kernel_init=nn.initializers.zeros)(x)
    keep = self.param('keep', nn.initializers.constant(self.keep_init), ())
    return delta.reshape(b, t, h, w, n, k) + keep * jax.nn.one_hot(codes, k)

  def codes(self, out, codebooks) -> jnp.ndarray:
    """The network's output -> a valid code tensor `[..., N]`: the most likely code of
    every cell, or the code nearest to its vector."""
    if self.output == 'embeddings':
      return nearest_codes(out, codebooks)
    return snap(out)

  def decoder_input(self, out, codebooks) -> jnp.ndarray:
    """What the frozen decoder reads, `[..., N * D]`: the vectors themselves, or those of
    the snapped codes with a straight-through gradient (`embeddings`)."""
    if self.output == 'embeddings':
      return out
    return embeddings(out, codebooks)

  def code_logits(self, out, codebooks) -> jnp.ndarray:
    """A distribution over every codebook's entries `[..., N, K]`, for the cross-entropy
    against the codes of the augmented clip: the logits, or minus the squared distances of
    the vectors to the entries (the soft assignment of soft-to-hard quantisation)."""
    if self.output == 'embeddings':
      return -code_distances(out, codebooks)
    return out


def snap(logits) -> jnp.ndarray:
  """Logits -> the most likely code of every cell: a valid code tensor `[..., N]`."""
  return jnp.argmax(logits, -1).astype(jnp.int32)


def embeddings(logits, codebooks):
  """What the frozen decoder reads: the codebook vectors of `snap(logits)` in the forward
  pass, with the gradient of their softmax-weighted average (straight-through), so
  training sees exactly the codes the augmenter gives at use. `[..., N * D]`."""
  soft = jax.nn.softmax(logits, -1)
  hard = jax.nn.one_hot(jnp.argmax(logits, -1), logits.shape[-1], dtype=soft.dtype)
  weights = soft + jax.lax.stop_gradient(hard - soft)
  vectors = jnp.einsum('...nk,nkd->...nd', weights, codebooks)
  return vectors.reshape(*vectors.shape[:-2], -1)
