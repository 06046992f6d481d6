"""Past-future on a one-hour tour at 25 fps: peak memory, bytes on disk, time per tour-epoch.

python -m cvision.main --config=experiments/benchmark_pastfuture_1h.py --workdir=runs/bench_pastfuture_1h

Reuses the codec of the main run (runs/walkingtours_pastfuture/codec) or trains it.
`--config.data.tour_seconds=600` benchmarks 10 minutes instead.
"""
import ml_collections


def get_config(arg=None):
  del arg
  c = ml_collections.ConfigDict()
  c.stage = 'pastfuture_benchmark'
  c.seed = 0
  c.codec = dict(workdir='runs/walkingtours_pastfuture/codec',
                 config='experiments/codec_quick.py:small')
  c.data = dict(source='tours', num_train=1, tour_seconds=3600.0, chunk_seconds=5.0,
                window=128, seed_offset=0)
  # One tour per batch, an update every 24 chunks (2 minutes of video): 30 per hour.
  c.task = dict(crop=7, queries_per_update=24, batch_tours=1, chunks_per_update=24)
  c.model = dict(width=32, features=128, time_pool=8, grid=2, layers=2, heads=4)
  c.train = dict(steps=60, lr=1e-3, warmup_steps=5, final_lr_fraction=0.05,
                 weight_decay=1e-4, grad_clip=1.0)
  # probe_frames: frames on which x264's CRF is matched to the codec's PSNR (10 s).
  c.benchmark = dict(epochs=2, probe_frames=250)
  # One tour: the batch of 1 is not split; other devices hold copies.
  c.mesh = (('data', 1), ('model', -1))
  return c
