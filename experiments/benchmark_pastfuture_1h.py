"""Past-future on a one-hour tour at 25 fps: peak memory, bytes on disk, time per tour-epoch.

python -m cvision.main --config=experiments/benchmark_pastfuture_1h.py --workdir=runs/bench_pastfuture_1h

Reuses the codec of the main run (runs/walkingtours_pastfuture/codec) or trains it.
`--config.data.tour_seconds=600` benchmarks 10 minutes instead.
"""
from cvision.configs import pastfuture


def get_config(arg=None):
  del arg
  c = pastfuture.benchmark_base()
  c.codec.workdir = 'runs/walkingtours_pastfuture/codec'
  c.data.update(num_train=1, tour_seconds=3600.0)
  # One tour per batch, an update every 24 chunks (2 minutes of video): 30 per hour.
  c.task.update(batch_tours=1, chunks_per_update=24, chunk_jitter=False)
  c.train.update(steps=60, lr=1e-3, warmup_steps=5)
  c.benchmark.update(epochs=2, probe_frames=250)
  # One tour: the batch of 1 is not split; other devices hold copies.
  c.mesh = (('data', 1), ('model', -1))
  return c
