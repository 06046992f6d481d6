"""Training steps/s of two versions of cvision, side by side in one run.

python tools/compare_steps_per_second.py --before=<git ref> [--after=<git ref>] [--rounds=2]

Each version is checked out into a temporary git worktree (the working tree itself when
--after is not given) and runs the same short trainings with the same interpreter, in
turn, `--rounds` times: S3D on RGB and on CR-256 codes (the classify quick configs, with
a small codec trained once and shared), and the slot memory of the past-future main job.
Steps/s come from the timestamps of the metric lines each version logs every
`--log_every` steps, after the first (which includes compilation); the medians over the
rounds and their ratio are printed and written to `--out` as JSON.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE = re.compile(r'^I\d{4} (\d\d):(\d\d):(\d\d\.\d+) .*\] \[(\d+)\] .*loss=')

CASES = {
    'classify rgb': ['--config=experiments/classify_rgb_quick.py',
                     '--config.data.num_train=64', '--config.data.num_test=16'],
    'classify codes CR 256': ['--config=experiments/classify_codes_cr256_quick.py',
                              '--config.data.num_train=64', '--config.data.num_test=16'],
    'pastfuture slot': ['--config=experiments/walkingtours_pastfuture.py',
                        "--config.task.memories=('slot',)", '--config.data.num_train=4',
                        '--config.data.num_val=1', '--config.data.num_test=1'],
}


def _steps_per_second(log: str) -> float:
  """From `[step] ... loss=` metric lines: (last - first step) / seconds between them."""
  points = []
  for line in log.splitlines():
    match = LINE.match(line)
    if match:
      h, m, s, step = match.groups()
      points.append((int(step), int(h) * 3600 + int(m) * 60 + float(s)))
  if len(points) < 2:
    raise RuntimeError(f'fewer than two metric lines in the log:\n{log[-3000:]}')
  (first, t0), (last, t1) = points[0], points[-1]
  return (last - first) / (t1 - t0)


def _run(tree: str, args: list[str], workdir: str, codec: str, steps: int,
         log_every: int) -> float:
  command = [sys.executable, '-m', 'cvision.main', *args, f'--workdir={workdir}',
             f'--config.codec.workdir={codec}', f'--config.train.steps={steps}',
             f'--config.train.log_every={log_every}', f'--config.train.ckpt_every={steps}',
             '--alsologtostderr']
  env = dict(os.environ, PYTHONPATH=tree)
  result = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
  if result.returncode:
    raise RuntimeError(f'{" ".join(command)} failed in {tree}:\n{result.stderr[-3000:]}')
  return _steps_per_second(result.stderr)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--before', required=True, help='git ref of the version to compare')
  parser.add_argument('--after', default=None, help='git ref (default: the working tree)')
  parser.add_argument('--rounds', type=int, default=2)
  parser.add_argument('--steps', type=int, default=45)
  parser.add_argument('--log_every', type=int, default=5)
  parser.add_argument('--out', default=None, help='JSON file for the figures')
  flags = parser.parse_args()
  for name in ('before', 'after'):  # record commits, not names that move
    ref = getattr(flags, name)
    if ref is not None:
      setattr(flags, name, subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', ref],
                                          check=True, capture_output=True,
                                          text=True).stdout.strip())
  scratch = tempfile.mkdtemp(prefix='steps_per_s_')
  trees = {}
  for name, ref in (('before', flags.before), ('after', flags.after)):
    if ref is None:
      trees[name] = ROOT
      continue
    trees[name] = os.path.join(scratch, name)
    subprocess.run(['git', '-C', ROOT, 'worktree', 'add', '--detach', trees[name], ref],
                   check=True, capture_output=True)
  try:
    codec = os.path.join(scratch, 'codec')  # one small codec, trained by `after`
    subprocess.run([sys.executable, '-m', 'cvision.main',
                    '--config=experiments/codec_quick.py:small', f'--workdir={codec}',
                    '--config.train.steps=20', '--config.eval.after_training=False'],
                   cwd=trees['after'], env=dict(os.environ, PYTHONPATH=trees['after']),
                   check=True, capture_output=True)
    rates = {case: {name: [] for name in trees} for case in CASES}
    for round_ in range(flags.rounds):
      for case, args in CASES.items():
        for name, tree in trees.items():
          workdir = os.path.join(scratch, f'{name}_{case.replace(" ", "_")}_{round_}')
          start = time.time()
          rate = _run(tree, args, workdir, codec, flags.steps, flags.log_every)
          rates[case][name].append(rate)
          print(f'round {round_ + 1}, {case}, {name}: {rate:.3f} steps/s '
                f'({time.time() - start:.0f} s in all)', flush=True)
  finally:
    for name, tree in trees.items():
      if tree != ROOT:
        subprocess.run(['git', '-C', ROOT, 'worktree', 'remove', '--force', tree],
                       capture_output=True)
  results = {case: {name: statistics.median(r) for name, r in by.items()}
             for case, by in rates.items()}
  print(f'\nsteps/s, median of {flags.rounds} rounds (before {flags.before}, after '
        f'{flags.after or "working tree"})')
  print('| config | before | after | after / before |\n|---|---|---|---|')
  for case, r in results.items():
    print(f"| {case} | {r['before']:.3f} | {r['after']:.3f} | {r['after'] / r['before']:.2f}x |")
  if flags.out:
    with open(flags.out, 'w') as f:
      json.dump(dict(before=flags.before, after=flags.after or 'working tree',
                     rounds=flags.rounds, steps=flags.steps, medians=results, all=rates), f,
                indent=1)


if __name__ == '__main__':
  main()
