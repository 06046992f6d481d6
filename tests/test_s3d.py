"""S3D: torchvision's parameter count, endpoint shapes for RGB and for both code stems; its
factored convolutions equal the 3D ones, and its upsampled one the conv of upsampled input."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvision.models import layers, s3d

RGB_CLIP = (1, 32, 224, 224, 3)
# Endpoint shapes of the RGB network on 32 frames of 224x224 (CV Fig. 12; torchvision).
RGB_ENDPOINTS = {
    'Conv2d_1a': (16, 112, 112, 64), 'MaxPool_2a': (16, 56, 56, 64),
    'Conv2d_2b': (16, 56, 56, 64), 'Conv2d_2c': (16, 56, 56, 192),
    'MaxPool_3a': (16, 28, 28, 192), 'Mixed_3b': (16, 28, 28, 256),
    'Mixed_3c': (16, 28, 28, 480), 'MaxPool_4a': (8, 14, 14, 480),
    'Mixed_4b': (8, 14, 14, 512), 'Mixed_4c': (8, 14, 14, 512), 'Mixed_4d': (8, 14, 14, 512),
    'Mixed_4e': (8, 14, 14, 528), 'Mixed_4f': (8, 14, 14, 832), 'MaxPool_5a': (4, 7, 7, 832),
    'Mixed_5b': (4, 7, 7, 832), 'Mixed_5c': (4, 7, 7, 1024), 'Logits': (400,),
}


def _shapes(model, shape):
  x = jnp.zeros(shape)
  variables = jax.eval_shape(lambda: model.init(jax.random.key(0), x))
  zeros = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), variables)
  _, ends = jax.eval_shape(lambda: model.apply(zeros, x))
  return variables, {name: tuple(e.shape[1:]) for name, e in ends.items()}


def test_rgb_network_has_torchvisions_parameter_count_and_endpoints():
  variables, ends = _shapes(s3d.S3D(classes=400), RGB_CLIP)
  count = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(variables['params']))
  assert count == 8_320_048  # torchvision.models.video.s3d(num_classes=400)
  assert ends == RGB_ENDPOINTS
  assert set(ends) == set(s3d.ENDPOINTS)


@pytest.mark.parametrize('time_factor,space_factor,time_from', [
    (1, 4, 'Conv2d_1a'),  # CR ~30: codes 1/4 of the image side (Fig. 13)
    (1, 8, 'Conv2d_1a'),  # CR ~256/475: codes 1/8 of the side (Fig. 14)
    (4, 8, 'MaxPool_4a'),  # 1/8 of the side and 1/4 of the frames (CV §B.2)
])
def test_code_stems_give_the_rgb_networks_internal_shapes(time_factor, space_factor,
                                                          time_from):
  codes = (1, 32 // time_factor, 224 // space_factor, 224 // space_factor, 256)
  model = s3d.S3D(classes=400, time_factor=time_factor, space_factor=space_factor,
                  stem_features=(128, 128))
  variables, ends = _shapes(model, codes)
  names = list(s3d.ENDPOINTS[:-1])
  for name in names:  # space from the first convolution on, time once pool3 took over
    assert ends[name][1:3] == RGB_ENDPOINTS[name][1:3], name
    if names.index(name) >= names.index(time_from):
      assert ends[name][0] == RGB_ENDPOINTS[name][0], name
    if name not in ('Conv2d_1a', 'MaxPool_2a', 'Conv2d_2b'):  # the widened stem convs
      assert ends[name][-1] == RGB_ENDPOINTS[name][-1], name
  assert ends['Conv2d_1a'][-1] == 128
  # RGB's input kernel, applied to the codes upsampled to Conv2d_1a's grid
  kernel = variables['params']['SepConv_0']['ConvBN_0']['Conv_0']['kernel']
  assert kernel.shape == (1, 7, 7, 256, 128)


def test_depth_to_space_puts_channel_groups_at_sub_positions():
  # the layout upsampled_kernel writes its phases in (layers.depth_to_space, no time factor)
  x = jnp.arange(1 * 2 * 3 * 1 * 12).reshape(1, 2, 3, 1, 12)  # u=2: 4 groups of 3 channels
  y = layers.depth_to_space(x, (1, 2, 2))
  assert y.shape == (1, 2, 6, 2, 3)
  for i in range(2):
    for j in range(2):
      group = (i * 2 + j) * 3
      np.testing.assert_array_equal(y[:, :, i::2, j::2], x[..., group:group + 3])
  np.testing.assert_array_equal(layers.depth_to_space(x, (1, 1, 1)), x)


@pytest.mark.parametrize('time_factor,space_factor,same_from', [
    (1, 4, 'MaxPool_2a'), (1, 8, 'MaxPool_3a'), (4, 8, 'MaxPool_4a')])
def test_the_papers_strided_code_stems_match_after_the_stem(time_factor, space_factor,
                                                            same_from):
  codes = (1, 32 // time_factor, 224 // space_factor, 224 // space_factor, 256)
  model = s3d.S3D(classes=400, time_factor=time_factor, space_factor=space_factor,
                  stem_features=(128, 128), code_stem='strided')
  variables, ends = _shapes(model, codes)
  names = list(s3d.ENDPOINTS[:-1])
  for name in names[names.index(same_from):]:
    assert ends[name][:-1] == RGB_ENDPOINTS[name][:-1], name
  assert ends['Conv2d_1a'][1] == 224 // space_factor  # the input conv keeps the code grid
  kernel = variables['params']['SepConv_0']['ConvBN_0']['Conv_0']['kernel']
  assert kernel.shape == (1, 7, 7, 256, 128)


def test_impossible_factors_are_refused():
  with pytest.raises(ValueError, match="code_stem must be one of"):
    s3d.stem_strides(space_factor=4, code_stem='strides')
  with pytest.raises(ValueError, match='space_factor 3'):
    s3d.stem_strides(space_factor=3)
  with pytest.raises(ValueError, match='time_factor 16'):
    s3d.stem_strides(time_factor=16)


def test_small_clip_runs_per_frame_and_self_gated():
  model = s3d.S3D(classes=5, per_frame=True, gating=True)
  x = jax.random.normal(jax.random.key(0), (2, 16, 32, 32, 3))
  variables = jax.jit(model.init)(jax.random.key(1), x)  # one compile, not one per op
  plain = jax.eval_shape(s3d.S3D(classes=5, per_frame=True).init, jax.random.key(1), x)
  assert (sum(p.size for p in jax.tree.leaves(variables['params']))
          > sum(p.size for p in jax.tree.leaves(plain['params'])))
  logits, _ = jax.jit(model.apply)(variables, x)
  assert logits.shape == (2, 2, 5)  # one row per 8 frames
  assert np.all(np.isfinite(logits))
  (logits, _), updates = jax.jit(lambda v, x, rng: model.apply(
      v, x, train=True, mutable=['batch_stats'], rngs={'dropout': rng}))(
          variables, x, jax.random.key(2))
  assert logits.shape == (2, 2, 5)
  moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), updates['batch_stats'],
                       variables['batch_stats'])
  assert max(jax.tree.leaves(moved)) > 0  # training updates the batch statistics


@pytest.mark.parametrize('kernel,strides', [((1, 7, 7), (2, 2, 2)), ((7, 1, 1), (2, 2, 2)),
                                            ((1, 3, 3), (1, 1, 1)), ((3, 1, 1), (2, 1, 1)),
                                            ((1, 1, 1), (1, 1, 1))])
def test_factored_conv_equals_the_3d_convolution(kernel, strides):
  # Odd sizes, so strides meet uneven edges.
  x = jax.random.normal(jax.random.key(1), (2, 9, 13, 11, 5))
  conv = s3d.FactoredConv(6, kernel, strides)
  params = conv.init(jax.random.key(0), x)
  reference = nn.Conv(6, kernel, strides, padding=[(k // 2, k // 2) for k in kernel],
                      use_bias=False)
  np.testing.assert_allclose(conv.apply(params, x), reference.apply(params, x), atol=1e-5)
  np.testing.assert_allclose(  # and so does its gradient
      jax.grad(lambda p: (conv.apply(p, x) ** 2).sum())(params)['params']['kernel'],
      jax.grad(lambda p: (reference.apply(p, x) ** 2).sum())(params)['params']['kernel'],
      rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize('upsample,kernel', [(2, 7), (4, 7), (8, 7), (4, 3)])
def test_upsampled_conv_equals_the_conv_of_the_upsampled_input(upsample, kernel):
  # computed on the coarse grid (sub-pixel kernel, depth-to-space), never upsampled
  x = jax.random.normal(jax.random.key(1), (2, 3, 5, 6, 4))
  conv = s3d.FactoredConv(6, (1, kernel, kernel), upsample=upsample)
  params = conv.init(jax.random.key(0), x)
  reference = nn.Conv(6, (1, kernel, kernel), padding=[(0, 0)] + [(kernel // 2,) * 2] * 2,
                      use_bias=False)
  upsampled = jnp.repeat(jnp.repeat(x, upsample, axis=2), upsample, axis=3)
  np.testing.assert_allclose(conv.apply(params, x), reference.apply(params, upsampled),
                             atol=1e-5)


def test_factored_conv_refuses_a_full_3d_kernel():
  x = jnp.zeros((1, 4, 8, 8, 3))
  with pytest.raises(ValueError, match='spans time and space'):
    s3d.FactoredConv(4, (3, 3, 3)).init(jax.random.key(0), x)
