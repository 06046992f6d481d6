"""Past-future task: causality, labels, memories, chunk reads, one training update."""
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from cvision import codec_io, configs
from cvision.data import codes_store, sources, tour_codes
from cvision.models import pastfuture
from cvision.tasks import pastfuture as task
from cvision.train_lib import checkpoint, scaffold, sharding, state as state_lib
from cvision.trainers import pastfuture as trainer

SMALL = dict(width=8, features=16, time_pool=2, layers=1, heads=2)
CHUNKS, CHUNK_LEN, GRID, BOOKS, CROP = 6, 4, 5, 2, 4


def _codebooks():
  return jax.random.normal(jax.random.key(1), (BOOKS, 16, 3))


def _tours(batch=1, seed=0):
  rng = np.random.default_rng(seed)
  return rng.integers(0, 16, size=(batch, CHUNKS, CHUNK_LEN, GRID, GRID, BOOKS), dtype=np.uint8)


def _model_and_params(memory):
  model = pastfuture.PastFuture(memory=memory, slots=CHUNKS, **SMALL)
  x = pastfuture.code_embeddings(jnp.asarray(_tours()[:, 0, :, :CROP, :CROP]), _codebooks())
  return model, model.init(jax.random.key(0), x, x[:, None])['params']


def _evaluate(model, params, observed, queried):
  rng = np.random.default_rng(3)
  index = np.stack([rng.permutation(CHUNKS) for _ in range(CHUNKS)])[None]
  offsets = rng.integers(0, GRID - CROP + 1, size=(2, 1, CHUNKS, 2))
  fn = jax.jit(functools.partial(task.evaluate_tours, model=model, crop=CROP))
  return np.asarray(fn(params, observed, queried, offsets[0], offsets[1], index, _codebooks()))


@pytest.mark.parametrize('memory', pastfuture.MEMORIES)
def test_prediction_at_step_t_ignores_later_chunks(memory):
  model, params = _model_and_params(memory)
  tours = _tours()
  altered = tours.copy()
  t = 2
  altered[:, t + 1:] = _tours(seed=9)[:, t + 1:]
  before = _evaluate(model, params, tours, tours)
  after = _evaluate(model, params, altered, tours)  # same queries, another future
  np.testing.assert_allclose(before[:, :t + 1], after[:, :t + 1], atol=1e-6)
  if memory != 'none':  # memories do see the later chunks once they are observed
    assert np.abs(before[:, t + 1:] - after[:, t + 1:]).max() > 1e-4


def test_labels_at_the_boundaries():
  # At step t chunk t has just been observed: it is past; chunk t + 1 is future.
  assert tour_codes.past_labels(np.array(3), 3) == 1
  assert tour_codes.past_labels(np.array(4), 3) == 0
  assert tour_codes.past_labels(np.array(0), 0) == 1
  assert tour_codes.past_labels(np.array(1), 0) == 0
  schedule = _schedule(chunks=24, per_update=0, queries=8, code_size=8, crop=6)
  _, part = schedule.segment(0, 0)
  np.testing.assert_array_equal(part['label'], part['query_t'][None, :] <= part['t'][:, None])
  np.testing.assert_array_equal(part['t'][part['valid']], np.arange(part['valid'].sum()))
  assert np.all(part['t'][~part['valid']] == -1) and part['valid'].sum() >= 12
  with pytest.raises(ValueError, match='task.crop'):
    _schedule(chunks=4, per_update=0, queries=1, code_size=8, crop=9)


def _schedule(**kwargs):
  args = dict(seed=0, lanes=2, tours=3, chunks=CHUNKS, per_update=0, chunk_len=CHUNK_LEN,
              jitter=True, code_size=GRID, crop=CROP, queries=3)
  return tour_codes.LaneSchedule(**dict(args, **kwargs))


def test_evaluation_queries_are_cropped_unlike_the_stored_chunk():
  stored = np.random.default_rng(1).integers(0, 3, size=(200, 2))
  asked = tour_codes.different_crops(np.random.default_rng(0), stored, code_size=8, crop=6)
  assert asked.min() >= 0 and asked.max() <= 2
  assert not np.any(np.all(asked == stored, axis=-1))
  assert len(np.unique(asked[:, 0] * 3 + asked[:, 1])) == 9  # and otherwise anywhere
  whole = np.zeros((5, 2), int)
  same = tour_codes.different_crops(np.random.default_rng(0), whole, code_size=6, crop=6)
  np.testing.assert_array_equal(same, whole)  # a full-size crop has nowhere else to go


