"""Past-future (CV §4.6, App. D): is this 5-second clip in the past or the future?

Training is causal and per chunk: at step t the model observes chunk t, writes it to
memory, and answers the step's queries. The gradient of that step reaches the adapter
through chunk t and the queries only; what earlier steps wrote is a constant (as in the
paper: "backpropagation over these chunks individually"), so memory use does not grow
with the tour. Gradients of the steps of `task.chunks_per_update` chunks are averaged
into one update. The carry `{'state', 'memory'}` holds the train state and every lane's
memory, and is checkpointed whole, so a resumed run continues exactly where it stopped.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cvision.data import tour_codes
from cvision.models import pastfuture
from cvision.train_lib import sharding, state as state_lib


def _crop(chunk, offset, crop: int):
  """`[T', H', W', N]` -> `[T', crop, crop, N]` at `offset` (y, x) in code cells."""
  t, _, _, n = chunk.shape
  return jax.lax.dynamic_slice(chunk, (0, offset[0], offset[1], 0), (t, crop, crop, n))


def crop_chunks(codes, offsets, crop: int):
  """`[B, K, T', H', W', N]` at offsets `[B, K, 2]` -> `[B, K, T', crop, crop, N]`."""
  return jax.vmap(jax.vmap(lambda c, o: _crop(c, o, crop)))(codes, offsets)


def train_segment(carry, batch, codebooks, *, model, crop: int):
  """K steps of every lane of a batch, then one update from their mean gradient.

  batch: `chunks` `[B, K, T', H', W', N]` observed at steps `t` `[B, K]` (memory slots)
  and `queries` `[B, Q, ...]` asked at every step, with the fields of
  `tour_codes.LaneSchedule.segment` (leading `[B]`); carry['memory']: each lane's memory
  before these steps (emptied where `reset`). Each step's gradient reaches the adapter
  through its own chunk and the queries only (the memory it reads holds earlier chunks
  as constants), so the K steps are computed side by side, which is exactly the mean of K
  per-step gradients and runs as batched convs. Padded steps (`valid` false) add nothing.
  """
  state, memory = carry['state'], carry['memory']

  def embedded(codes, offsets):
    return pastfuture.code_embeddings(crop_chunks(codes, offsets, crop), codebooks)

  chunks = embedded(batch['chunks'], batch['chunk_offset'])
  queries = embedded(batch['queries'], batch['query_offset'])
  b, k, q = batch['label'].shape
  empty = model.apply({'params': state.params}, b, method=model.empty_memory)
  memory = jax.tree.map(
      lambda e, m: jnp.where(batch['reset'].reshape((b,) + (1,) * (m.ndim - 1)), e, m),
      empty, memory)
  weights = jnp.broadcast_to(batch['valid'][:, :, None], (b, k, q)).astype(jnp.float32)

  def loss_fn(params):
    v = {'params': params}
    vectors = model.apply(v, chunks.reshape(b * k, *chunks.shape[2:]), method=model.embed)
    view, after = model.apply(v, memory, vectors.reshape(b, k, -1), batch['t'],
                              method=model.memories_after)
    asked = model.apply(v, queries, method=model.embed_queries)  # [B, Q, d]
    asked = jnp.broadcast_to(asked[:, None], (b, k) + asked.shape[1:])
    logits = model.apply(v, asked, view, method=model.read_steps)  # [B, K, Q]
    losses = optax.sigmoid_binary_cross_entropy(logits, batch['label'])
    return (losses * weights).sum() / jnp.maximum(weights.sum(), 1.0), (after, logits)

  (loss, (memory, logits)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  right = ((logits > 0) == (batch['label'] > 0.5)) * weights
  return dict(state=state.apply_gradients(grads), memory=memory), dict(
      loss=loss, accuracy=right.sum() / jnp.maximum(weights.sum(), 1.0),
      grad_norm=optax.tree.norm(grads))


def evaluate_tours(params, observed, queried, chunk_offset, query_offset, query_index,
                   codebooks, *, model, crop: int):
  """Logits `[B, n, E]`: at step t, after observing chunks 0..t of `observed`, for the
  chunks `query_index[:, t]` of `queried` (each cropped at its own `query_offset`).

  observed, queried: `[B, n, T', H', W', N]` (the same tours; separate so a test can
  change the future of what is observed without touching the queries).
  """
  v = {'params': params}

  def vectors(codes, offsets):  # one adapter vector per chunk, chunk by chunk
    def one(args):
      chunk, offset = args
      crops = jax.vmap(lambda c, o: _crop(c, o, crop))(chunk, offset)
      return model.apply(v, pastfuture.code_embeddings(crops, codebooks), method=model.embed)
    return jnp.swapaxes(jax.lax.map(one, (jnp.swapaxes(codes, 0, 1),
                                          jnp.swapaxes(offsets, 0, 1))), 0, 1)

  chunk_vectors = vectors(observed, chunk_offset)  # [B, n, d]
  query_vectors = vectors(queried, query_offset)  # [B, n, d]

  def step(memory, xs):
    t, vector, index = xs
    memory = model.apply(v, memory, vector, t, method=model.write)
    asked = jnp.take_along_axis(query_vectors, index[:, :, None], axis=1)
    return memory, model.apply(v, asked, memory, method=model.read)

  b, n = observed.shape[:2]
  memory = model.apply(v, b, method=model.empty_memory)
  _, logits = jax.lax.scan(step, memory, (jnp.arange(n), jnp.swapaxes(chunk_vectors, 0, 1),
                                          jnp.swapaxes(query_index, 0, 1)))
  return jnp.swapaxes(logits, 0, 1)


class Lanes:
  """What each lane of a training batch observes: the batches of every update.

  Update u takes the next `task.chunks_per_update` steps (0: a whole tour) of each of
  `task.batch_tours` lanes (see `tour_codes.LaneSchedule`). With `task.chunk_jitter` a
  sub-tour cuts its tour into chunks from a random first code frame (one chunk fewer),
  so the chunks seen in training differ from one pass to the next. With
  `task.train_chunks` > 0 the sub-tours of the first `task.window_updates` updates are
  that many chunks from anywhere in a tour: a curriculum for long tours, where a model
  trained on whole tours from the start did not learn to match chunks at all (the model
  has no parameter per slot, so the same one then reads whole tours).
  """

  def __init__(self, config, tours: dict):
    chunked = [tours[vid] for vid in sorted(tours)]
    self.chunk_len = chunked[0].shape[1]
    self.frames = [t.reshape(-1, *t.shape[2:]) for t in chunked]
    task = config.task
    # Tours are cut to the shortest, so every sub-tour fits the same memory.
    self.chunks = min(len(t) for t in chunked) - (1 if task.chunk_jitter else 0)
    self.schedule = tour_codes.LaneSchedule(
        seed=config.seed, lanes=task.batch_tours, tours=len(chunked), chunks=self.chunks,
        per_update=task.chunks_per_update, chunk_len=self.chunk_len, jitter=task.chunk_jitter,
        code_size=chunked[0].shape[2], crop=task.crop, queries=task.queries_per_update,
        window=task.train_chunks, window_updates=task.window_updates)
    self.updates_per_tour = -(-self.chunks // self.schedule.per_update)
    self.lanes = range(task.batch_tours)[sharding.host_batch_slice(task.batch_tours)]
    # Trained on windows only, the slot memory needs no room for whole tours.
    windows_only = self.schedule.window_updates >= config.train.steps
    self.slots = self.schedule.window if windows_only else self.chunks
    self.sample = chunked[0][:1, :, :task.crop, :task.crop]  # one chunk, cropped

  def _chunks(self, sub: tour_codes.SubTour, positions: np.ndarray) -> np.ndarray:
    """Codes `[len(positions), chunk_len, H', W', N]` of a sub-tour's chunks."""
    starts = sub.frame_offset + (sub.first_chunk + positions) * self.chunk_len
    return np.stack([self.frames[sub.tour][s:s + self.chunk_len] for s in starts])

  def batch(self, update: int) -> dict:
    """This host's lanes at `update`: their codes and steps, stacked."""
    rows = []
    for lane in self.lanes:
      sub, part = self.schedule.segment(lane, update)
      rows.append(dict(part, chunks=self._chunks(sub, np.maximum(part['t'], 0)),
                       queries=self._chunks(sub, part['query_t'])))
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]}

  def batches(self, first: int, last: int):
    return (self.batch(update) for update in range(first, last))


