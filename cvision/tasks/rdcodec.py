"""What the rate-distortion codec learns (RDAE §3, §4.4): distortion + β · rate.

The autoencoder and the prior train together: the rate is the cross-entropy of the
encoder's latents under the prior, CE[q(z|x) | p(z)] with q one-hot (its softmax gradient
reaches the encoder), in bits per pixel, so β trades one unit of distortion
against one bit per pixel. Distortion is `1 - MS-SSIM` (the paper's) or the MSE of
pixels in [0, 1] (for RD curves in PSNR).
"""
import jax
import jax.numpy as jnp
import optax

from cvision import metrics
from cvision.models import pixelcnn, rdae

DISTORTIONS = ('ms_ssim', 'mse')


def distortion(kind: str, recon, video):
  """`recon`, `video` in [0, 1] `[B, T, H, W, 3]`."""
  if kind == 'ms_ssim':
    return 1.0 - metrics.ms_ssim(recon, video)
  if kind == 'mse':
    return jnp.mean((recon - video) ** 2)
  raise ValueError(f'distortion must be one of {DISTORTIONS}, got {kind!r}')


def forward(params, batch_stats, video, *, ae: rdae.RDAE, prior: pixelcnn.GatedPixelCNN,
            train: bool):
  """uint8-valued `[B, T, H, W, 3]` -> (recon in [0, 1], bits per clip, indices, stats)."""
  outputs = ae.apply({'params': params['ae'], 'batch_stats': batch_stats}, video.astype(
      jnp.float32), train, mutable=['batch_stats'] if train else False)
  (recon, values, indices, assignment), new_stats = outputs if train else (outputs, None)
  logits = prior.apply({'params': params['prior']}, values)
  bits = pixelcnn.cross_entropy_bits(logits, assignment)
  return recon / 255.0, bits, indices, new_stats


def train_step(state, batch, *, ae, prior, beta: float, kind: str):
  """One update on `batch['video']` uint8 `[B, T, H, W, 3]`."""
  video = batch['video']
  pixels = video.shape[1] * video.shape[2] * video.shape[3]
  target = video.astype(jnp.float32) / 255.0

  def loss_fn(params):
    recon, bits, _, new_stats = forward(params, state.variables['batch_stats'], video,
                                        ae=ae, prior=prior, train=True)
    d = distortion(kind, recon, target)
    bpp = jnp.mean(bits) / pixels
    loss = d + beta * bpp
    clipped = jnp.clip(recon, 0.0, 1.0)
    stats = dict(loss=loss, distortion=d, bpp=bpp, psnr=metrics.psnr(clipped, target),
                 ms_ssim=metrics.ms_ssim(clipped, target))
    return loss, (new_stats, stats)

  grads, (new_stats, stats) = jax.grad(loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads, variables=dict(new_stats))
  return state, dict(stats, grad_norm=optax.tree.norm(grads))
