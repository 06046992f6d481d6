"""S3D (Xie et al. 2017) for RGB clips and for neural codes (CV §3.3, §E.1, Figs. 12-14).

Separable 3D convolutions (1xkxk then kx1x1, each with batch norm and ReLU), the
Inception "Mixed" blocks, optional self-gating (S3D-G) and named endpoints. With
`space_factor=1, time_factor=1` it is the RGB network (torchvision's `s3d` layout: the
same layers and parameter count). For codes whose grid is 1/`space_factor` of the image
side and 1/`time_factor` of its frames, only the stem changes (CV Figs. 13-14: strides,
kernel shapes and output channels of the first convolutions), so that every tensor from
`Conv2d_1a` on has the RGB network's shape:
- space: the codes are upsampled (nearest neighbour) to RGB's `Conv2d_1a` grid, half
  the image side, and the input convolution keeps RGB's 1x7x7 kernel with stride 1 there,
  computed as the equivalent sub-pixel convolution on the code grid (`upsampled_kernel`,
  never materialising the upsampled codes). The paper's literal change (strides removed
  from the input conv and the first max pools, the conv on the code grid) did not learn
  the procedural motions here, not even from lossless RGB folded space-to-depth, where
  upsampling first did (docs/results.md); nor did a free sub-pixel conv (3x3 on the code
  grid, 4x the outputs, no tie between them). `code_stem='strided'` keeps the literal one;
- time: the input convolution, then the 3rd and 4th max pools lose their strides;
- the first two convolutions have `stem_features` output channels.
"""
import functools
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from cvision.models import layers

# (branch0, branch1 reduce, branch1, branch2 reduce, branch2, branch3) output channels.
MIXED = {
    'Mixed_3b': (64, 96, 128, 16, 32, 32), 'Mixed_3c': (128, 128, 192, 32, 96, 64),
    'Mixed_4b': (192, 96, 208, 16, 48, 64), 'Mixed_4c': (160, 112, 224, 24, 64, 64),
    'Mixed_4d': (128, 128, 256, 24, 64, 64), 'Mixed_4e': (112, 144, 288, 32, 64, 64),
    'Mixed_4f': (256, 160, 320, 32, 128, 128), 'Mixed_5b': (256, 160, 320, 32, 128, 128),
    'Mixed_5c': (384, 192, 384, 48, 128, 128),
}
ENDPOINTS = ('Conv2d_1a', 'MaxPool_2a', 'Conv2d_2b', 'Conv2d_2c', 'MaxPool_3a', 'Mixed_3b',
             'Mixed_3c', 'MaxPool_4a', 'Mixed_4b', 'Mixed_4c', 'Mixed_4d', 'Mixed_4e',
             'Mixed_4f', 'MaxPool_5a', 'Mixed_5b', 'Mixed_5c', 'Logits')


def _factors(factor: int, places: int, what: str) -> list[int]:
  """Splits the stride-2 layers' factor 2 ** places into what stays (per layer)."""
  if factor & (factor - 1) or factor > 2 ** places:
    raise ValueError(f'{what} {factor} must be a power of 2 up to {2 ** places}')
  removed = factor.bit_length() - 1
  return [1] * removed + [2] * (places - removed)


CODE_STEMS = ('upsampled', 'strided')


def stem_strides(time_factor: int = 1, space_factor: int = 1,
                 code_stem: str = 'upsampled') -> dict:
  """Strides `(t, h, w)` of conv1 and the four max pools for input already reduced by
  the given factors (1, 1: the RGB network), and conv1's `upsample` of its input.
  code_stem: 'upsampled' (conv1 reads the input upsampled to its RGB output grid) or
  'strided' (the paper's Figs. 13-14: conv1 and the first max pools lose their strides)."""
  if code_stem not in CODE_STEMS:
    raise ValueError(f'code_stem must be one of {CODE_STEMS}, got {code_stem!r}')
  space = _factors(space_factor, 3, 'space_factor')  # conv1, pool1, pool2 ('strided')
  time = _factors(time_factor, 3, 'time_factor')  # conv1, pool3, pool4
  upsample = 1
  if code_stem == 'upsampled' and space_factor > 1:
    space, upsample = [1, 2, 2], space_factor // 2
  return dict(conv1=(time[0], space[0], space[0]), upsample=upsample,
              pool1=(1, space[1], space[1]), pool2=(1, space[2], space[2]),
              pool3=(time[1], 2, 2), pool4=(time[2], 2, 2))