def setup(config, memory_name: str, lanes: Lanes, codebooks, mesh):
  """`(model, init, shardings_of, update)` for one memory: `init(rng)` makes the carry,
  `shardings_of(abstract carry)` lays it out (lane memories split over `data`), and
  `update(shardings)` compiles `train_segment` with those shardings."""
  model = pastfuture.make_model(config.model, memory_name, lanes.slots)
  tx = state_lib.make_optimizer(config.train)
  sample = pastfuture.code_embeddings(jnp.asarray(lanes.sample), codebooks)
  count = config.task.batch_tours

  def init(rng):
    params = model.init(rng, sample, sample[:, None])['params']
    return dict(state=state_lib.TrainState.create(params, tx),
                memory=model.apply({'params': params}, count, method=model.empty_memory))

  def shardings_of(abstract):
    return dict(state=sharding.state_shardings(mesh, abstract['state'], config.shard_rules),
                memory=jax.tree.map(lambda _: sharding.batch_sharding(mesh),
                                    abstract['memory']))

  def update(shardings):
    whole = sharding.replicated(mesh)
    step = jax.jit(functools.partial(train_segment, model=model, crop=config.task.crop),
                   in_shardings=(shardings, sharding.batch_sharding(mesh), whole),
                   out_shardings=(shardings, whole), donate_argnums=(0,))
    return lambda carry, batch: step(carry, batch, codebooks)

  return model, init, shardings_of, update
