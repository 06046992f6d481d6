"""The `pastfuture` stage (CV §4.6, App. D): is this 5-second clip in the past or the future?

One command: the codec is trained first if the config's codec workdir has none, the
train/val/test tours are encoded into a codes store (reused when already there), then
each memory (slot, LSTM, none) is trained and tested; the run ends with a table and a
plot of accuracy against position in the tour. Every phase resumes where it stopped.
How a memory is trained is in `tasks.pastfuture`.
"""
import functools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np

from cvision import atomic_files, errors, progress
from cvision.data import codes_store, tour_codes
from cvision.evaluators import pastfuture as report
from cvision.tasks import pastfuture as task
from cvision.train_lib import checkpoint, multihost, scaffold, state as state_lib


def train_memory(config, memory_name, tours, codebooks, workdir, mesh):
  """Trains one memory on the train tours (resuming from `workdir`); returns model, params."""
  lanes = task.Lanes(config, tours)
  model, init, shardings_of, update = task.setup(config, memory_name, lanes, codebooks, mesh)
  run = scaffold.TrainRun(workdir, mesh, config.shard_rules)
  carry, shardings = run.initial_state(init, jax.random.key(config.seed), shardings_of)
  carry = run.loop(carry, update(shardings), lanes.batches(run.start, config.train.steps),
                   config.train, name=f'train {memory_name}',
                   examples_per_step=config.task.batch_tours * lanes.schedule.per_update,
                   schedule=state_lib.make_schedule(config.train))
  run.close()
  return model, carry['state'].params


def evaluate_memory(config, model, params, tours, codebooks, name: str = 'test') -> dict:
  """Accuracy on every tour of a split, with fixed (seeded) crops and queries.

  Every query chunk is cropped unlike the chunk stored in memory. The slot memory is
  sized to each tour (the number of slots is a shape, not a parameter).
  """
  crop, code_size = config.task.crop, next(iter(tours.values())).shape[2]
  logits, labels, compiled = [], [], {}
  for i, vid in enumerate(progress.bar(sorted(tours), name, 'tour')):
    codes = tours[vid]
    n = len(codes)
    if n not in compiled:
      compiled[n] = jax.jit(functools.partial(task.evaluate_tours, model=model.clone(slots=n),
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
  store_path = config.data.store or os.path.join(workdir, 'codes')
  ids, sizes = tour_codes.ensure_encoded(codec, config.data, store_path, config.data.window)
  store = codes_store.CodesStore.open(store_path, codes_store.codec_manifest(codec))
  tours = {}
  for split, vids in ids.items():
    if not vids:
      raise errors.InputError(f'the {split} split has no videos (data.num_{split} or the '
                              f'{split}/ folder)')
    fps = store.info(vids[0]).get('fps') or 25.0
    chunk_len = tour_codes.chunk_code_frames(config.data.chunk_seconds, fps,
                                             codec.model.time_factor)
    tours[split] = {vid: tour_codes.load_chunks(store, vid, chunk_len) for vid in vids}
    for vid in vids:
      sizes[split][vid]['fps'] = store.info(vid).get('fps') or 25.0
  return tours, sizes


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


def run(config, workdir: str, mesh, load_codec):
  d = config.data
  where = ('procedural tours' if d.source == 'tours' else d.source) + (
      f' ({d.num_train} train, {d.num_val} val, {d.num_test} test, {d.tour_seconds:g} s each)'
      if d.source == 'tours' else '')
  print(f'pastfuture: memories {", ".join(config.task.memories)} on {where}; '
        f'{config.train.steps} updates each, in {workdir}')
  codec = load_codec()
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
      print(f'{memory_name} memory already evaluated: kept ({results_path})')
      continue
    model, params = train_memory(config, memory_name, tours['train'], codebooks,
                                 os.path.join(workdir, memory_name), mesh)
    results[memory_name] = {split: evaluate_memory(config, model, params, tours[split],
                                                   codebooks, f'{split} {memory_name}')
                            for split in ('val', 'test')}
    print(f"{memory_name}: test accuracy {100 * results[memory_name]['test']['accuracy']:.1f}%")
    if multihost.is_primary():  # every host has the same results: one writes them
      atomic_files.write_json(results_path, results, indent=2)
  if multihost.is_primary():
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
  writer = scaffold.make_writer(workdir)
  writer.write_texts(0, {'pastfuture_results': table})
  for memory, r in results.items():
    writer.write_scalars(config.train.steps, {f'test_accuracy/{memory}': r['test']['accuracy']})
  writer.close()
  print(table)