def test_lanes_walk_their_sub_tours_in_order_from_staggered_starts():
  schedule = _schedule(lanes=3, chunks=10, per_update=4)
  firsts = [schedule.sub_tour(lane, 0).first_chunk for lane in range(3)]
  assert firsts == [0, 3, 6]  # updates mix early and late positions of the tours
  for lane in range(3):
    update = 0
    for j in range(3):  # three sub-tours: every step once, in order, memory reset first
      sub = schedule.sub_tour(lane, j)
      assert sub.first_chunk == firsts[lane] if j == 0 else 0 <= sub.first_chunk <= 5
      assert sub.length == 10 - sub.first_chunk
      steps = []
      while not steps or steps[-1] < sub.length - 1:
        got, part = schedule.segment(lane, update)
        assert (got.tour, got.first_chunk) == (sub.tour, sub.first_chunk)
        assert bool(part['reset']) == (not steps)
        steps += list(part['t'][part['valid']])
        assert np.all(part['query_t'] < sub.length)
        update += 1
      assert steps == list(range(sub.length))
  again = _schedule(lanes=3, chunks=10, per_update=4)  # a resumed run sees the same data
  for key, value in schedule.segment(2, 5)[1].items():
    np.testing.assert_array_equal(value, again.segment(2, 5)[1][key])


def test_windows_cut_short_sub_tours_from_anywhere_then_whole_tours_follow():
  schedule = _schedule(lanes=2, chunks=40, per_update=6, window=6, window_updates=12)
  firsts = set()
  for lane in range(2):
    for j in range(12):
      sub = schedule.sub_tour(lane, j)
      assert sub.length == 6 and 0 <= sub.first_chunk <= 34
      firsts.add(sub.first_chunk)
      _, part = schedule.segment(lane, j)  # one update per window: all of it, memory reset
      assert bool(part['reset']) and list(part['t']) == list(range(6))
      assert np.all(part['query_t'] < 6)
    sub, part = schedule.segment(lane, 12)  # the curriculum's second part: whole tours
    assert sub.first_chunk <= 20 and sub.length == 40 - sub.first_chunk
    assert bool(part['reset']) and list(part['t']) == list(range(6))
    assert not schedule.segment(lane, 13)[1]['reset']  # a whole tour spans updates
  assert min(firsts) < 10 and max(firsts) > 24  # early and late windows alike
  again = _schedule(lanes=2, chunks=40, per_update=6, window=6, window_updates=12)
  for key, value in again.segment(1, 13)[1].items():  # a resumed run sees the same data
    np.testing.assert_array_equal(value, schedule.segment(1, 13)[1][key])
  with pytest.raises(ValueError, match='task.train_chunks'):
    _schedule(chunks=10, window=11)


def test_top_k_reads_only_the_best_matches():
  """With top_k = k, reading a long memory equals reading its k best matches alone."""
  rng = np.random.default_rng(0)
  query = rng.normal(size=(1, 1, 1, 16)).astype(np.float32)  # [B, K, Q, d]
  near = query[0, 0] + 0.05 * rng.normal(size=(2, 16)).astype(np.float32)
  far = rng.normal(size=(30, 16)).astype(np.float32)
  memory = jnp.asarray(np.concatenate([far[:10], near, far[10:]])[None])  # [1, 32, d]
  attention = pastfuture.CrossAttention(heads=2, top_k=2)
  params = attention.init(jax.random.key(0), query, memory, jnp.ones((1, 1, 32), bool))
  read = attention.apply(params, query, memory, jnp.ones((1, 1, 32), bool))
  best = pastfuture.CrossAttention(heads=2).apply(params, query, jnp.asarray(near[None]),
                                                  jnp.ones((1, 1, 2), bool))
  everything = pastfuture.CrossAttention(heads=2).apply(params, query, memory,
                                                        jnp.ones((1, 1, 32), bool))
  np.testing.assert_allclose(read, best, rtol=1e-5, atol=1e-6)
  assert not np.allclose(read, everything, atol=1e-3)  # the other 30 did count before


