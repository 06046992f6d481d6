"""The `pastfuture` stage (CV §4.6, App. D): is this 5-second clip in the past or the future?

One command: the codec is trained first if the config's codec workdir has none, the
train/val/test tours are encoded into a codes store (reused when already there), then
each memory (slot, LSTM, none) is trained and tested; the run ends with a table and a
plot of accuracy against position in the tour. Every phase resumes where it stopped.

Training is causal and per chunk: at step t the model observes chunk t, writes it to
memory, and answers the step's queries. The gradient of that step reaches the adapter
through chunk t and the queries only; what earlier steps wrote is a constant (as in the
paper: "backpropagation over these chunks individually"), so memory use does not grow
with the tour. Gradients of the steps of `task.chunks_per_update` chunks are averaged
into one update.
"""
import functools
import json
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging

from cvision.data import codes_store, tour_codes
from cvision.evaluators import pastfuture as report
from cvision.models import pastfuture
from cvision.train_lib import checkpoint, loop, sharding, state as state_lib
from cvision.trainers import encode


def _crop(chunk, offset, crop: int):
  """`[T', H', W', N]` -> `[T', crop, crop, N]` at `offset` (y, x) in code cells."""
  t, _, _, n = chunk.shape
  return jax.lax.dynamic_slice(chunk, (0, offset[0], offset[1], 0), (t, crop, crop, n))


def _step_inputs(codes, codebooks, t, chunk_offset, query_index, query_offset, crop):
  """Embedded chunk t `[B, T', c, c, C]` and query chunks `[B, Q, T', c, c, C]`."""
  chunk = jax.vmap(lambda c, o: _crop(c[t], o, crop))(codes, chunk_offset)
  queries = jax.vmap(lambda c, qi, qo: jax.vmap(lambda i, o: _crop(c[i], o, crop))(qi, qo))(
      codes, query_index, query_offset)
  return (pastfuture.code_embeddings(chunk, codebooks),
          pastfuture.code_embeddings(queries, codebooks))


def train_segment(state, memory, codes, episode, codebooks, *, model, tx, crop: int):
  """Steps `episode['t']` of a batch of tours, then one update from their mean gradient.

  codes: uint8 `[B, n, T', H', W', N]`; episode: per-step arrays with leading `[B, K]`
  (`t` is `[K]`); memory: the model's memory before the first of these steps. Each
  step's gradient reaches the adapter through its own chunk and queries only (the
  memory it reads holds earlier chunks as constants), so the K steps are computed side
  by side, which is exactly the mean of K per-step gradients and runs as batched convs.
  """
  inputs = jax.vmap(functools.partial(_step_inputs, crop=crop),
                    in_axes=(None, None, 0, 1, 1, 1), out_axes=1)
  chunks, queries = inputs(codes, codebooks, episode['t'], episode['chunk_offset'],
                           episode['query_index'], episode['query_offset'])
  b, k, q = episode['label'].shape

  def loss_fn(params):
    v = {'params': params}
    vectors = model.apply(v, chunks.reshape(b * k, *chunks.shape[2:]), method=model.embed)
    per_step, after = model.apply(v, memory, vectors.reshape(b, k, -1), episode['t'],
                                  method=model.memories_after)
    per_step = jax.tree.map(lambda x: x.reshape(b * k, *x.shape[2:]), per_step)
    asked = model.apply(v, queries.reshape(b * k, *queries.shape[2:]),
                        method=model.embed_queries)
    logits = model.apply(v, asked, per_step, method=model.read).reshape(b, k, q)
    loss = optax.sigmoid_binary_cross_entropy(logits, episode['label']).mean()
    return loss, (after, logits)

  (loss, (memory, logits)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  state = state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                        opt_state=opt_state)
  accuracy = ((logits > 0) == (episode['label'] > 0.5)).mean()
  return state, memory, dict(loss=loss, accuracy=accuracy, grad_norm=optax.tree.norm(grads))


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


