"""Building blocks shared by the video models.

Every convolution here pads time by reflection (CV §E.1): zero padding in time would make
the first and last frames of a clip look different from the middle ones, and the codec
must give the same codes to a frame whatever the length of the clip it sits in.
"""
import math
from typing import Sequence

import flax.linen as nn
import jax.numpy as jnp


def reflect_pad_time(x, before: int, after: int):
  """Pads axis 1 of `[B, T, H, W, C]` by reflection (repeats the frame when T == 1)."""
  if before == 0 and after == 0:
    return x
  if x.shape[1] == 1:
    return jnp.pad(x, ((0, 0), (before, after), (0, 0), (0, 0), (0, 0)), mode='edge')
  return jnp.pad(x, ((0, 0), (before, after), (0, 0), (0, 0), (0, 0)), mode='reflect')


def same_padding(kernel: int, stride: int = 1) -> tuple[int, int]:
  """Padding (before, after) that keeps `n / stride` outputs for a kernel of `kernel` taps."""
  total = max(kernel - stride, 0)
  return total // 2, total - total // 2


def space_to_depth(x, factors: Sequence[int]):
  """`[B, T, H, W, C] -> [B, T/ft, H/fh, W/fw, ft*fh*fw*C]` (blocks moved into channels)."""
  b, t, h, w, c = x.shape
  ft, fh, fw = factors
  x = x.reshape(b, t // ft, ft, h // fh, fh, w // fw, fw, c)
  x = x.transpose(0, 1, 3, 5, 2, 4, 6, 7)
  return x.reshape(b, t // ft, h // fh, w // fw, ft * fh * fw * c)


def depth_to_space(x, factors: Sequence[int]):
  """Inverse of `space_to_depth`."""
  b, t, h, w, c = x.shape
  ft, fh, fw = factors
  x = x.reshape(b, t, h, w, ft, fh, fw, c // (ft * fh * fw))
  x = x.transpose(0, 1, 4, 2, 5, 3, 6, 7)
  return x.reshape(b, t * ft, h * fh, w * fw, c // (ft * fh * fw))


class Conv3D(nn.Module):
  """3D convolution, reflect-padded in time and zero-padded in space.

  `[B, T, H, W, C] -> [B, T / s_t, H / s_h, W / s_w, features]`. A stride-2 axis needs an
  even kernel; it is computed as space-to-depth then a stride-1 conv of half the kernel,
  the same function (weights rearranged) but many times faster to differentiate on CPU,
  where XLA's gradient of a strided conv is slow.
  """
  features: int
  kernel: Sequence[int] = (3, 3, 3)
  strides: Sequence[int] = (1, 1, 1)
  center_init: bool = False

  @nn.compact
  def __call__(self, x):
    kt, kh, kw = self.kernel
    x = reflect_pad_time(x, *same_padding(kt, self.strides[0]))
    pads = ((0, 0), (0, 0)) + tuple(same_padding(k, s) for k, s in
                                    zip(self.kernel[1:], self.strides[1:]))
    x = jnp.pad(x, pads + ((0, 0),))
    if any(s != 1 for s in self.strides):
      for k, s in zip(self.kernel, self.strides):
        if s not in (1, 2) or (s == 2 and k % 2):
          raise ValueError(f'Conv3D supports stride 1, or 2 with an even kernel; got '
                           f'kernel {tuple(self.kernel)}, strides {tuple(self.strides)}')
      x = space_to_depth(x, self.strides)
    kernel = tuple(k // s for k, s in zip(self.kernel, self.strides))
    init = nn.initializers.he_normal()
    if self.center_init and self.strides[0] == 1 and kt > 1:
      init = _temporal_center(init, same_padding(kt)[0])
    return nn.Conv(self.features, kernel, padding='VALID', kernel_init=init)(x)


def _temporal_center(base_init, center: int, off_center: float = 0.1):
  """Starts a conv close to a per-frame (2D) one: taps off the centre frame are damped.

  A freshly initialised 4-frame kernel averages neighbouring frames, so early outputs are
  motion-blurred and the net spends many steps learning to undo that.
  """
  def init(key, shape, dtype=jnp.float32):
    w = base_init(key, shape, dtype)
    scale = jnp.full((shape[0],), off_center).at[center].set(1.0)
    return w * scale.reshape(-1, *([1] * (len(shape) - 1)))
  return init


class UpConv3D(nn.Module):
  """Learned upsampling by `strides` (the transposed convs of CV Table 10).

  Computed as a sub-pixel convolution (Shi et al. 2016): a stride-1 conv makes
  `prod(strides) * features` channels that are moved into space. A 3-wide kernel on an
  upsampled axis covers every input that a 4-wide stride-2 transposed conv reads, so it
  contains that layer as a special case while avoiding XLA's slow dilated convs on CPU.
  """
  features: int
  kernel_t: int = 4
  strides: Sequence[int] = (1, 2, 2)
  center_init: bool = False

  @nn.compact
  def __call__(self, x):
    st = self.strides[0]
    kt = self.kernel_t if st == 1 else 3
    kernel = (kt,) + tuple(3 if s == 2 else 1 for s in self.strides[1:])
    channels = self.features * st * self.strides[1] * self.strides[2]
    x = Conv3D(channels, kernel, center_init=self.center_init)(x)
    return depth_to_space(x, self.strides)


class ResBlock3D(nn.Module):
  """Inverted residual block of CV Table 10: 3x3x3 to `expand * C`, ReLU, 3x3x3 back to C.

  `linear_skip` leaves out the ReLU after the sum (as the residual stacks of the VQ-VAE
  reference code do), so a linear path runs through the block; the codec's shortcuts
  need it, a ReLU there would cut every negative value they carry.
  """
  expand: int = 4
  center_init: bool = False
  linear_skip: bool = False

  @nn.compact
  def __call__(self, x):
    channels = x.shape[-1]
    h = nn.relu(Conv3D(self.expand * channels, center_init=self.center_init)(x))
    h = Conv3D(channels, center_init=self.center_init)(h)
    return x + h if self.linear_skip else nn.relu(x + h)


def match_channels(x, channels: int):
  """Parameter-free map of the last axis to `channels`: average groups, then repeat.

  Neighbouring channels are averaged in groups down to gcd(C, channels), then each is
  repeated, so an identity-like path exists between any two widths (the shortcuts of
  DC-AE, Chen et al. 2024).
  """
  c = x.shape[-1]
  g = math.gcd(c, channels)
  x = x.reshape(*x.shape[:-1], g, c // g).mean(-1)
  return jnp.repeat(x, channels // g, axis=-1)


def _transpose_channels(x, rows: int):
  """Reads the last axis as a `rows x (C / rows)` matrix and transposes it.

  With `rows` = positions this turns space_to_depth's position-major channels into
  channel-major ones; with `rows` = C / positions it turns them back.
  """
  x = x.reshape(*x.shape[:-1], rows, x.shape[-1] // rows)
  return jnp.swapaxes(x, -1, -2).reshape(*x.shape[:-2], -1)


def shortcut_down(x, strides: Sequence[int], channels: int):
  """A down block's shortcut: space-to-depth by `strides`, then `match_channels`.

  The blocks are ordered channel-major first, so the averaging pools neighbouring pixels
  of one input channel (colours stay apart) rather than the colours of one pixel.
  """
  positions = math.prod(strides)
  return match_channels(_transpose_channels(space_to_depth(x, strides), positions),
                        channels)


def shortcut_up(x, strides: Sequence[int], channels: int):
  """An up block's shortcut: `match_channels` to `channels * prod(strides)` (channel-major,
  so each output channel is filled from its own input channels), then depth-to-space."""
  positions = math.prod(strides)
  y = _transpose_channels(match_channels(x, channels * positions), channels)
  return depth_to_space(y, strides)