def test_memories_shapes_and_growth():
  vec = jnp.ones((3, SMALL['features']))
  queries = jnp.ones((3, 5, SMALL['features']))
  for memory in pastfuture.MEMORIES:
    model, params = _model_and_params(memory)
    v = {'params': params}
    state = model.apply(v, 3, method=model.empty_memory)
    sizes = []
    for t in range(4):
      state = model.apply(v, state, vec * t, t, method=model.write)
      sizes.append(jax.tree.map(jnp.shape, state))
      assert model.apply(v, queries, state, method=model.read).shape == (3, 5)
    assert all(s == sizes[0] for s in sizes)  # fixed shapes: a scan carry
    if memory == 'slot':
      assert state['slots'].shape == (3, CHUNKS, SMALL['features'])
      assert int(state['filled'][0].sum()) == 4  # one slot per observed chunk
      np.testing.assert_allclose(state['slots'][0, 3], 3.0)
    elif memory == 'lstm':
      assert state['h'].shape == (3, SMALL['features'])
    else:
      assert state == {}


def test_chunk_reads_equal_slices_of_the_full_video(tmp_path, tiny_codec):
  videos = sources.tour_sources([5], seconds=2.0, size=32)
  codec_io.encode_all(tiny_codec, str(tmp_path), videos, window=8, chunk_frames=6)
  store = codes_store.CodesStore.open(str(tmp_path))
  full = store.read('tour_000005')  # 25 code frames
  chunks = tour_codes.load_chunks(store, 'tour_000005', chunk_len=4)
  assert chunks.shape == (6, 4) + full.shape[1:]
  np.testing.assert_array_equal(chunks.reshape(24, *full.shape[1:]), full[:24])
  whole = tiny_codec.decode(full[None])[0]
  t = tiny_codec.model.time_factor
  window = codec_io.decode_window(tiny_codec, store, 'tour_000005', 8, 12)
  np.testing.assert_allclose(window, whole[8 * t:12 * t], atol=1e-5)
  with pytest.raises(ValueError, match='fewer than 2 chunks'):
    tour_codes.load_chunks(store, 'tour_000005', chunk_len=20)


def test_one_update_is_the_mean_of_per_chunk_gradients():
  """The update's gradient is the mean over steps of each step's own gradient, where
  what earlier steps wrote to memory is a constant (no backprop through the tour), and
  padded steps count for nothing."""
  model, params = _model_and_params('slot')
  tx = optax.sgd(1.0)  # new params = params - gradient
  state = state_lib.TrainState.create(params, tx)
  tours, codebooks = _tours(batch=2), _codebooks()
  schedule = _schedule(queries=3)
  parts = [schedule.segment(lane, 0)[1] for lane in range(2)]
  batch = {k: np.stack([p[k] for p in parts]) for k in parts[0]}
  batch['t'] = np.stack([np.arange(CHUNKS), np.arange(CHUNKS)])  # whole tours
  batch['t'][1, -1] = -1  # lane 1's last step is padding
  batch['valid'] = batch['t'] >= 0
  batch['label'] = tour_codes.past_labels(batch['query_t'][:, None], batch['t'][:, :, None])
  batch['chunk_offset'] = np.random.default_rng(1).integers(0, GRID - CROP + 1, (2, CHUNKS, 2))
  batch['chunks'] = np.stack([tours[i][batch['t'][i]] for i in range(2)])
  batch['queries'] = np.stack([tours[i][batch['query_t'][i]] for i in range(2)])
  memory = model.apply({'params': params}, 2, method=model.empty_memory)
  step = jax.jit(functools.partial(task.train_segment, model=model, crop=CROP))
  carry, _ = step(dict(state=state, memory=memory), jax.tree.map(jnp.asarray, batch), codebooks)
  new_state, new_memory = carry['state'], carry['memory']
  assert int(new_state.step) == 1 and int(new_memory['filled'].sum()) == 2 * CHUNKS - 1

  def crops(codes, offsets):
    cropped = task.crop_chunks(jnp.asarray(codes), jnp.asarray(offsets), CROP)
    return pastfuture.code_embeddings(cropped, codebooks)

  grads = []
  for t in range(CHUNKS):
    chunk = crops(batch['chunks'][:, t:t + 1], batch['chunk_offset'][:, t:t + 1])[:, 0]
    queries = crops(batch['queries'], batch['query_offset'])
    weight = batch['valid'][:, t].astype(np.float32)[:, None]

    def loss_t(p, memory=memory, chunk=chunk, queries=queries, t=t, weight=weight):
      v = {'params': p}
      written = model.apply(v, memory, model.apply(v, chunk, method=model.embed), t,
                            method=model.write)
      logits = model.apply(v, model.apply(v, queries, method=model.embed_queries), written,
                           method=model.read)
      loss = optax.sigmoid_binary_cross_entropy(logits, batch['label'][:, t])
      return (loss * weight).sum(), written

    g, memory = jax.grad(loss_t, has_aux=True)(params)
    grads.append(g)
  labels = batch['valid'].sum() * batch['label'].shape[-1]
  expected = jax.tree.map(lambda p, *g: p - sum(g) / labels, params, *grads)
  jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-4, atol=1e-6),
               new_state.params, expected)


