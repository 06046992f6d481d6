"""The past-future model of CV App. D: adapter, memory, cross-attention core, predictor.

A tour is observed chunk by chunk. Each chunk's codes go through the adapter (a shallow
3D CNN) to one vector, which the memory takes in: `slot` keeps every vector (a
deterministic write, M^{t+1} = {m^t} U M^t), `lstm` folds it into a fixed-size state,
`none` forgets it. A query chunk, through the same adapter, then attends over the memory
(the core: query = transformer query, memory = keys and values) and one linear layer
says past or future. A learned "nothing here" slot is always in the memory, so attention
has somewhere to go when no stored chunk matches, and `none` still has something to read.
"""
from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from cvision.models import vqvae

MEMORIES = ('slot', 'lstm', 'none')


def code_embeddings(codes, codebooks):
  """Integer codes `[..., N]` -> concatenated codebook vectors `[..., N * D]`.

  `codebooks` `[N, K, D]` come from the frozen codec; the task never changes them.
  """
  return vqvae.lookup(codebooks, codes)


class Adapter(nn.Module):
  """Code embeddings of a chunk `[B, T', h, w, C]` -> one vector `[B, features]`.

  Time is average-pooled first (a 5-second chunk has ~30 code frames that change slowly,
  and pooling before anything else keeps the adapter cheap),
  then two 3x3x3 convolutions with a 2x spatial pooling between them. The result is
  averaged over a coarse `grid` x `grid` partition of space, coarse enough not to care
  much where a crop was taken, but not over time: the layout of what the camera passed
  and its order during the chunk are what tell chunks of one tour apart.
  """
  width: int = 64
  features: int = 128
  time_pool: int = 4
  grid: int = 2

  @nn.compact
  def __call__(self, x):
    chex.assert_rank(x, 5)
    x = nn.avg_pool(x, (self.time_pool, 1, 1), strides=(self.time_pool, 1, 1), padding='SAME')
    x = nn.Dense(self.width)(nn.LayerNorm()(x))
    x = nn.relu(nn.Conv(self.width, (3, 3, 3))(x))
    x = nn.avg_pool(x, (1, 2, 2), strides=(1, 2, 2), padding='SAME')
    x = nn.relu(nn.Conv(2 * self.width, (3, 3, 3))(x))
    x = _grid_pool(x, self.grid)  # [B, T'', grid, grid, C]
    return nn.Dense(self.features)(x.reshape(x.shape[0], -1))


def _unit(x):
  return x * jax.lax.rsqrt(jnp.sum(x * x, axis=-1, keepdims=True) + 1e-6)


def _grid_pool(x, grid: int):
  """Averages `[B, T, H, W, C]` over a `grid` x `grid` partition of space (as even as can be)."""
  def edges(size):
    return np.linspace(0, size, grid + 1).round().astype(int)
  ys, xs = edges(x.shape[2]), edges(x.shape[3])
  rows = [jnp.stack([x[:, :, ys[i]:ys[i + 1], xs[j]:xs[j + 1]].mean(axis=(2, 3))
                     for j in range(grid)], 2) for i in range(grid)]
  return jnp.stack(rows, 2)


