"""The neural video codec: a 3D VQ-VAE (CV §3.2, Table 10).

Encoder: `down_blocks` strided 4x4x4 convs (E_s) then `enc_res_blocks` inverted residual
blocks (E_c); the `width` (V_e) channels are projected to `codebooks` groups of `code_dim`
and each group is snapped to the nearest of `codebook_size` entries (EMA codebooks, with
dead entries restarted from the batch). Decoder: `dec_res_blocks` residual blocks (D_c)
then `down_blocks` transposed convs back to pixels. With `shortcuts`, each strided block
also passes its input through a parameter-free space-to-depth (layers.shortcut_down/up).
"""
import math
from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from cvision.models import layers


def compression_rate(frames: int, height: int, width: int, code_frames: int,
                     code_height: int, code_width: int, codebooks: int,
                     codebook_size: int, channels: int = 3) -> float:
  """Nominal compression rate of CV §3.2: raw 8-bit RGB bits over code bits."""
  raw_bits = frames * height * width * channels * 8
  code_bits = code_frames * code_height * code_width * codebooks * math.log2(codebook_size)
  return raw_bits / code_bits


def lookup(codebooks, codes):
  """Codes `[..., N]` -> their vectors in `codebooks` `[N, K, D]`, concatenated `[..., N * D]`."""
  codes = codes.astype(jnp.int32)
  return jnp.concatenate([codebooks[n][codes[..., n]] for n in range(codebooks.shape[0])], -1)


def codebook_moments(codebooks):
  """The mean and spread `[N, D]` of each channel of every codebook `[N, K, D]` over its
  K entries."""
  return codebooks.mean(1), codebooks.std(1) + 1e-6


def standardise(vectors, codebooks):
  """Vectors `[..., N * D]` (rows of `codebooks` `[N, K, D]`, or points between them)
  with every channel standardised by its codebook's `codebook_moments`."""
  n, _, d = codebooks.shape
  mean, std = codebook_moments(codebooks)
  split = vectors.reshape(vectors.shape[:-1] + (n, d))
  return ((split - mean) / std).reshape(vectors.shape)