@pytest.mark.parametrize('memory', pastfuture.MEMORIES)
def test_steps_read_side_by_side_equal_writing_one_by_one(memory):
  """K steps read at once from one memory view answer as if written one by one; a
  padded step (slot -1) writes nothing."""
  model, params = _model_and_params(memory)
  v = {'params': params}
  d = SMALL['features']
  vectors = jax.random.normal(jax.random.key(2), (2, 4, d))
  queries = jax.random.normal(jax.random.key(3), (2, 3, d))
  state = model.apply(v, 2, method=model.empty_memory)
  state = model.apply(v, state, jnp.ones((2, d)), 0, method=model.write)
  steps = jnp.array([[1, 2, 3, 4], [1, 2, 3, -1]])  # chunk 0 is already in memory
  view, after = model.apply(v, state, vectors, steps, method=model.memories_after)
  together = model.apply(v, jnp.broadcast_to(queries[:, None], (2, 4, 3, d)), view,
                         method=model.read_steps)
  for k in range(4):
    state = model.apply(v, state, vectors[:, k], k + 1, method=model.write)
    one_by_one = model.apply(v, queries, state, method=model.read)
    lanes = slice(None) if k < 3 or memory != 'slot' else slice(0, 1)
    np.testing.assert_allclose(together[lanes, k], one_by_one[lanes], atol=1e-5)
  if memory == 'slot':
    assert not bool(after['filled'][1, 4]) and bool(after['filled'][0, 4])
    np.testing.assert_allclose(after['slots'][0], state['slots'][0], atol=1e-6)
  elif memory == 'lstm':
    jax.tree.map(functools.partial(np.testing.assert_allclose, atol=1e-5), after, state)


def test_interrupted_training_resumes_to_the_same_params(tmp_path, monkeypatch):
  config = configs.load(os.path.join(os.path.dirname(__file__), '..', 'experiments',
                                     'walkingtours_pastfuture.py:smoke'))
  config.model.update(SMALL)
  config.train.update(steps=3, ckpt_every=1)
  config.task.update(crop=CROP, batch_tours=2)
  tours = {f't{i}': t for i, t in enumerate(_tours(batch=3))}
  mesh = sharding.make_mesh((('data', 1),), jax.devices()[:1])
  _, whole = trainer.train_memory(config, 'slot', tours, _codebooks(), str(tmp_path / 'a'), mesh)

  real_check = scaffold.check_finite

  def killed_at_step_2(step, loss):
    if step == 2:
      raise KeyboardInterrupt
    real_check(step, loss)

  monkeypatch.setattr(scaffold, 'check_finite', killed_at_step_2)
  with pytest.raises(KeyboardInterrupt):
    trainer.train_memory(config, 'slot', tours, _codebooks(), str(tmp_path / 'b'), mesh)
  monkeypatch.setattr(scaffold, 'check_finite', real_check)
  assert checkpoint.latest_step(str(tmp_path / 'b')) == 1
  _, resumed = trainer.train_memory(config, 'slot', tours, _codebooks(), str(tmp_path / 'b'),
                                    mesh)
  jax.tree.map(np.testing.assert_array_equal, whole, resumed)


def test_a_workdir_is_not_reused_by_a_run_with_other_settings(tmp_path):
  config = configs.load(os.path.join(os.path.dirname(__file__), '..', 'experiments',
                                     'walkingtours_pastfuture.py:smoke'))
  ids = dict(train=['tour_000000'], val=['tour_100000'], test=['tour_200000'])
  checkpoint.claim_workdir(str(tmp_path), trainer.run_identity(config, 'abc', ids))
  config.train.log_every = 5  # cosmetic: the same run
  config.task.memories = ('slot',)  # another subset of the same run's memories
  checkpoint.claim_workdir(str(tmp_path), trainer.run_identity(config, 'abc', ids))
  config.data.open_world = True
  with pytest.raises(ValueError, match='data differ'):
    checkpoint.claim_workdir(str(tmp_path), trainer.run_identity(config, 'abc', ids))
  config.data.open_world = False
  with pytest.raises(ValueError, match='codec, videos differ'):
    checkpoint.claim_workdir(str(tmp_path), trainer.run_identity(
        config, 'xyz', dict(ids, test=['tour_200001'])))


