"""Gated PixelCNN prior over latent frames (RDAE §4.3, van den Oord et al. 2016).

Each latent frame `[h, w, K]` is modelled autoregressively in raster order over (h, w)
and, within a position, over `groups` consecutive groups of the K channels (`groups = K`
is the full (h, w, c) ordering; `groups = 1` predicts a position's channels together from
everything above and to the left, which decodes K times faster). Masked convolutions:
a vertical stack that sees the rows above (shifted down one row before the horizontal
stack reads it, so it never sees the current row), a horizontal stack that sees the
current row up to the current position, where channel masks let group g read only groups
< g (type A, the first layer) or <= g (type B, the rest). Gated tanh * sigmoid units.

`context` picks the temporal conditioning of Figure 3:
  'frame'  every latent frame on its own;
  'last'   conditioned on the whole previous latent frame z_{t-1};
  'gru'    conditioned on a ConvGRU state that has read z_{<t}.
The condition enters every layer through 1x1 conditioning connections. A chunk's first
frame is conditioned on zeros, so every chunk decodes without the others.

The coder (`cvision.coding.latents`) calls `logits` and `advance` one frame at a time;
`__call__` is the same function over whole chunks, for training.
"""
import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

CONTEXTS = ('frame', 'last', 'gru')


def channel_groups(channels: int, groups: int) -> np.ndarray:
  """The autoregressive group of each of `channels` consecutive channels."""
  return np.arange(channels) * groups // channels


def gated_groups(features: int, groups: int) -> np.ndarray:
  """Groups of a gated pre-activation `[tanh half, sigmoid half]`: channel f of each half
  belongs to the group of hidden channel f."""
  return np.tile(channel_groups(features, groups), 2)


def center_mask(in_groups: np.ndarray, out_groups: np.ndarray, strict: bool) -> np.ndarray:
  """`[in, out]`: 1 where output channel may read input channel at the same position."""
  if strict:
    return (in_groups[:, None] < out_groups[None, :]).astype(np.float32)
  return (in_groups[:, None] <= out_groups[None, :]).astype(np.float32)


