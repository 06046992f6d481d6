"""Reconstruction and rate metrics. Images/videos are float in [0, 1], `[..., H, W, C]`.

SSIM is dm-pix's (Gaussian 11x11, sigma 1.5, the constants of Wang et al. 2004, as in
`tf.image.ssim`). MS-SSIM follows `tf.image.ssim_multiscale` exactly; dm-pix has none.
"""
import math

import dm_pix
import jax
import jax.numpy as jnp
import numpy as np

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def mae(x, y):
  return jnp.mean(jnp.abs(x - y))


def psnr(x, y):
  """Mean over frames of per-frame PSNR (max value 1)."""
  mse = jnp.mean((x - y) ** 2, axis=(-3, -2, -1))
  return jnp.mean(10.0 * jnp.log10(1.0 / jnp.maximum(mse, 1e-10)))


def ssim(x, y):
  """Mean SSIM over frames and channels."""
  return jnp.mean(dm_pix.ssim(x, y, max_val=1.0))


def _gaussian(size: int = 11, sigma: float = 1.5):
  coords = jnp.arange(size, dtype=jnp.float32) - (size - 1) / 2.0
  g = jax.nn.softmax(-coords ** 2 / (2.0 * sigma ** 2))
  return g


def _ssim_terms(x, y, size=11, sigma=1.5, k1=0.01, k2=0.03):
  """Per-channel (ssim, cs) averaged over space: the pieces MS-SSIM combines."""
  g = _gaussian(size, sigma)

  def blur(z):  # separable Gaussian, 'VALID', over the H and W axes
    return jnp.moveaxis(_blur_valid(jnp.moveaxis(z, -1, -3), g), -3, -1)

  c1, c2 = k1 ** 2, k2 ** 2
  mx, my = blur(x), blur(y)
  num0 = 2.0 * mx * my
  den0 = mx ** 2 + my ** 2
  luminance = (num0 + c1) / (den0 + c1)
  cs = (2.0 * blur(x * y) - num0 + c2) / (blur(x ** 2 + y ** 2) - den0 + c2)
  return jnp.mean(luminance * cs, (-3, -2)), jnp.mean(cs, (-3, -2))


def _blur_valid(z, g):
  """'VALID' separable convolution of `[..., H, W]` with the 1D kernel `g`."""
  n = g.shape[0]
  h, w = z.shape[-2:]
  rows = sum(g[i] * z[..., i:h - n + 1 + i, :] for i in range(n))
  return sum(g[i] * rows[..., :, i:w - n + 1 + i] for i in range(n))


def ms_ssim_scales(height: int, width: int, filter_size: int = 11) -> int:
  """How many of the 5 standard scales fit: the coarsest must be >= the filter."""
  scales = 1
  while scales < 5 and min(height, width) / 2 ** scales >= filter_size:
    scales += 1
  return scales


def ms_ssim(x, y, scales=None):
  """Multi-scale SSIM as `tf.image.ssim_multiscale`, mean over frames.

  Images too small for 5 scales (< 176 px) use the first `scales` standard weights, as
  `tf.image.ssim_multiscale(..., power_factors=MS_SSIM_WEIGHTS[:scales])` does.
  """
  scales = scales or ms_ssim_scales(*x.shape[-3:-1])
  weights = jnp.asarray(MS_SSIM_WEIGHTS[:scales])
  mcs = []
  for k in range(scales):
    if k > 0:
      x, y = _halve(x), _halve(y)
    s, cs = _ssim_terms(x, y)
    mcs.append(jax.nn.relu(cs))
  values = jnp.stack(mcs[:-1] + [jax.nn.relu(s)], -1)
  return jnp.mean(jnp.prod(values ** weights, -1))


def _halve(z):
  """2x2 average pool, symmetric-padding odd sizes first (as TensorFlow does)."""
  h, w = z.shape[-3:-1]
  pad = [(0, 0)] * (z.ndim - 3) + [(0, h % 2), (0, w % 2), (0, 0)]
  z = jnp.pad(z, pad, mode='symmetric')
  h, w = z.shape[-3:-1]
  z = z.reshape(*z.shape[:-3], h // 2, 2, w // 2, 2, z.shape[-1])
  return z.mean((-4, -2))


def compression_rate(raw_bytes: float, compressed_bytes: float) -> float:
  return raw_bytes / compressed_bytes


def bits_per_pixel(compressed_bytes: float, frames: int, height: int, width: int) -> float:
  return 8.0 * compressed_bytes / (frames * height * width)


def code_bytes(num_codes: int, codebook_size: int) -> float:
  """Bytes that `num_codes` indices into a codebook of `codebook_size` take, nominally."""
  return num_codes * math.log2(codebook_size) / 8.0


def reconstruction_metrics(original: np.ndarray, recon: np.ndarray) -> dict:
  """PSNR/SSIM/MS-SSIM/MAE of float videos `[T, H, W, C]` in [0, 1]."""
  x, y = jnp.asarray(original, jnp.float32), jnp.asarray(recon, jnp.float32)
  return dict(psnr=float(psnr(x, y)), ssim=float(ssim(x, y)), ms_ssim=float(ms_ssim(x, y)),
              mae=float(mae(x, y)))
