"""Codec shapes, the CR formula for every codec config, straight-through gradients, EMA."""
import glob
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvision.models import layers, vqvae
from cvision import configs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CODEC_CONFIGS = sorted(glob.glob(os.path.join(ROOT, 'experiments', 'codec_*.py')))


def _codec_configs():
  for path in CODEC_CONFIGS:
    config = configs.load(path)
    if config.stage == 'codec':
      yield os.path.basename(path), config


@pytest.mark.parametrize('name,config', list(_codec_configs()))
def test_shapes_and_compression_rate(name, config):
  model = vqvae.make_vqvae(config.model)
  f, s = config.data.frames, config.data.size
  video = jax.ShapeDtypeStruct((2, f, s, s, 3), jnp.float32)
  variables = jax.eval_shape(lambda x: model.init({'params': jax.random.key(0)}, x), video)
  recon, aux = jax.eval_shape(lambda v, x: model.apply(v, x), variables, video)
  assert recon.shape == video.shape, name
  ct, cs = f // model.time_factor, s // model.space_factor
  assert aux['codes'].shape == (2, ct, cs, cs, model.codebooks)
  cr = vqvae.compression_rate(f, s, s, ct, cs, cs, model.codebooks, model.codebook_size)
  bits = ct * cs * cs * model.codebooks * np.log2(model.codebook_size)
  assert cr == pytest.approx(f * s * s * 3 * 8 / bits)
  if config.expected_cr:
    assert cr == pytest.approx(config.expected_cr, rel=0.05), name


def test_paper_compression_rates():
  # CV §B.2: 32x256x256 into 32x16x16x2 codes of 256 entries is CR ~ 256 (they say 236).
  assert vqvae.compression_rate(32, 256, 256, 32, 16, 16, 2, 256) == pytest.approx(384)
  assert vqvae.compression_rate(32, 256, 256, 32, 32, 32, 1, 256) == pytest.approx(192)
  assert vqvae.compression_rate(1, 128, 128, 1, 16, 16, 1, 64) == pytest.approx(256)


def test_straight_through_gradient():
  q = vqvae.VectorQuantizer(codebooks=2, codebook_size=8, code_dim=3)
  z = jax.random.normal(jax.random.key(0), (5, 6))
  v = q.init({'params': jax.random.key(1)}, z)

  def total(z):
    quantized, _, _ = q.apply(v, z)
    return jnp.sum(quantized * jnp.arange(6.0))

  grad = jax.grad(total)(z)
  np.testing.assert_allclose(grad, jnp.broadcast_to(jnp.arange(6.0), z.shape))
  quantized, codes, _ = q.apply(v, z)
  embed = v['vq']['embed']
  expected = jnp.concatenate([embed[n][codes[:, n]] for n in range(2)], -1)
  np.testing.assert_allclose(quantized, expected, atol=1e-6)


def test_codes_are_nearest_entries_and_ema_moves_codebook():
  q = vqvae.VectorQuantizer(codebooks=1, codebook_size=4, code_dim=2, decay=0.5,
                            dead_threshold=0.0)
  z = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]])
  v = q.init({'params': jax.random.key(0)}, z)
  _, codes, _ = q.apply(v, z)
  d = ((z[:, None] - v['vq']['embed'][0][None]) ** 2).sum(-1)
  np.testing.assert_array_equal(codes[:, 0], jnp.argmin(d, -1))
  _, updated = q.apply(v, z, train=True, rngs={'vq': jax.random.key(1)}, mutable=['vq'])
  moved = np.abs(updated['vq']['embed'] - v['vq']['embed']).sum((-1, 0))
  used = np.unique(np.asarray(codes))
  assert (moved[used] > 0).all()


def test_dead_entries_restart_on_batch_vectors():
  q = vqvae.VectorQuantizer(codebooks=1, codebook_size=8, code_dim=2, dead_threshold=0.5)
  z = jax.random.normal(jax.random.key(3), (64, 2)) + 10.0  # far from every entry
  v = q.init({'params': jax.random.key(0)}, z)
  _, updated = q.apply(v, z, train=True, rngs={'vq': jax.random.key(1)}, mutable=['vq'])
  embed = np.asarray(updated['vq']['embed'][0])
  # Every entry now sits on an encoder output of this batch (or their mean).
  assert (embed.min(-1) > 5).all()


@pytest.mark.parametrize('frames', [1, 2, 3, 7])
def test_any_number_of_frames(frames):
  conv = layers.Conv3D(4, (4, 4, 4), (1, 2, 2))
  x = jnp.ones((1, frames, 8, 8, 3))
  v = conv.init(jax.random.key(0), x)
  assert conv.apply(v, x).shape == (1, frames, 4, 4, 4)


def test_space_to_depth_roundtrip():
  x = jax.random.normal(jax.random.key(0), (2, 4, 6, 8, 3))
  y = layers.space_to_depth(x, (2, 2, 2))
  assert y.shape == (2, 2, 3, 4, 24)
  np.testing.assert_array_equal(layers.depth_to_space(y, (2, 2, 2)), x)


def test_temporal_center_init_damps_off_centre_taps():
  conv = layers.Conv3D(8, (4, 3, 3), center_init=True)
  kernel = conv.init(jax.random.key(0), jnp.ones((1, 4, 8, 8, 4)))['params']['Conv_0']['kernel']
  energy = np.abs(np.asarray(kernel)).mean(axis=(1, 2, 3, 4))
  centre = layers.same_padding(4)[0]  # the tap aligned with the output frame
  assert energy.argmax() == centre
  assert (np.delete(energy, centre) < 0.2 * energy[centre]).all()


def test_shortcuts_pool_and_repeat_each_colour_apart():
  x = jax.random.uniform(jax.random.key(0), (1, 4, 8, 8, 3))
  pooled = x.reshape(1, 4, 4, 2, 4, 2, 3).mean((3, 5))
  # Down to as many channels as the input has: a per-colour average pool of each block.
  down = layers.shortcut_down(x, (1, 2, 2), 3)
  np.testing.assert_allclose(down, pooled, rtol=1e-6)
  # Up from them: each colour repeated over its block (nearest-neighbour upsampling).
  up = layers.shortcut_up(pooled, (1, 2, 2), 3)
  np.testing.assert_allclose(up, jnp.repeat(jnp.repeat(pooled, 2, 2), 2, 3), rtol=1e-6)
  # Without averaging, up undoes down exactly; odd widths (gcd(16, 24) = 8) keep shapes.
  same = layers.shortcut_down(x, (2, 2, 2), 24)
  np.testing.assert_array_equal(layers.shortcut_up(same, (2, 2, 2), 3), x)
  odd = layers.shortcut_up(jnp.full((1, 2, 4, 4, 16), 0.7), (2, 2, 2), 3)
  assert odd.shape == (1, 4, 8, 8, 3)
  np.testing.assert_allclose(odd, 0.7, rtol=1e-6)


def test_shortcuts_add_no_parameters():
  kw = dict(width=16, down_blocks=2, enc_res_blocks=1, dec_res_blocks=1, codebooks=2,
            codebook_size=16, code_dim=8, temporal_downsamples=1, res_expand=2)
  video = jnp.ones((1, 4, 16, 16, 3))
  shapes = [jax.tree.map(jnp.shape, vqvae.VQVAE(**kw, shortcuts=s).init(
      {'params': jax.random.key(0)}, video)['params']) for s in (False, True)]
  assert shapes[0] == shapes[1]