def upsampled_kernel(kernel, upsample: int):
  """A 2D kernel `[k, k, in, out]` meant for input upsampled by nearest neighbour ->
  the sub-pixel kernel `[K, K, in, upsample**2 * out]` that gives the same output from
  the input as it is, laid out for `layers.depth_to_space` (`K = 2 * ceil((k // 2) / u) + 1`).

  Fine output `u * m + r` reads fine input `u * m + r + j - k // 2`, which is coarse
  cell `m + floor((r + j - k // 2) / u)`; tap j of phase r lands on that offset."""
  k, u = kernel.shape[0], upsample
  half = -(-(k // 2) // u)  # ceil
  offsets = np.floor((np.arange(u)[:, None] + np.arange(k)[None] - k // 2) / u).astype(int)
  taps = np.zeros((2 * half + 1, u, k), np.float32)  # [coarse offset, phase, tap]
  for r in range(u):
    taps[offsets[r] + half, r, np.arange(k)] = 1
  out = jnp.einsum('ari,bsj,ijcf->abcrsf', taps, taps, kernel)
  return out.reshape(*out.shape[:3], -1)


class FactoredConv(nn.Module):
  """A 3D convolution (no bias, padding k // 2) whose kernel spans space only (1 x k x k)
  or time only (k x 1 x 1), computed as the 2D convolution it is.

  Same kernel parameter `[kt, kh, kw, in, out]` and same output as `nn.Conv` in 3D, but
  XLA's 3D convolutions are slow on CPU, their strided gradients above all (many times
  slower than the same conv folded into 2D, docs/results.md), while 2D convolutions take
  the fast library kernels on every backend."""
  features: int
  kernel: Sequence[int]
  strides: Sequence[int] = (1, 1, 1)
  upsample: int = 1  # a spatial kernel applied to the input upsampled this much

  @nn.compact
  def __call__(self, x):
    kt, kh, kw = self.kernel
    st, sh, sw = self.strides
    kernel = self.param('kernel', nn.initializers.lecun_normal(),
                        (kt, kh, kw, x.shape[-1], self.features))
    b, t, h, w, c = x.shape
    conv = functools.partial(jax.lax.conv_general_dilated,
                             dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    if kt == 1:  # frames folded into the batch
      x = x[:, ::st].reshape(-1, h, w, c)
      if self.upsample == 1:
        y = conv(x, kernel[0], (sh, sw), [(kh // 2, kh // 2), (kw // 2, kw // 2)])
        return y.reshape(b, -1, *y.shape[1:])
      # Nearest upsampling then stride 1, as one sub-pixel convolution on x's own grid.
      if (sh, sw) != (1, 1) or kh != kw:
        raise ValueError('an upsampled convolution has stride 1 and a square kernel')
      sub = upsampled_kernel(kernel[0], self.upsample)
      pad = sub.shape[0] // 2
      y = conv(x, sub, (1, 1), [(pad, pad), (pad, pad)])
      u = self.upsample
      return layers.depth_to_space(y.reshape(b, -1, *y.shape[1:]), (1, u, u))
    if (kh, kw) != (1, 1):
      raise ValueError(f'kernel {self.kernel} spans time and space; S3D factors it')
    # time x (pixels as one axis): a kt x 1 convolution
    x = x[:, :, ::sh, ::sw]
    h, w = x.shape[2:4]
    y = conv(x.reshape(b, t, h * w, c), kernel[:, 0], (st, 1), [(kt // 2, kt // 2), (0, 0)])
    return y.reshape(b, y.shape[1], h, w, self.features)


class ConvBN(nn.Module):
  """Conv3D (no bias), batch norm, ReLU; torch-style symmetric padding of k // 2; the
  input upsampled by nearest neighbour first with `upsample` > 1."""
  features: int
  kernel: Sequence[int]
  strides: Sequence[int] = (1, 1, 1)
  bn_momentum: float = 0.999
  upsample: int = 1

  @nn.compact
  def __call__(self, x, train: bool):
    x = FactoredConv(self.features, tuple(self.kernel), tuple(self.strides), self.upsample,
                     name='Conv_0')(x)
    x = nn.BatchNorm(use_running_average=not train, momentum=self.bn_momentum,
                     epsilon=1e-3)(x)
    return nn.relu(x)


class SelfGating(nn.Module):
  """S3D-G: channels scaled by a sigmoid of a linear map of their space-time average."""

  @nn.compact
  def __call__(self, x):
    weights = nn.Dense(x.shape[-1])(x.mean(axis=(1, 2, 3)))
    return x * nn.sigmoid(weights)[:, None, None, None, :]


class SepConv(nn.Module):
  """1 x k x k then k x 1 x 1 (the separable 3D convolution), optionally self-gated;
  `upsample`: the spatial half reads its input upsampled (the code stems)."""
  features: int
  kernel: int
  strides: Sequence[int] = (1, 1, 1)
  gating: bool = False
  bn_momentum: float = 0.999
  upsample: int = 1

  @nn.compact
  def __call__(self, x, train: bool):
    t, s, _ = self.strides
    m = self.bn_momentum
    x = ConvBN(self.features, (1, self.kernel, self.kernel), (1, s, s), m,
               self.upsample)(x, train)
    x = ConvBN(self.features, (self.kernel, 1, 1), (t, 1, 1), m)(x, train)
    return SelfGating()(x) if self.gating else x


def scaled(channels: int, width: float) -> int:
  """`channels * width` rounded to a multiple of 8 (at least 8); exact at width 1."""
  return channels if width == 1 else max(8, int(round(channels * width / 8)) * 8)


class Mixed(nn.Module):
  """The Inception block with separable 3x3x3 convolutions."""
  channels: Sequence[int]
  gating: bool = False
  width: float = 1.0
  bn_momentum: float = 0.999

  @nn.compact
  def __call__(self, x, train: bool):
    b0, b1_mid, b1, b2_mid, b2, b3 = (scaled(c, self.width) for c in self.channels)
    conv = functools.partial(ConvBN, kernel=(1, 1, 1), bn_momentum=self.bn_momentum)
    sep = functools.partial(SepConv, kernel=3, gating=self.gating, bn_momentum=self.bn_momentum)
    branch0 = conv(b0)(x, train)
    branch1 = sep(b1)(conv(b1_mid)(x, train), train)
    branch2 = sep(b2)(conv(b2_mid)(x, train), train)
    pooled = nn.max_pool(x, (3, 3, 3), (1, 1, 1), padding=((1, 1),) * 3)
    branch3 = conv(b3)(pooled, train)
    return jnp.concatenate([branch0, branch1, branch2, branch3], axis=-1)


def _max_pool(x, window, strides):
  return nn.max_pool(x, window, strides, padding=[(w // 2, w // 2) if w > 1 and w % 2 else
                                                   (0, 0) for w in window])


class S3D(nn.Module):
  """`[B, T, H, W, C]` -> (`Logits`, endpoints). Logits are `[B, classes]`, or
  `[B, T', classes]` per time step with `per_frame` (T' = T / 8 / ... for the RGB stem).

  time_factor, space_factor: how much smaller the input is than the RGB clip the
  network was designed for (codes: the codec's factors); stem_features: output channels
  of the first two convolutions (64, 64 for RGB); width: a multiplier of every other
  layer's channels, for CPU-sized runs (1: the published network).
  """
  classes: int = 400
  time_factor: int = 1
  space_factor: int = 1
  stem_features: Sequence[int] = (64, 64)
  code_stem: str = 'upsampled'  # or 'strided' (the paper's literal stem); see stem_strides
  gating: bool = False
  dropout: float = 0.2
  per_frame: bool = False
  width: float = 1.0
  # Flax's running-average decay (torch's momentum 0.001); short CPU runs need less.
  bn_momentum: float = 0.999

  @nn.compact
  def __call__(self, x, train: bool = False):
    strides = stem_strides(self.time_factor, self.space_factor, self.code_stem)
    m = self.bn_momentum
    ends = {}
    x = ends['Conv2d_1a'] = SepConv(self.stem_features[0], 7, strides['conv1'], bn_momentum=m,
                                    upsample=strides['upsample'])(x, train)
    x = ends['MaxPool_2a'] = _max_pool(x, (1, 3, 3), strides['pool1'])
    x = ends['Conv2d_2b'] = ConvBN(self.stem_features[1], (1, 1, 1), bn_momentum=m)(x, train)
    x = ends['Conv2d_2c'] = SepConv(scaled(192, self.width), 3, gating=self.gating,
                                    bn_momentum=m)(x, train)
    x = ends['MaxPool_3a'] = _max_pool(x, (1, 3, 3), strides['pool2'])
    for name in ('Mixed_3b', 'Mixed_3c'):
      x = ends[name] = Mixed(MIXED[name], self.gating, self.width, m, name=name)(x, train)
    x = ends['MaxPool_4a'] = _max_pool(x, (3, 3, 3), strides['pool3'])
    for name in ('Mixed_4b', 'Mixed_4c', 'Mixed_4d', 'Mixed_4e', 'Mixed_4f'):
      x = ends[name] = Mixed(MIXED[name], self.gating, self.width, m, name=name)(x, train)
    pool4 = strides['pool4']
    x = ends['MaxPool_5a'] = nn.max_pool(x, tuple(max(s, 1) for s in pool4), pool4)
    for name in ('Mixed_5b', 'Mixed_5c'):
      x = ends[name] = Mixed(MIXED[name], self.gating, self.width, m, name=name)(x, train)
    # torchvision: 2x7x7 average pool (stride 1), dropout, 1x1x1 conv, mean over what is
    # left. The window shrinks to the tensor for small inputs.
    window = (1 if self.per_frame else min(2, x.shape[1]), min(7, x.shape[2]), min(7, x.shape[3]))
    x = nn.avg_pool(x, window, (1, 1, 1))
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    x = nn.Conv(self.classes, (1, 1, 1), name='classifier')(x)
    logits = x.mean(axis=(2, 3)) if self.per_frame else x.mean(axis=(1, 2, 3))
    ends['Logits'] = logits
    return logits, ends