def test_codes_above_255_survive_the_store_and_training(tmp_path):
  """Paper-size codecs have 8192 entries: the store keeps them as uint16, chunks come back
  unchanged, and an update on them differs from one on the codes wrapped to 8 bits (what
  a uint8 cast would silently train on)."""
  import conftest  # pylint: disable=g-import-not-at-top
  from cvision import trained_codec  # pylint: disable=g-import-not-at-top
  from cvision.models import vqvae  # pylint: disable=g-import-not-at-top
  model = vqvae.VQVAE(**dict(conftest.TINY_MODEL, codebooks=1, codebook_size=8192, code_dim=4))
  v = model.init({'params': jax.random.key(0)}, jnp.zeros((1, 2, 32, 32, 3)))
  codec = trained_codec.TrainedCodec(model, v['params'], {'vq': v['vq']}, 32, 0, 'big')
  store = codes_store.CodesStore.open(str(tmp_path / 'codes'),
                                      codes_store.codec_manifest(codec, 8), create=True)
  rng = np.random.default_rng(0)
  tours = {}
  for i in range(3):
    codes = rng.integers(0, 8192, size=(CHUNKS * CHUNK_LEN, GRID, GRID, 1))
    with store.writer(f't{i}') as writer:
      writer.append(codes)
    tours[f't{i}'] = tour_codes.load_chunks(store, f't{i}', CHUNK_LEN)
    assert tours[f't{i}'].dtype == np.uint16
    np.testing.assert_array_equal(tours[f't{i}'].reshape(codes.shape), codes)
  assert max(t.max() for t in tours.values()) > 255
  with pytest.raises(codes_store.CodesStoreError, match=r'outside \[0, 8192\)'):
    store.writer('bad').append(np.full((4, GRID, GRID, 1), 8192))
  config = configs.load(os.path.join(os.path.dirname(__file__), '..', 'experiments',
                                     'walkingtours_pastfuture.py:smoke'))
  config.model.update(SMALL)
  config.train.update(steps=1)
  config.task.update(crop=CROP, batch_tours=2)
  mesh = sharding.make_mesh((('data', 1),), jax.devices()[:1])
  books = jnp.asarray(codec.codebooks)
  _, stored = trainer.train_memory(config, 'slot', tours, books, str(tmp_path / 'a'), mesh)
  wrapped = {k: (t % 256).astype(np.uint8) for k, t in tours.items()}
  _, cast = trainer.train_memory(config, 'slot', wrapped, books, str(tmp_path / 'b'), mesh)
  differ = jax.tree.leaves(jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()), stored, cast))
  assert max(differ) > 1e-6


def test_sharded_update_equals_single_device(tmp_path):
  """One update of 2 lanes on 1 device, and on 2 x 4 devices with the dense kernels'
  last axis split over `model`: the same parameters and lane memories."""
  config = configs.load(os.path.join(os.path.dirname(__file__), '..', 'experiments',
                                     'walkingtours_pastfuture.py:smoke'))
  config.model.update(SMALL)
  config.task.update(crop=CROP, batch_tours=2)
  tours = {f't{i}': t for i, t in enumerate(_tours(batch=3))}
  lanes = task.Lanes(config, tours)
  results = []
  for name, devices, axes, rules in (
      ('one', jax.devices()[:1], (('data', 1),), ()),
      ('eight', jax.devices(), (('data', 2), ('model', 4)), ((r'.*Dense_.*/kernel', 'model'),))):
    config.shard_rules = rules
    mesh = sharding.make_mesh(axes, devices)
    _, init, shardings_of, update = task.setup(config, 'slot', lanes, _codebooks(), mesh)
    run = scaffold.TrainRun(str(tmp_path / name), mesh, rules)
    carry, shardings = run.initial_state(init, jax.random.key(0), shardings_of)
    carry, metrics = update(shardings)(carry, sharding.put_batch(lanes.batch(0), mesh))
    results.append((jax.device_get((carry['state'].params, carry['state'].opt_state,
                                    carry['memory'])), float(metrics['loss'])))
    run.close()
    if rules:
      specs = [tuple(x.sharding.spec) for x in jax.tree.leaves(carry['state'].params)]
      assert (None, 'model') in specs  # the adapter's and the core's dense kernels
  (one, one_loss), (eight, eight_loss) = results
  assert one_loss == pytest.approx(eight_loss, rel=1e-5)
  jax.tree.map(functools.partial(np.testing.assert_allclose, rtol=1e-4, atol=1e-6), one, eight)