class MaskedConv(nn.Module):
  """A 2D convolution `[N, H, W, C]` with explicit padding and, optionally, channel masks
  on its last kernel column (the current position of a horizontal-stack kernel)."""
  features: int
  kernel: tuple[int, int]
  padding: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))
  in_groups: tuple[int, ...] | None = None   # with out_groups: mask the last column
  out_groups: tuple[int, ...] | None = None
  strict: bool = False

  @nn.compact
  def __call__(self, x):
    shape = (*self.kernel, x.shape[-1], self.features)
    kernel = self.param('kernel', nn.initializers.he_normal(), shape)
    if self.in_groups is not None:
      mask = np.ones(shape, np.float32)
      mask[:, -1] = center_mask(np.asarray(self.in_groups), np.asarray(self.out_groups),
                                self.strict)
      kernel = kernel * mask
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    y = jax.lax.conv_general_dilated(x, kernel, (1, 1), self.padding,
                                     dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    return y + bias


def _gate(a):
  half = a.shape[-1] // 2
  return jnp.tanh(a[..., :half]) * jax.nn.sigmoid(a[..., half:])


def _shift_down(x):
  """Row i gets row i - 1 (zeros in row 0): the vertical stack, made strictly causal."""
  return jnp.pad(x, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]


class ConvGRU(nn.Module):
  features: int

  @nn.compact
  def __call__(self, state, x):
    pad = ((1, 1), (1, 1))
    both = jnp.concatenate([x, state], -1)
    update, reset = jnp.split(jax.nn.sigmoid(
        MaskedConv(2 * self.features, (3, 3), pad, name='gates')(both)), 2, -1)
    new = jnp.tanh(MaskedConv(self.features, (3, 3), pad, name='candidate')(
        jnp.concatenate([x, reset * state], -1)))
    return (1.0 - update) * new + update * state


class GatedPixelCNN(nn.Module):
  latent_channels: int
  levels: int
  features: int = 64
  layers: int = 4
  groups: int = 1
  kernel: int = 3
  context: str = 'last'

  def validate(self):
    """Raises ValueError for fields no prior can be built from (before any work)."""
    if self.context not in CONTEXTS:
      raise ValueError(f'prior.context must be one of {CONTEXTS}, got {self.context!r}')
    if not 1 <= self.groups <= self.latent_channels or self.features % self.groups:
      raise ValueError(f'prior.groups ({self.groups}) must be between 1 and the latent '
                       f'channels ({self.latent_channels}) and divide prior.features '
                       f'({self.features})')

  def setup(self):
    self.validate()
    k, f = self.kernel, self.features
    half = k // 2
    x_groups = tuple(channel_groups(self.latent_channels, self.groups).tolist())
    h_groups = tuple(channel_groups(f, self.groups).tolist())
    g_groups = tuple(gated_groups(f, self.groups).tolist())
    out_groups = tuple(np.repeat(x_groups, self.levels).tolist())
    vertical, horizontal, links, residuals, conditions = [], [], [], [], []
    for i in range(self.layers):
      vertical.append(MaskedConv(2 * f, (half + 1, k), ((half, 0), (half, half))))
      horizontal.append(MaskedConv(2 * f, (1, half + 1), ((0, 0), (half, 0)),
                                   x_groups if i == 0 else h_groups, g_groups,
                                   strict=i == 0))
      links.append(MaskedConv(2 * f, (1, 1)))
      residuals.append(MaskedConv(f, (1, 1), in_groups=h_groups, out_groups=h_groups))
      if self.context != 'frame':
        conditions.append(MaskedConv(4 * f, (1, 1)))
    self.vertical, self.horizontal, self.links = vertical, horizontal, links
    self.residuals, self.conditions = residuals, conditions
    self.hidden = MaskedConv(f, (1, 1), in_groups=h_groups, out_groups=h_groups)
    self.out = MaskedConv(self.latent_channels * self.levels, (1, 1), in_groups=h_groups,
                          out_groups=out_groups)
    if self.context != 'frame':
      self.condition_net = MaskedConv(f, (3, 3), ((1, 1), (1, 1)))
    if self.context == 'gru':
      self.gru = ConvGRU(f)

  @property
  def state_channels(self) -> int:
    return {'frame': 1, 'last': self.latent_channels, 'gru': self.features}[self.context]

  @property
  def right_reach(self) -> int:
    """How many columns to the right, in the rows above, a position's probabilities can
    read: the vertical stack widens by `kernel // 2` per layer. Decoding waits for them."""
    return self.layers * (self.kernel // 2)

  def advance(self, state, values):
    """The conditioning state for frame t + 1 from that of frame t and z_t's values."""
    if self.context == 'last':
      return values
    if self.context == 'gru':
      return self.gru(state, values)
    return state

  def logits(self, values, state):
    """`[N, h, w, K]` latent values and their frames' states -> logits `[N, h, w, K, L]`.

    Position (i, j), group g reads only values before it in the ordering (undecoded ones
    may hold anything: the masks give them exactly zero weight)."""
    condition = None
    if self.context != 'frame':
      condition = nn.relu(self.condition_net(state))
    v = h = values
    for i in range(self.layers):
      v_pre = self.vertical[i](v)
      h_pre = self.horizontal[i](h) + self.links[i](_shift_down(v_pre))
      if condition is not None:
        for_v, for_h = jnp.split(self.conditions[i](condition), 2, -1)
        v_pre, h_pre = v_pre + for_v, h_pre + for_h
      v = _gate(v_pre)
      update = self.residuals[i](_gate(h_pre))
      h = update if i == 0 else h + update
    out = self.out(nn.relu(self.hidden(nn.relu(h))))
    return out.reshape(*out.shape[:-1], self.latent_channels, self.levels)

  def initial_state(self, batch: int, height: int, width: int):
    return jnp.zeros((batch, height, width, self.state_channels))

  def __call__(self, values):
    """Chunks `[B, T, h, w, K]` -> logits `[B, T, h, w, K, L]` (for training)."""
    b, t, hh, ww, k = values.shape
    state = self.initial_state(b, hh, ww)
    states = []
    for i in range(t):  # T is small (a chunk); the states are cheap next to the logits
      states.append(state)
      state = self.advance(state, values[:, i])
    states = jnp.stack(states, 1).reshape(b * t, hh, ww, -1)
    out = self.logits(values.reshape(b * t, hh, ww, k), states)
    return out.reshape(b, t, hh, ww, k, self.levels)


def bits(logits, indices):
  """-log2 p(indices) summed over all but the batch axis: the rate the prior gives."""
  logp = jax.nn.log_softmax(logits, -1)
  picked = jnp.take_along_axis(logp, indices[..., None], -1)[..., 0]
  return -jnp.sum(picked, axis=tuple(range(1, picked.ndim))) / math.log(2.0)


def cross_entropy_bits(logits, assignment):
  """CE[q|p] in bits per batch row, for q(z|x) `assignment` `[..., L]`: equal to `bits`
  for a one-hot q, and differentiable through q."""
  picked = jnp.sum(assignment * jax.nn.log_softmax(logits, -1), -1)
  return -jnp.sum(picked, axis=tuple(range(1, picked.ndim))) / math.log(2.0)