class VectorQuantizer(nn.Module):
  """Product vector quantizer with EMA codebooks and restarts of dead entries.

  `[..., codebooks * code_dim] -> (quantized [...same...], codes [..., codebooks], aux)`.
  The codebooks live in the `vq` collection, not in `params`: they are updated by moving
  averages of the encoder outputs assigned to them, which converges much faster than
  gradient updates (van den Oord et al. 2017, App. A.1).
  """
  codebooks: int
  codebook_size: int
  code_dim: int
  decay: float = 0.99
  commitment: float = 0.25
  # An entry whose average use falls below this fraction of a uniform share is dead.
  dead_threshold: float = 0.1

  def setup(self):
    shape = (self.codebooks, self.codebook_size, self.code_dim)
    init = lambda: jax.random.normal(self.make_rng('params'), shape) * 0.1
    self.embed = self.variable('vq', 'embed', init)
    self.cluster_size = self.variable('vq', 'cluster_size', jnp.zeros, shape[:2])
    self.embed_sum = self.variable('vq', 'embed_sum', lambda: self.embed.value)

  def lookup(self, codes):
    """`[..., codebooks]` int -> `[..., codebooks * code_dim]` embeddings."""
    return lookup(self.embed.value, codes)

  def __call__(self, z, train: bool = False):
    lead = z.shape[:-1]
    chex.assert_axis_dimension(z, -1, self.codebooks * self.code_dim)
    flat = z.reshape(-1, self.codebooks, self.code_dim).astype(jnp.float32)
    embed = self.embed.value
    distances = (jnp.sum(flat ** 2, -1)[..., None]
                 - 2 * jnp.einsum('mnd,nkd->mnk', flat, embed)
                 + jnp.sum(embed ** 2, -1)[None])
    codes = jnp.argmin(distances, axis=-1)  # [M, N]
    onehot = jax.nn.one_hot(codes, self.codebook_size, dtype=jnp.float32)
    if train and self.is_mutable_collection('vq'):
      self._ema_update(flat, onehot)
    quantized = jnp.einsum('mnk,nkd->mnd', onehot, embed).reshape(z.shape)
    commit_loss = self.commitment * jnp.mean((z - jax.lax.stop_gradient(quantized)) ** 2)
    # Straight-through: the decoder's gradient flows to the encoder unchanged.
    quantized = z + jax.lax.stop_gradient(quantized - z)
    usage = onehot.mean(0)  # [N, K]
    perplexity = jnp.exp(-jnp.sum(usage * jnp.log(usage + 1e-10), -1)).mean()
    aux = dict(commit_loss=commit_loss, perplexity=perplexity,
               codes_used=(usage > 0).sum(-1).mean())
    return quantized, codes.reshape(*lead, self.codebooks), aux

  def _ema_update(self, flat, onehot):
    d = self.decay
    counts = onehot.sum(0)  # [N, K]
    sums = jnp.einsum('mnk,mnd->nkd', onehot, flat)
    cluster_size = d * self.cluster_size.value + (1 - d) * counts
    embed_sum = d * self.embed_sum.value + (1 - d) * sums
    total = cluster_size.sum(-1, keepdims=True)
    eps = 1e-5
    smoothed = (cluster_size + eps) / (total + self.codebook_size * eps) * total
    embed = embed_sum / smoothed[..., None]
    # Dead entries jump onto random encoder outputs of this batch, so that every entry
    # of the codebook carries information (otherwise the effective K shrinks).
    picks = jax.random.randint(self.make_rng('vq'), (self.codebooks, self.codebook_size),
                               0, flat.shape[0])
    fresh = flat[picks, jnp.arange(self.codebooks)[:, None]]  # [N, K, D]
    share = flat.shape[0] / self.codebook_size  # uses per step if all were equal
    dead = cluster_size < self.dead_threshold * share
    embed = jnp.where(dead[..., None], fresh, embed)
    # A restarted entry starts as an average one, so it has time to win vectors before
    # its count decays below the threshold again.
    restart_size = jnp.full_like(cluster_size, share)
    cluster_size = jnp.where(dead, restart_size, cluster_size)
    embed_sum = jnp.where(dead[..., None], fresh * restart_size[..., None], embed_sum)
    self.embed.value = embed
    self.cluster_size.value = cluster_size
    self.embed_sum.value = embed_sum


class Encoder(nn.Module):
  """`[B, T, H, W, C]` in [0, 1] -> `[B, T / ts, H / 2**down_blocks, W / 2**down_blocks, width]`."""
  width: int
  down_blocks: int
  res_blocks: int
  temporal_downsamples: int = 0
  res_expand: int = 4
  center_init: bool = True
  shortcuts: bool = False

  @nn.compact
  def __call__(self, video):
    chex.assert_rank(video, 5)
    x = video * 2.0 - 1.0
    for i in range(self.down_blocks):
      strides = (2 if i < self.temporal_downsamples else 1, 2, 2)
      oc = self.width // 2 ** (self.down_blocks - i - 1)
      y = nn.relu(layers.Conv3D(oc, (4, 4, 4), strides, self.center_init)(x))
      x = y + layers.shortcut_down(x, strides, oc) if self.shortcuts else y
    for _ in range(self.res_blocks):
      x = layers.ResBlock3D(self.res_expand, self.center_init, self.shortcuts)(x)
    return x