class CrossAttention(nn.Module):
  """Multi-head attention of queries `[B, K, Q, d]` over one memory `[B, S, d]`.

  K is the number of steps answered at once, each with its own view of the memory:
  `mask` `[B, K, S]` says which elements step k sees, `live` `[B, K, S]` (or None: all)
  which of them pass a gradient to the memory at step k; for the others step k uses
  `fixed`, the same memory as a constant (the projections' parameters still learn from
  them). So K steps share two projections of the memory instead of K copies.
  Queries and keys share one projection and are compared by cosine, so a score is a
  learned similarity of the query with a memory element (highest for the element itself):
  a chunk seen before is found from the first step of training instead of after two
  projections happen to align, and a learned sharpness sets how strictly.
  Besides the memory, each head can attend to a learned "nothing matches" slot with a
  fixed learned score: how much attention it keeps says how good the best match was,
  which a linear read-out can use (and `none`, with an empty memory, reads only it).
  """
  heads: int
  top_k: int = 0  # > 0: each query reads only its k best-matching memory elements
  sharpness: float = 10.0
  sink_cosine: float = 0.8  # initial score of the "nothing matches" slot, as a cosine

  @nn.compact
  def __call__(self, x, memory, mask, live=None, fixed=None):
    d = x.shape[-1]
    if d % self.heads:
      raise ValueError(f'model.features {d} must divide by model.heads {self.heads}')
    per_head = d // self.heads
    query_key = nn.DenseGeneral((self.heads, per_head), name='query_key')
    value = nn.DenseGeneral((self.heads, per_head), name='value')
    q, k = _unit(query_key(x)), _unit(query_key(memory))  # cosines times a sharpness
    v = value(memory)
    sharpness = self.param('sharpness', nn.initializers.constant(self.sharpness), (self.heads,))
    sink_score = self.param('sink_score', nn.initializers.constant(
        self.sink_cosine * self.sharpness), (self.heads,))
    sink_value = self.param('sink_value', nn.initializers.normal(1.0), (self.heads, per_head))
    scores = jnp.einsum('bkqhd,bshd->bkhqs', q, k)
    if live is not None:
      fixed_k, fixed_v = _unit(query_key(fixed)), value(fixed)
      scores = jnp.where(live[:, :, None, None, :], scores,
                         jnp.einsum('bkqhd,bshd->bkhqs', q, fixed_k))
    scores = scores * sharpness[:, None, None]
    scores = jnp.where(mask[:, :, None, None, :], scores, jnp.finfo(scores.dtype).min)
    if self.top_k and scores.shape[-1] > self.top_k:
      kth = jax.lax.stop_gradient(jax.lax.top_k(scores, self.top_k)[0][..., -1:])
      scores = jnp.where(scores >= kth, scores, jnp.finfo(scores.dtype).min)
    sink = jnp.broadcast_to(sink_score[:, None, None], scores.shape[:-1] + (1,))
    weights = jax.nn.softmax(jnp.concatenate([sink, scores], -1), axis=-1)
    to_memory = weights[..., 1:]
    if live is None:
      out = jnp.einsum('bkhqs,bshd->bkqhd', to_memory, v)
    else:  # same values; the gradient reaches the memory through live elements only
      out = (jnp.einsum('bkhqs,bshd->bkqhd', to_memory, fixed_v)
             + jnp.einsum('bkhqs,bshd->bkqhd', to_memory * live[:, :, None, None, :],
                          v - fixed_v))
    out = out + jnp.einsum('bkhq,hd->bkqhd', weights[..., 0], sink_value)
    return nn.DenseGeneral(d, axis=(-2, -1), name='out')(out)


class CrossAttentionCore(nn.Module):
  """Queries `[B, K, Q, d]` attend over memory `[B, S, d]` -> `[B, K, Q, d]`.

  Pre-norm transformer blocks of cross-attention and MLP. Queries do not attend to each
  other, so Q queries are Q independent questions. mask, live: see `CrossAttention`.
  """
  layers: int = 2
  heads: int = 4
  top_k: int = 0

  @nn.compact
  def __call__(self, queries, memory, mask, live=None):
    norm = nn.LayerNorm()
    fixed = None if live is None else norm(jax.lax.stop_gradient(memory))
    memory = norm(memory)
    x = queries
    for _ in range(self.layers):
      x = x + CrossAttention(self.heads, self.top_k)(nn.LayerNorm()(x), memory, mask, live,
                                                     fixed)
      d = x.shape[-1]
      x = x + nn.Dense(d)(nn.gelu(nn.Dense(4 * d)(nn.LayerNorm()(x))))
    return nn.LayerNorm()(x)


