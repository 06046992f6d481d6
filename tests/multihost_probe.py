"""What each host of a run sees; run by test_multihost under several processes.

PYTHONPATH=. python tests/multihost_probe.py COORDINATOR NUM_PROCESSES PROCESS_ID OUT_DIR

Writes `OUT_DIR/found.<process id>.npz`: for one global batch of the classify and the
past-future stage (each a pure function of seed and step), this host's rows, the rows of
the global array `sharding.put_batch` makes that sit on this host's devices, and that
whole array gathered back from all hosts; and a model saved by all hosts, loaded back by
`checkpoint.load_latest` and laid over the mesh of all hosts, as a step takes it.
"""
import os
import sys

import jax
import numpy as np
from jax.experimental import multihost_utils

from cvision import configs
from cvision.data import classify_inputs, labeled, views
from cvision.tasks import pastfuture
from cvision.train_lib import checkpoint, multihost, sharding

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEP = 3  # any step: batches of every step are split alike


def classify_batch(step: int = STEP) -> dict:
  """This host's rows of a classify batch of 8 from 16 videos, video i filled with i."""
  config = configs.load(os.path.join(ROOT, 'experiments', 'classify_rgb_quick.py:smoke'))
  config.data.update(batch_size=8, frames=8, size=16, crop=12, clip_frames=4)
  videos = np.broadcast_to(np.arange(16, dtype=np.uint8)[:, None, None, None, None],
                           (16, 8, 16, 16, 3))
  data = labeled.in_memory([str(i) for i in range(16)], videos,
                           np.arange(16, dtype=np.int32) % 10, tuple('abcdefghij'))
  # Through the pipeline training reads (parallel tf.data reads of this host's rows).
  return next(classify_inputs.train_batches(data, data, views.Grid(), config, step, step + 1))


def pastfuture_batch(step: int = STEP) -> dict:
  """This host's lanes (of 8) of a past-future update over 3 tours of random codes."""
  config = configs.load(os.path.join(ROOT, 'experiments', 'walkingtours_pastfuture.py:smoke'))
  config.task.update(batch_tours=8, crop=4, queries_per_update=3)
  rng = np.random.default_rng(0)
  tours = {f't{i}': rng.integers(0, 16, size=(6, 4, 5, 5, 2), dtype=np.uint8)
           for i in range(3)}
  return pastfuture.Lanes(config, tours).batch(step)


def main(coordinator: str, processes: str, index: str, out_dir: str):
  multihost.initialize(coordinator, int(processes), int(index))
  mesh = sharding.make_mesh((('data', -1),))
  found = {}
  for stage, batch in (('classify', classify_batch()), ('pastfuture', pastfuture_batch())):
    placed = sharding.put_batch(batch, mesh)
    for key, local in batch.items():
      found[f'{stage}/{key}/local'] = local
      found[f'{stage}/{key}/gathered'] = multihost_utils.process_allgather(placed[key],
                                                                           tiled=True)
      found[f'{stage}/{key}/on_my_devices'] = np.asarray(sorted(
          {i for shard in placed[key].addressable_shards
           for i in range(*shard.index[0].indices(len(found[f'{stage}/{key}/gathered'])))}))
  found['model/sum'] = model_sum(mesh, os.path.join(out_dir, 'model'))
  np.savez(os.path.join(out_dir, f'found.{jax.process_index()}.npz'), **found)
  multihost.sync('found written')


def model_sum(mesh, workdir: str) -> np.ndarray:
  """A model saved by all hosts and loaded for use (as a codec or augmenter is), summed by
  a step over the mesh of all hosts: `arange(6).sum()` when loading leaves it placeable."""
  weights = {'w': jax.device_put(np.arange(6.0, dtype=np.float32), sharding.replicated(mesh))}
  manager = checkpoint.make_manager(workdir)
  checkpoint.save(manager, 1, weights)
  manager.wait_until_finished()
  manager.close()
  _, loaded = checkpoint.load_latest(workdir, jax.eval_shape(lambda: weights))
  placed = jax.device_put(loaded, sharding.replicated(mesh))
  return np.asarray(jax.jit(lambda model: model['w'].sum())(placed))


if __name__ == '__main__':
  main(*sys.argv[1:])
