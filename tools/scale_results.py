"""Collects what the scale commands wrote into docs/results/scale.json.

python tools/scale_results.py [--runs=runs] [--out=docs/results/scale.json]

Reads, under --runs: `scale/store_100k.json` and `scale/classify_20k.json`
(tools/scale_benchmark.py), `scale/classify_600.json` (the same run on a 600-video
split, to show memory does not grow with the split), `scale/two_process.json`
(tools/two_process_check.py) and `kill_anywhere.json` (tools/kill_anywhere.py). A missing
file leaves its entry out, named in the output's `missing`.
"""
import os

from results_files import header, main, read  # tools/, beside this script

COMMANDS = [
    'python tools/scale_benchmark.py --part=store --out=runs/scale/store_100k.json',
    'python tools/scale_benchmark.py --part=classify --out=runs/scale/classify_20k.json',
    'python tools/scale_benchmark.py --part=classify --videos=600 '
    '--workdir=runs/scale/classify_600 --out=runs/scale/classify_600.json',
    'python tools/two_process_check.py --out=runs/scale/two_process.json',
    'python tools/kill_anywhere.py --kills=30 --kills_per_trial=2 --report=runs/kill_anywhere.json',
    'python tools/scale_results.py']



def collect(runs: str) -> dict:
  missing = []
  out = header(COMMANDS)
  store = read(os.path.join(runs, 'scale', 'store_100k.json'), missing)
  if store:
    out['store_100k'] = dict(open_and_read_1000_s=store['open_and_read_s'],
                             peak_rss_mb=store['peak_rss_mb'], details=store)
  big = read(os.path.join(runs, 'scale', 'classify_20k.json'), missing)
  if big:
    out['classify_20k_split_peak_rss_gb'] = big['peak_rss_gb']
    out['classify_20k'] = big
  small = read(os.path.join(runs, 'scale', 'classify_600.json'), missing)
  if small:
    out['classify_600'] = small
  pair = read(os.path.join(runs, 'scale', 'two_process.json'), missing)
  if pair:
    out['two_process_equal'] = pair['equal']
    out['two_process'] = pair
  kills = read(os.path.join(runs, 'kill_anywhere.json'), missing)
  if kills:
    out['kills'] = {k: kills['kills'][k] for k in ('made', 'same_result',
                                                   'partial_outputs_seen')}
  if missing:
    out['missing'] = missing
  return out


if __name__ == '__main__':
  main(collect, __doc__, 'scale')
