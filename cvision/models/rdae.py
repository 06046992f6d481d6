"""The rate-distortion autoencoder of Habibian et al. 2019 (RDAE §4.2).

Encoder: two 5x5 stride-2 convolutions, residual blocks (two 3x3 convolutions, batch norm,
ReLU), a 3x3 stride-2 convolution to `latent_channels`; the decoder mirrors it. In the 3D
variant every kernel also spans 3 frames (no stride in time); the 2D variant sees each
frame alone (time folded into the batch, as the paper does). A chunk of T frames
`[B, T, H, W, 3]` becomes latents `[B, T, H/8, W/8, K]`, each an integer in `[0, L)`.

The strided layers are computed as space-to-depth convolutions (`layers.Conv3D`, a 6x6 /
4x4 kernel that contains the paper's 5x5 / 3x3 stride-2 kernel as a special case) and the
decoder's transposed convolutions as sub-pixel convolutions (`layers.UpConv3D`, which
covers a 5x5 stride-2 transposed kernel): the same functions, much faster on CPU.
"""
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from cvision.models import layers

SPACE_FACTOR = 8


class ScalarQuantizer(nn.Module):
  """Each latent value to the nearest of `levels` learned centres (RDAE §4.2).

  Forward: the hard argmin. Backward: the gradient of the softmax-weighted centres
  (Mentzer et al. 2018), which the paper found stable; `sharpness` sets its temperature.
  Also returns q(z|x) itself, one-hot forward with the softmax's gradient backward: the
  rate CE[q|p] reaches the encoder through it, not only through the prior's context.
  """
  levels: int
  sharpness: float = 1.0

  @nn.compact
  def __call__(self, z):
    centers = self.param('centers', lambda _, n: jnp.linspace(-2.0, 2.0, n), self.levels)
    distance = (z[..., None] - centers) ** 2
    indices = jnp.argmin(distance, -1)
    weights = jax.nn.softmax(-self.sharpness * distance, -1)
    soft = jnp.sum(weights * centers, -1)
    hard = centers[indices]
    one_hot = jax.nn.one_hot(indices, self.levels, dtype=weights.dtype)
    assignment = weights + jax.lax.stop_gradient(one_hot - weights)
    return (soft + jax.lax.stop_gradient(hard - soft), indices.astype(jnp.int32),
            assignment)


def _kernel(depth: int, side: int) -> tuple[int, int, int]:
  return (depth, side, side)


class ResBlock(nn.Module):
  """Two 3x3 convolutions with batch norm and ReLU, added to the input."""
  time_kernel: int

  @nn.compact
  def __call__(self, x, train: bool):
    channels = x.shape[-1]
    h = x
    for i in range(2):
      h = layers.Conv3D(channels, _kernel(self.time_kernel, 3))(h)
      h = nn.BatchNorm(use_running_average=not train)(h)
      h = nn.relu(h) if i == 0 else h
    return nn.relu(x + h)


class Encoder(nn.Module):
  width: int
  res_blocks: int
  latent_channels: int
  time_kernel: int

  @nn.compact
  def __call__(self, x, train: bool):
    for _ in range(2):
      x = layers.Conv3D(self.width, _kernel(self.time_kernel, 6), (1, 2, 2))(x)
      x = nn.relu(nn.BatchNorm(use_running_average=not train)(x))
    for _ in range(self.res_blocks):
      x = ResBlock(self.time_kernel)(x, train)
    return layers.Conv3D(self.latent_channels, _kernel(self.time_kernel, 4), (1, 2, 2))(x)


class Decoder(nn.Module):
  width: int
  res_blocks: int
  time_kernel: int

  @nn.compact
  def __call__(self, z, train: bool):
    x = layers.UpConv3D(self.width, self.time_kernel, (1, 2, 2))(z)
    x = nn.relu(nn.BatchNorm(use_running_average=not train)(x))
    for _ in range(self.res_blocks):
      x = ResBlock(self.time_kernel)(x, train)
    x = layers.UpConv3D(self.width, self.time_kernel, (1, 2, 2))(x)
    x = nn.relu(nn.BatchNorm(use_running_average=not train)(x))
    return layers.UpConv3D(3, self.time_kernel, (1, 2, 2))(x)


class RDAE(nn.Module):
  """Video chunk -> integer latents -> reconstruction. Pixels are uint8-valued floats in
  [0, 255] at the interface (the paper's unscaled RGB), [-1, 1] inside."""
  temporal: bool = True  # 3D (spatio-temporal) kernels, or 2D per frame
  width: int = 128
  res_blocks: int = 5
  latent_channels: int = 32
  levels: int = 8
  sharpness: float = 1.0

  def setup(self):
    time_kernel = 3 if self.temporal else 1
    self.encoder = Encoder(self.width, self.res_blocks, self.latent_channels, time_kernel)
    self.decoder = Decoder(self.width, self.res_blocks, time_kernel)
    self.quantizer = ScalarQuantizer(self.levels, self.sharpness)

  def encode(self, video, train: bool = False):
    """`[B, T, H, W, 3]` in [0, 255] -> (centre values `[B, T, h, w, K]`, int indices,
    q(z|x) `[B, T, h, w, K, L]`)."""
    return self.quantizer(self.encoder(video / 127.5 - 1.0, train))

  def centers(self):
    return self.quantizer.variables['params']['centers']

  def values(self, indices):
    """Integer latents -> their centre values (what the decoder and the prior read)."""
    return self.centers()[indices]

  def decode(self, values, train: bool = False):
    """Centre values `[B, T, h, w, K]` -> video in [0, 255] (not clipped)."""
    return (self.decoder(values, train) + 1.0) * 127.5

  def decode_indices(self, indices):
    return self.decode(self.values(indices))

  def __call__(self, video, train: bool = False):
    values, indices, assignment = self.encode(video, train)
    return self.decode(values, train), values, indices, assignment


def make_rdae(model_config: Any) -> RDAE:
  return RDAE(**{k: model_config[k] for k in ('temporal', 'width', 'res_blocks',
                                              'latent_channels', 'levels', 'sharpness')})