class Training:
  """A memory's model, train state and compiled update, ready to run episodes.

  An episode is one pass over a batch of tours from their first chunk, the memory
  starting empty; it makes one update per `task.chunks_per_update` chunks. With
  `task.chunk_jitter` each episode cuts a tour into chunks from a random first code frame
  (one chunk fewer), so the chunks seen in training differ from episode to episode.
  """

  def __init__(self, config, memory_name: str, tours: dict, codebooks, mesh):
    self.config, self.mesh, self.codebooks = config, mesh, codebooks
    chunked = [tours[vid] for vid in sorted(tours)]
    self.chunk_len = chunked[0].shape[1]
    self.frames = [t.reshape(-1, *t.shape[2:]) for t in chunked]
    self.jitter = config.task.get('chunk_jitter', False)
    # Tours of a batch are cut to the shortest.
    self.chunks = min(len(t) for t in chunked) - (1 if self.jitter else 0)
    self.model = pastfuture.make_model(config.model, memory_name, max(len(t) for t in chunked))
    per_update = config.task.chunks_per_update or self.chunks
    self.segments = [np.arange(s, min(s + per_update, self.chunks))
                     for s in range(0, self.chunks, per_update)]
    tx = state_lib.make_optimizer(config.train)
    crop = config.task.crop
    sample = pastfuture.code_embeddings(jnp.asarray(chunked[0][:1, :, :crop, :crop]), codebooks)

    def init(rng):
      params = self.model.init(rng, sample, sample[:, None])['params']
      return state_lib.create_state(params, {}, tx)

    rng = jax.random.key(config.seed)
    self.shardings = sharding.state_shardings(mesh, jax.eval_shape(init, rng))
    self.state = jax.jit(init, out_shardings=self.shardings)(rng)
    self._update = jax.jit(functools.partial(train_segment, model=self.model, tx=tx, crop=crop),
                           donate_argnums=(0,))

  def _chunks(self, tour: int, offset: int) -> np.ndarray:
    frames = self.frames[tour][offset:offset + self.chunks * self.chunk_len]
    return frames.reshape(self.chunks, self.chunk_len, *frames.shape[1:])

  def episode(self, index: int, last_update: int | None = None):
    """Yields the stats of each update of episode `index` (deterministic by seed)."""
    config, batch = self.config, self.config.task.batch_tours
    rng = np.random.default_rng([config.seed, index])
    picks = rng.choice(len(self.frames), size=batch, replace=len(self.frames) < batch)
    offsets = rng.integers(0, self.chunk_len, size=batch) if self.jitter else [0] * batch
    codes = sharding.put_batch(np.stack([self._chunks(i, o) for i, o in zip(picks, offsets)]),
                               self.mesh)
    plans = [tour_codes.sample_episode(rng, self.chunks, config.task.queries_per_step,
                                       self.frames[0].shape[1], config.task.crop)
             for _ in picks]
    memory = self.model.apply({'params': self.state.params}, batch,
                              method=self.model.empty_memory)
    for steps in self.segments[:last_update]:
      part = sharding.put_batch({k: np.stack([p[k][steps] for p in plans]) for k in plans[0]},
                                self.mesh)
      self.state, memory, stats = self._update(self.state, memory, codes,
                                               dict(part, t=jnp.asarray(steps)), self.codebooks)
      yield stats


def train_memory(config, memory_name, tours, codebooks, workdir, mesh):
  """Trains one memory on the train tours (resuming from `workdir`); returns model, params."""
  training = Training(config, memory_name, tours, codebooks, mesh)
  manager = checkpoint.make_manager(workdir, 1, keep=1)
  training.state = checkpoint.restore_or(manager, training.state, training.shardings)
  writer = loop.make_writer(workdir)
  progress = loop.make_progress(config.train.steps, writer)
  step, saved, history = int(training.state.step), int(training.state.step), []
  per_episode = len(training.segments)
  logging.info('%s memory: %d updates of %d tours x %d chunks (%d updates per episode); '
               'from update %d', memory_name, config.train.steps, config.task.batch_tours,
               training.chunks, per_episode, step)
  while step < config.train.steps:
    # Checkpoints fall at episode starts, so a resumed run replays no partial episode.
    episode = step // per_episode
    first_step = episode * per_episode  # the last episode may stop early
    for stats in training.episode(episode, last_update=config.train.steps - first_step):
      step += 1
      loop.check_finite(step, stats)
      history.append(stats)
      progress(step)
      if step % config.train.log_every == 0 or step == config.train.steps:
        writer.write_scalars(step, loop.mean_metrics(history))
        history = []
    if step - saved >= config.train.ckpt_every or step >= config.train.steps:
      checkpoint.save(manager, step, training.state, force=True)
      saved = step
  manager.wait_until_finished()
  manager.close()
  writer.flush()
  return training.model, training.state.params


