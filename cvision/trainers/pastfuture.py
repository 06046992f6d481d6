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

from cvision import atomic_files
from cvision.data import codes_store, tour_codes
from cvision.evaluators import pastfuture as report
from cvision.models import pastfuture
from cvision.train_lib import checkpoint, loop, sharding, state as state_lib
from cvision.trainers import encode


def _crop(chunk, offset, crop: int):
  """`[T', H', W', N]` -> `[T', crop, crop, N]` at `offset` (y, x) in code cells."""
  t, _, _, n = chunk.shape
  return jax.lax.dynamic_slice(chunk, (0, offset[0], offset[1], 0), (t, crop, crop, n))


def crop_chunks(codes, offsets, crop: int):
  """`[B, K, T', H', W', N]` at offsets `[B, K, 2]` -> `[B, K, T', crop, crop, N]`."""
  return jax.vmap(jax.vmap(lambda c, o: _crop(c, o, crop)))(codes, offsets)


def train_segment(state, memory, batch, codebooks, *, model, tx, crop: int):
  """K steps of every lane of a batch, then one update from their mean gradient.

  batch: `chunks` uint8 `[B, K, T', H', W', N]` observed at steps `t` `[B, K]` (memory
  slots) and `queries` `[B, Q, ...]` asked at every step, with the fields of
  `tour_codes.LaneSchedule.segment` (leading `[B]`); memory: each lane's memory before
  these steps (emptied where `reset`). Each step's gradient reaches the adapter through
  its own chunk and the queries only (the memory it reads holds earlier chunks as
  constants), so the K steps are computed side by side, which is exactly the mean of K
  per-step gradients and runs as batched convs. Padded steps (`valid` false) add nothing.
  """
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
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  state = state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                        opt_state=opt_state)
  right = ((logits > 0) == (batch['label'] > 0.5)) * weights
  return state, memory, dict(loss=loss, accuracy=right.sum() / jnp.maximum(weights.sum(), 1.0),
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


class Training:
  """A memory's model, train state, lane memories and compiled update, ready to run.

  Update u takes the next `task.chunks_per_update` steps (0: a whole tour) of each of
  `task.batch_tours` lanes (see `tour_codes.LaneSchedule`). With `task.chunk_jitter` a
  sub-tour cuts its tour into chunks from a random first code frame (one chunk fewer),
  so the chunks seen in training differ from one pass to the next. With
  `task.train_chunks` > 0 the sub-tours of the first `task.window_updates` updates are
  that many chunks from anywhere in a tour: a curriculum for long tours, where a model
  trained on whole tours from the start did not learn to match chunks at all (the model
  has no parameter per slot, so the same one then reads whole tours). The lane memories
  are part of the checkpoint, so a resumed run continues exactly where it stopped.
  """

  def __init__(self, config, memory_name: str, tours: dict, codebooks, mesh):
    self.config, self.mesh, self.codebooks = config, mesh, codebooks
    chunked = [tours[vid] for vid in sorted(tours)]
    self.chunk_len = chunked[0].shape[1]
    self.frames = [t.reshape(-1, *t.shape[2:]) for t in chunked]
    jitter = config.task.get('chunk_jitter', False)
    # Tours are cut to the shortest, so every sub-tour fits the same memory.
    self.chunks = min(len(t) for t in chunked) - (1 if jitter else 0)
    task, lanes = config.task, config.task.batch_tours
    self.schedule = tour_codes.LaneSchedule(
        seed=config.seed, lanes=lanes, tours=len(chunked), chunks=self.chunks,
        per_update=task.chunks_per_update, chunk_len=self.chunk_len, jitter=jitter,
        code_size=chunked[0].shape[2], crop=task.crop, queries=task.queries_per_update,
        window=task.get('train_chunks', 0), window_updates=task.get('window_updates', 0))
    self.updates_per_tour = -(-self.chunks // self.schedule.per_update)
    self.lanes = range(lanes)[sharding.host_batch_slice(lanes)]  # this host's lanes
    windows_only = self.schedule.window_updates >= config.train.steps
    self.model = pastfuture.make_model(config.model, memory_name,
                                       self.schedule.window if windows_only else self.chunks)
    tx = state_lib.make_optimizer(config.train)
    crop = task.crop
    sample = pastfuture.code_embeddings(jnp.asarray(chunked[0][:1, :, :crop, :crop]), codebooks)

    def init(rng):
      params = self.model.init(rng, sample, sample[:, None])['params']
      return dict(state=state_lib.create_state(params, {}, tx),
                  memory=self.model.apply({'params': params}, lanes,
                                          method=self.model.empty_memory))

    rng = jax.random.key(config.seed)
    abstract = jax.eval_shape(init, rng)
    self.shardings = dict(state=sharding.state_shardings(mesh, abstract['state']),
                          memory=jax.tree.map(lambda _: sharding.batch_sharding(mesh),
                                              abstract['memory']))
    self.carry = jax.jit(init, out_shardings=self.shardings)(rng)
    self._update = jax.jit(functools.partial(train_segment, model=self.model, tx=tx, crop=crop),
                           donate_argnums=(0, 1))

  @property
  def state(self):
    return self.carry['state']

  def _chunks(self, sub: tour_codes.SubTour, positions: np.ndarray) -> np.ndarray:
    """Codes `[len(positions), chunk_len, H', W', N]` of a sub-tour's chunks."""
    starts = sub.frame_offset + (sub.first_chunk + positions) * self.chunk_len
    return np.stack([self.frames[sub.tour][s:s + self.chunk_len] for s in starts])

  def _batch(self, update: int) -> dict:
    """This host's lanes at `update`: their codes and steps, stacked."""
    rows = []
    for lane in self.lanes:
      sub, part = self.schedule.segment(lane, update)
      rows.append(dict(part, chunks=self._chunks(sub, np.maximum(part['t'], 0)),
                       queries=self._chunks(sub, part['query_t'])))
    return {k: np.stack([r[k] for r in rows]) for k in rows[0]}

  def updates(self, first: int, last: int):
    """Makes updates `first`..`last - 1`; yields the stats of each."""
    for update in range(first, last):
      batch = sharding.put_batch(self._batch(update), self.mesh)
      state, memory, stats = self._update(self.carry['state'], self.carry['memory'], batch,
                                          self.codebooks)
      self.carry = dict(state=state, memory=memory)
      yield stats


def train_memory(config, memory_name, tours, codebooks, workdir, mesh):
  """Trains one memory on the train tours (resuming from `workdir`); returns model, params."""
  training = Training(config, memory_name, tours, codebooks, mesh)
  manager = checkpoint.make_manager(workdir, 1, keep=1)
  training.carry = checkpoint.restore_or(manager, training.carry, training.shardings)
  writer = loop.make_writer(workdir)
  progress = loop.make_progress(config.train.steps, writer)
  step = saved = int(training.state.step)
  history = []
  logging.info('%s memory: %d updates of %d lanes x %d steps x %d queries (a tour is %d '
               'chunks; the first %d updates on windows of %d); from update %d',
               memory_name, config.train.steps, config.task.batch_tours,
               training.schedule.per_update, config.task.queries_per_update, training.chunks,
               training.schedule.window_updates, training.schedule.window, step)
  for stats in training.updates(step, config.train.steps):
    step += 1
    loop.check_finite(step, stats)
    history.append(stats)
    progress(step)
    if step % config.train.log_every == 0 or step == config.train.steps:
      writer.write_scalars(step, loop.mean_metrics(history))
      history = []
    if step - saved >= config.train.ckpt_every or step >= config.train.steps:
      checkpoint.save(manager, step, training.carry, force=True)
      saved = step
  manager.wait_until_finished()
  manager.close()
  writer.flush()
  return training.model, training.state.params


def evaluate_memory(config, model, params, tours, codebooks) -> dict:
  """Accuracy on every tour of a split, with fixed (seeded) crops and queries.

  Every query chunk is cropped unlike the chunk stored in memory. The slot memory is
  sized to each tour (the number of slots is a shape, not a parameter).
  """
  crop, code_size = config.task.crop, next(iter(tours.values())).shape[2]
  logits, labels, compiled = [], [], {}
  for i, vid in enumerate(sorted(tours)):
    codes = tours[vid]
    n = len(codes)
    if n not in compiled:
      compiled[n] = jax.jit(functools.partial(evaluate_tours, model=model.clone(slots=n),
                                              crop=crop))
    fn = compiled[n]
    rng = np.random.default_rng([config.seed, 7, i])
    asked = min(n, config.task.eval_queries)
    index = np.stack([rng.permutation(n)[:asked] for _ in range(n)])  # [n, E]
    chunk_offset = rng.integers(0, code_size - crop + 1, size=(n, 2))
    query_offset = tour_codes.different_crops(rng, chunk_offset, code_size, crop)
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


# Settings that change neither what is trained nor what is measured.
_NOT_IDENTITY = {'task': ('memories',), 'train': ('log_every', 'ckpt_every')}


def run_identity(config, codec_fingerprint: str, video_ids: dict) -> dict:
  """What makes a run's checkpoints and results its own: data, task, model, training,
  seed, codec and the exact videos of each split."""
  identity = {block: {k: v for k, v in config[block].to_dict().items()
                      if k not in _NOT_IDENTITY.get(block, ())}
              for block in ('data', 'task', 'model', 'train')}
  identity.update(seed=config.seed, codec=codec_fingerprint,
                  videos={split: sorted(ids) for split, ids in video_ids.items()})
  return json.loads(json.dumps(identity))  # tuples as lists, as they come back from disk


def run(config, workdir: str, mesh):
  codec = ensure_codec(config, workdir, mesh)
  tours, sizes = load_tours(codec, config, workdir)
  checkpoint.claim_workdir(workdir, run_identity(
      config, codec.fingerprint, {split: list(videos) for split, videos in tours.items()}))
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
    atomic_files.write_json(results_path, results, indent=2)
  _write_report(config, workdir, results, tours['test'], sizes['test'])


def _write_report(config, workdir, results, test_tours, test_sizes):
  results = {m: results[m] for m in config.task.memories}
  described = dict(count=len(test_tours),
                   chunks=int(np.mean([len(t) for t in test_tours.values()])),
                   minutes=np.mean([s['frames'] / s['fps'] for s in test_sizes.values()]) / 60,
                   code_bytes=sum(s['code_bytes'] for s in test_sizes.values()),
                   raw_rgb_bytes=sum(s['raw_rgb_bytes'] for s in test_sizes.values()))
  table = report.summary_table(results, described)
  atomic_files.write_text(os.path.join(workdir, 'results.md'), table + '\n')
  report.plot_by_position(results, os.path.join(workdir, 'accuracy_by_position.png'))
  writer = loop.make_writer(workdir)
  writer.write_texts(0, {'pastfuture_results': table})
  for memory, r in results.items():
    writer.write_scalars(config.train.steps, {f'test_accuracy/{memory}': r['test']['accuracy']})
  writer.flush()
  print(table)
