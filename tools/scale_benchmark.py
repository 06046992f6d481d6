"""Scale checks of issue 26: a codes store of 100k videos, and classify on a 20k split.

  python tools/scale_benchmark.py --part=store --out=runs/scale/store_100k.json
  python tools/scale_benchmark.py --part=classify --out=runs/scale/classify_20k.json

`store` writes a synthetic store of `--videos` tiny videos (resumed if already there),
then, in a fresh process, opens it and reads `--windows` random windows: seconds and
peak RSS, beside the RSS of that process before it opened the store (its imports:
TensorFlow's alone is most of it). `classify` runs the classify stage on a procedural
split of `--videos` videos for `--steps` steps through the CLI and reports the stage
process's peak RSS. `tools/scale_results.py` gathers these into docs/results/scale.json.
"""
import json
import os
import resource
import subprocess
import sys
import time

from absl import app, flags

_PART = flags.DEFINE_enum('part', 'store', ['store', 'store_read', 'classify'], 'What to run.')
_OUT = flags.DEFINE_string('out', None, 'Where the JSON report goes.')
_STORE = flags.DEFINE_string('store', 'runs/scale/store_100k', 'The synthetic store.')
_VIDEOS = flags.DEFINE_integer('videos', None, 'Videos (store: 100,000; classify: 20,000).')
_WINDOWS = flags.DEFINE_integer('windows', 1000, 'Random windows read from the store.')
_STEPS = flags.DEFINE_integer('steps', 100, 'Classify training steps.')
_WORKDIR = flags.DEFINE_string('workdir', 'runs/scale/classify_20k', 'Classify workdir.')

_CODE_FRAMES, _CODE_SHAPE = 8, (4, 4, 1)  # a tiny video: 32 frames at CR 256, 32x32


def _rss_mb(field: str = 'VmRSS') -> float:
  with open('/proc/self/status') as f:
    for line in f:
      if line.startswith(field + ':'):
        return int(line.split()[1]) / 1024
  raise RuntimeError(f'no {field} in /proc/self/status')


def _manifest() -> dict:
  return dict(fingerprint='synthetic-scale-benchmark', step=0, size=32, codebooks=1,
              codebook_size=256, time_factor=4, space_factor=8, chunk_frames=64)


def write_store(path: str, count: int):
  """`count` tiny videos of random codes (those already committed are kept)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from cvision import progress  # pylint: disable=g-import-not-at-top
  from cvision.data import codes_store  # pylint: disable=g-import-not-at-top
  store = codes_store.CodesStore.open(path, _manifest(), create=True)
  done = set(store.videos())
  rng = np.random.default_rng(0)
  for i in progress.bar(range(count), 'write store', 'video'):
    codes = rng.integers(0, 256, (_CODE_FRAMES, *_CODE_SHAPE), np.uint8)
    if f'v{i:07d}' not in done:
      with store.writer(f'v{i:07d}') as writer:
        writer.append(codes)
  store.compact_index()


def read_store(path: str, windows: int) -> dict:
  """Opens the store and reads random windows; run in a fresh process."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from cvision.data import codes_store  # pylint: disable=g-import-not-at-top
  before = _rss_mb()
  started = time.perf_counter()
  store = codes_store.CodesStore.open(path, _manifest())
  ids = store.videos()
  opened = time.perf_counter() - started
  rng = np.random.default_rng(1)
  cells = 0
  for vid in rng.choice(ids, windows):
    start = int(rng.integers(0, _CODE_FRAMES - 2))
    cells += store.read(vid, start, start + 2).size
  total = time.perf_counter() - started
  return dict(videos=len(ids), windows=windows, open_s=round(opened, 3),
              open_and_read_s=round(total, 3), cells_read=int(cells),
              rss_before_open_mb=round(before, 1), peak_rss_mb=round(_rss_mb('VmHWM'), 1),
              store_rss_increase_mb=round(_rss_mb('VmHWM') - before, 1))


def run_classify(videos: int, steps: int, workdir: str) -> dict:
  command = [sys.executable, '-m', 'cvision.main', '--config=experiments/classify_rgb_quick.py',
             f'--workdir={workdir}', f'--config.data.num_train={videos}',
             f'--config.data.cache_dir={workdir}/data', f'--config.train.steps={steps}',
             '--config.train.ckpt_every=50']
  started = time.time()
  subprocess.run(command, check=True)
  peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 ** 2
  with open(os.path.join(workdir, 'results.json')) as f:
    results = json.load(f)
  return dict(stage_command=' '.join(command[1:]), videos=videos, steps=steps,
              peak_rss_gb=round(peak, 3), seconds=round(time.time() - started),
              held_whole_gb=round(videos * 24 * 64 * 64 * 3 / 1024 ** 3, 2),
              top1=results['test']['top1'])


def main(argv):
  del argv
  part = _PART.value
  if part == 'store':
    write_store(_STORE.value, _VIDEOS.value or 100_000)
    out = subprocess.run([sys.executable, __file__, '--part=store_read',
                          f'--store={_STORE.value}', f'--windows={_WINDOWS.value}'],
                         check=True, capture_output=True, text=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
  elif part == 'store_read':
    print(json.dumps(read_store(_STORE.value, _WINDOWS.value)))
    return
  else:
    report = run_classify(_VIDEOS.value or 20_000, _STEPS.value, _WORKDIR.value)
  report['command'] = 'python tools/scale_benchmark.py ' + ' '.join(sys.argv[1:])
  print(json.dumps(report, indent=1))
  if _OUT.value:
    os.makedirs(os.path.dirname(_OUT.value) or '.', exist_ok=True)
    with open(_OUT.value, 'w') as f:
      json.dump(report, f, indent=1)


if __name__ == '__main__':
  app.run(main)