def evaluate_memory(config, model, params, tours, codebooks) -> dict:
  """Accuracy on every tour of a split, with fixed (seeded) crops and queries."""
  crop, code_size = config.task.crop, next(iter(tours.values())).shape[2]
  fn = jax.jit(functools.partial(evaluate_tours, model=model, crop=crop))
  logits, labels = [], []
  for i, vid in enumerate(sorted(tours)):
    codes = tours[vid]
    n = len(codes)
    rng = np.random.default_rng([config.seed, 7, i])
    asked = min(n, config.task.eval_queries)
    index = np.stack([rng.permutation(n)[:asked] for _ in range(n)])  # [n, E]
    chunk_offset = rng.integers(0, code_size - crop + 1, size=(n, 2))
    query_offset = rng.integers(0, code_size - crop + 1, size=(n, 2))
    out = fn(params, codes[None], codes[None], chunk_offset[None], query_offset[None],
             index[None], codebooks)
    logits.append(np.asarray(out[0]))
    labels.append(tour_codes.past_labels(index, np.arange(n)[:, None]))
  # Tours may differ in length: position curves are per tour, then averaged.
  per_tour = [report.accuracy_by_step(l[None], y[None]) for l, y in zip(logits, labels)]
  accuracy = float(np.mean([((l > 0) == (y > 0.5)).mean() for l, y in zip(logits, labels)]))
  return dict(accuracy=accuracy, tours=len(tours),
              by_position=list(np.mean([report.by_position(a) for a in per_tour], 0)))


def load_tours(codec, config, workdir):
  """Encodes the splits if needed; returns `{split: {id: chunks}}` and size reports."""
  store_path = config.data.get('store') or os.path.join(workdir, 'codes')
  ids, sizes = tour_codes.ensure_encoded(codec, config.data, store_path,
                                         config.data.get('window', 128))
  store = codes_store.CodesStore.open(store_path, codes_store.codec_manifest(codec))
  tours = {}
  for split, vids in ids.items():
    if not vids:
      raise ValueError(f'the {split} split has no videos (data.num_{split} or the '
                       f'{split}/ folder)')
    fps = store.info(vids[0]).get('fps') or 25.0
    chunk_len = tour_codes.chunk_code_frames(config.data.chunk_seconds, fps,
                                             codec.model.time_factor)
    tours[split] = {vid: tour_codes.load_chunks(store, vid, chunk_len) for vid in vids}
    for vid in vids:
      sizes[split][vid]['fps'] = store.info(vid).get('fps') or 25.0
  return tours, sizes


def ensure_codec(config, workdir: str, mesh):
  """The codec of `config.codec` (default `<workdir>/codec`), trained first if absent."""
  return encode.ensure_codec(ml_collections.ConfigDict(dict(
      codec_workdir=config.codec.workdir or os.path.join(workdir, 'codec'),
      codec_config=config.codec.config)), mesh)


def run(config, workdir: str, mesh):
  codec = ensure_codec(config, workdir, mesh)
  tours, sizes = load_tours(codec, config, workdir)
  codebooks = jnp.asarray(codec.codebooks)
  results_path = os.path.join(workdir, 'results.json')
  results = {}
  if os.path.exists(results_path):
    with open(results_path) as f:
      results = json.load(f)
  for memory_name in config.task.memories:
    if memory_name in results:
      logging.info('%s memory already evaluated: kept (%s)', memory_name, results_path)
      continue
    model, params = train_memory(config, memory_name, tours['train'], codebooks,
                                 os.path.join(workdir, memory_name), mesh)
    results[memory_name] = {split: evaluate_memory(config, model, params, tours[split],
                                                   codebooks)
                            for split in ('val', 'test')}
    logging.info('%s: test accuracy %.4f', memory_name, results[memory_name]['test']['accuracy'])
    with open(results_path + '.tmp', 'w') as f:
      json.dump(results, f, indent=2)
    os.replace(results_path + '.tmp', results_path)
  _write_report(config, workdir, results, tours['test'], sizes['test'])


def _write_report(config, workdir, results, test_tours, test_sizes):
  results = {m: results[m] for m in config.task.memories}
  described = dict(count=len(test_tours),
                   chunks=int(np.mean([len(t) for t in test_tours.values()])),
                   minutes=np.mean([s['frames'] / s['fps'] for s in test_sizes.values()]) / 60,
                   code_bytes=sum(s['code_bytes'] for s in test_sizes.values()),
                   raw_rgb_bytes=sum(s['raw_rgb_bytes'] for s in test_sizes.values()))
  table = report.summary_table(results, described)
  with open(os.path.join(workdir, 'results.md'), 'w') as f:
    f.write(table + '\n')
  report.plot_by_position(results, os.path.join(workdir, 'accuracy_by_position.png'))
  writer = loop.make_writer(workdir)
  writer.write_texts(0, {'pastfuture_results': table})
  for memory, r in results.items():
    writer.write_scalars(config.train.steps, {f'test_accuracy/{memory}': r['test']['accuracy']})
  writer.flush()
  print(table)