class PastFuture(nn.Module):
  """The whole model. Methods are used one at a time by the trainer's scan over chunks.

  memory: 'slot', 'lstm' or 'none'. slots: the most chunks a tour can have (slot memory
  size; static so the step compiles once per tour length).
  """
  memory: str = 'slot'
  slots: int = 24
  width: int = 64
  features: int = 128
  time_pool: int = 4
  grid: int = 2
  layers: int = 2
  heads: int = 4
  top_k: int = 0

  def setup(self):
    if self.memory not in MEMORIES:
      raise ValueError(f'model.memory must be one of {MEMORIES}, got {self.memory!r}')
    self.adapter = Adapter(self.width, self.features, self.time_pool, self.grid)
    self.core = CrossAttentionCore(self.layers, self.heads, self.top_k)
    self.predictor = nn.Dense(1)
    if self.memory == 'lstm':
      self.lstm = nn.OptimizedLSTMCell(self.features)

  def __call__(self, chunk, queries):
    """Init helper: one chunk `[B, T', h, w, C]` written, queries `[B, Q, ...]` read."""
    state = self.write(self.empty_memory(chunk.shape[0]), self.embed(chunk), 0)
    return self.read(self.embed_queries(queries), state)

  def embed(self, chunk):
    return self.adapter(chunk)

  def embed_queries(self, queries):
    """`[B, Q, T', h, w, C]` -> `[B, Q, features]`."""
    b, q = queries.shape[:2]
    return self.adapter(queries.reshape(b * q, *queries.shape[2:])).reshape(b, q, -1)

  def empty_memory(self, batch: int) -> dict[str, Any]:
    """The memory before any chunk: fixed shapes, so it can be a scan carry."""
    d = self.features
    if self.memory == 'slot':
      return dict(slots=jnp.zeros((batch, self.slots, d)),
                  filled=jnp.zeros((batch, self.slots), bool))
    if self.memory == 'lstm':
      return dict(c=jnp.zeros((batch, d)), h=jnp.zeros((batch, d)))
    return {}

  def write(self, state, vector, t):
    """Memory after observing chunk `t` whose adapter vector is `vector` `[B, d]`."""
    if self.memory == 'slot':
      return dict(slots=state['slots'].at[:, t].set(vector),
                  filled=state['filled'].at[:, t].set(True))
    if self.memory == 'lstm':
      (c, h), _ = self.lstm((state['c'], state['h']), vector)
      return dict(c=c, h=h)
    return state

  def read(self, queries, state):
    """Past/future logits `[B, Q]` (positive = past) for query vectors `[B, Q, d]`."""
    b, _, d = queries.shape
    if self.memory == 'slot':
      memory, mask = state['slots'], state['filled']
    elif self.memory == 'lstm':
      memory, mask = state['h'][:, None], jnp.ones((b, 1), bool)
    else:
      memory, mask = jnp.zeros((b, 0, d)), jnp.zeros((b, 0), bool)
    return self.read_steps(queries[:, None], dict(memory=memory, mask=mask[:, None]))[:, 0]

  def read_steps(self, queries, view):
    """Logits `[B, K, Q]` for queries `[B, K, Q, d]` asked at K steps of `view` (from
    `memories_after`: one memory `[B, S, d]` and what each step sees of it)."""
    logits = self.predictor(self.core(queries, view['memory'], view['mask'], view.get('live')))
    return logits[..., 0]

  def memories_after(self, state, vectors, steps):
    """What each of K consecutive steps reads, built at once for training.

    state: memory before the first step; vectors `[B, K, d]` of the chunks observed at
    steps `steps` `[B, K]` (memory slots; each lane of the batch has its own; -1 writes
    nothing). Returns (view, memory after the last step). Reading the view at step k
    equals reading the memory after writing the K vectors one by one, but only vector k
    reaches step k with a gradient: what earlier steps wrote is a constant (per-chunk
    backprop).
    """
    b, k, d = vectors.shape
    fixed = jax.lax.stop_gradient(vectors)
    if self.memory == 'slot':
      at = jax.nn.one_hot(steps, self.slots, dtype=vectors.dtype)  # [B, K, S]
      written = jnp.einsum('bks->bs', at) > 0
      slots = jnp.where(written[..., None], jnp.einsum('bks,bkd->bsd', at, vectors),
                        state['slots'])
      seen = jnp.cumsum(at, axis=1) > 0  # written at this step or before
      view = dict(memory=slots, mask=seen | state['filled'][:, None], live=at > 0)
      last = dict(slots=slots, filled=view['mask'][:, -1])
      return view, jax.tree.map(jax.lax.stop_gradient, last)
    if self.memory == 'lstm':
      previous, carry = [], (state['c'], state['h'])
      for j in range(k):  # the cheap recurrence alone, without gradient
        previous.append(carry)
        carry = self.lstm(carry, fixed[:, j])[0]
      c_prev, h_prev = (jnp.stack(x, 1) for x in zip(*previous))
      _, h = self.lstm((c_prev, h_prev), vectors)[0]  # every step at once, batched
      own = jnp.broadcast_to(jnp.eye(k, dtype=bool), (b, k, k))  # step k reads h_k only
      return dict(memory=h, mask=own), dict(c=carry[0], h=carry[1])
    return dict(memory=jnp.zeros((b, 0, d)), mask=jnp.zeros((b, k, 0), bool)), {}


def make_model(model_config, memory: str, slots: int) -> PastFuture:
  return PastFuture(memory=memory, slots=slots, **dict(model_config))
