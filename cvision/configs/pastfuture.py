"""Base config of `pastfuture` and `pastfuture_benchmark` (CV §4.6, App. D)."""
import ml_collections

from cvision.configs import common


def base() -> ml_collections.ConfigDict:
  """Two-minute procedural tours at 25 fps, 5-second chunks, the three memories."""
  c = common.top('pastfuture')
  c.codec = dict(common.codec(), config='experiments/codec_quick.py:small')
  # source 'tours' (procedural; disjoint seeds per split) or a folder with train/, val/
  # and test/ subfolders of videos; store '' means <workdir>/codes; window: frames
  # encoded at once.
  c.data = dict(source='tours', num_train=24, num_val=2, num_test=6, tour_seconds=120.0,
                chunk_seconds=5.0, store='', window=128, seed_offset=0, frame_stride=1,
                open_world=False)
  # chunks_per_update 0: a whole tour per update; train_chunks > 0: the first
  # window_updates updates see windows of that many chunks (a curriculum for long tours).
  c.task = dict(memories=('slot', 'lstm', 'none'), crop=7, queries_per_update=24,
                batch_tours=4, chunks_per_update=0, eval_queries=64, chunk_jitter=True,
                train_chunks=0, window_updates=0)
  c.model = dict(width=32, features=128, time_pool=8, grid=2, layers=2, heads=4, top_k=0)
  c.train = common.train(steps=300, lr=2e-3, warmup_steps=10, final_lr_fraction=0.05,
                         weight_decay=1e-4, log_every=10, ckpt_every=25)
  return c


def benchmark_base() -> ml_collections.ConfigDict:
  """`pastfuture_benchmark`: an hour-long tour in bounded memory; probe_frames: frames on
  which x264's CRF is matched to the codec's PSNR."""
  c = base()
  c.stage = 'pastfuture_benchmark'
  c.benchmark = dict(epochs=2, probe_frames=250)
  return c