class Decoder(nn.Module):
  """`[B, T', H', W', width]` -> `[B, T' * ts, H' * 2**up_blocks, W' * 2**up_blocks, channels]`."""
  width: int
  up_blocks: int
  res_blocks: int
  channels: int = 3
  temporal_upsamples: int = 0
  res_expand: int = 4
  center_init: bool = True
  shortcuts: bool = False

  @nn.compact
  def __call__(self, x):
    x = layers.Conv3D(self.width, (3, 3, 3), center_init=self.center_init)(x)
    for _ in range(self.res_blocks):
      x = layers.ResBlock3D(self.res_expand, self.center_init, self.shortcuts)(x)
    for i in range(self.up_blocks):
      last = i == self.up_blocks - 1
      strides = (2 if i >= self.up_blocks - self.temporal_upsamples else 1, 2, 2)
      oc = self.channels if last else max(self.width // 2 ** (i + 1), 8)
      y = layers.UpConv3D(oc, 4, strides, self.center_init)(x)
      y = y if last else nn.relu(y)
      x = y + layers.shortcut_up(x, strides, oc) if self.shortcuts else y
    return (x + 1.0) / 2.0


class VQVAE(nn.Module):
  """Encoder, product quantizer and decoder; `__call__` returns `(recon, aux)`."""
  width: int = 128
  down_blocks: int = 3
  enc_res_blocks: int = 2
  dec_res_blocks: int = 3
  codebooks: int = 1
  codebook_size: int = 64
  code_dim: int = 64
  temporal_downsamples: int = 0
  res_expand: int = 4
  channels: int = 3
  commitment: float = 0.25
  ema_decay: float = 0.99
  dead_threshold: float = 0.1
  # Damp off-centre time taps at init (layers._temporal_center): same architecture,
  # several times faster to train on moving video.
  temporal_center_init: bool = True
  # Parameter-free space-to-channel shortcuts around the strided blocks (DC-AE, Chen et
  # al. 2024) and no ReLU after the residual sums: same parameters, learns much faster.
  shortcuts: bool = False

  def setup(self):
    self.encoder = Encoder(self.width, self.down_blocks, self.enc_res_blocks,
                           self.temporal_downsamples, self.res_expand,
                           self.temporal_center_init, self.shortcuts)
    self.pre_quant = nn.Dense(self.codebooks * self.code_dim)
    self.quantizer = VectorQuantizer(self.codebooks, self.codebook_size, self.code_dim,
                                     self.ema_decay, self.commitment, self.dead_threshold)
    self.decoder = Decoder(self.width, self.down_blocks, self.dec_res_blocks,
                           self.channels, self.temporal_downsamples, self.res_expand,
                           self.temporal_center_init, self.shortcuts)

  @property
  def time_factor(self) -> int:
    return 2 ** self.temporal_downsamples

  @property
  def space_factor(self) -> int:
    return 2 ** self.down_blocks

  def __call__(self, video, train: bool = False):
    z = self.pre_quant(self.encoder(video))
    quantized, codes, aux = self.quantizer(z, train=train)
    return self.decoder(quantized), dict(aux, codes=codes)

  def encode(self, video):
    """`[B, T, H, W, C]` in [0, 1] -> int32 codes `[B, T', H', W', codebooks]`."""
    _, codes, _ = self.quantizer(self.pre_quant(self.encoder(video)))
    return codes

  def embed(self, codes):
    """Codes -> their codebook vectors `[B, T', H', W', codebooks * code_dim]`."""
    chex.assert_rank(codes, 5)
    return self.quantizer.lookup(codes)

  def decode(self, codes):
    """Codes `[B, T', H', W', codebooks]` -> video `[B, T, H, W, C]` (unclipped)."""
    return self.decoder(self.embed(codes))

  def decode_embeddings(self, embeddings):
    """Code vectors `[B, T', H', W', codebooks * code_dim]` -> video (unclipped): what a
    network that outputs vectors rather than codes (the latent augmenter) decodes with."""
    return self.decoder(embeddings)


def make_vqvae(model_config: Any) -> VQVAE:
  """Builds the codec from the `model` block of a config (explicit fields only)."""
  return VQVAE(**dict(model_config))
