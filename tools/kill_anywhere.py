"""Kills the codec, encode and classify stages anywhere and checks that each resumes to the
result of an uninterrupted run, with nothing half-written ever in view and nothing lost.

python tools/kill_anywhere.py --kills=30 --kills_per_trial=2 --report=runs/kill_anywhere.json

Each stage runs through the CLI (`python -m cvision.main`) with overrides that make it
take seconds: once uninterrupted (the reference), then in trials (`kill_trials`), each a
fresh workdir killed (SIGKILL to the whole process group) and restarted with the same
command until it finishes. First kills go to each phase of the reference run in turn
(start-up, data preparation and encoding, training, evaluation, results; `--save_kills`
of them to checkpoint saves), at a random point of it; later kills of a trial hit
resumed runs at random moments. At each kill the workdir is checked as a restart finds it;
at the end the trial must equal the reference (`kill_checks`): every leaf of the newest
checkpoint, exactly by default (on CPU a resumed run replays the same compiled steps on
the same restored bytes, so any difference means state or data that is not a function
of the step; a tolerance would hide a step replayed with another random stream), the
codes stores video for video, and the results files. Exit status 0 when every restart
reached the reference result and no kill found a partial output.
"""
import json
import os
import shutil
import sys
import time

from absl import app, flags, logging

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

# pylint: disable=g-import-not-at-top,wrong-import-position
from cvision import atomic_files
from kill_trials import Stage, run_stage
# pylint: enable=g-import-not-at-top,wrong-import-position

MARKER = '.kill_anywhere'  # marks a folder this tool made (and may empty)
ORDER = ('codec', 'encode', 'classify')  # encode and classify read the codec reference


def _define_flags():
  """The command line, defined only when this file runs as a script: tests import it beside
  other tools and `cvision.main`, whose flags share absl's one namespace (`seed`,
  `workdir`)."""
  flags.DEFINE_integer('kills', 24, 'Kills to make, spread evenly over the stages.')
  flags.DEFINE_integer('seed', 0, 'Seed of the kill moments.')
  flags.DEFINE_list('stages', list(ORDER), 'Stages to kill.')
  flags.DEFINE_integer('kills_per_trial', 1, 'Kills per trial: the later ones hit resumed '
                       'runs (they miss when it finishes first).')
  flags.DEFINE_integer('save_kills', 1, 'Per stage with checkpoints: trials first killed '
                       'during a checkpoint save.')
  flags.DEFINE_string('workdir', 'runs/kill_anywhere', 'Where the runs go (emptied first; '
                      'only a folder this tool made).')
  flags.DEFINE_string('report', 'runs/kill_anywhere.json', 'The JSON report.')
  flags.DEFINE_float('atol', 0.0, 'Largest parameter difference accepted (0: exact).')


def stages(codec_workdir: str) -> dict:
  """The three stages, tiny; encode and classify read the reference codec."""
  codec = f'--config.codec.workdir={codec_workdir}'
  return {s.name: s for s in (
      Stage('codec', 'experiments/codec_quick.py', (
          '--config.expected_cr=0', '--config.data.num_tours=2',
          '--config.data.tour_seconds=8', '--config.data.frames=4', '--config.data.size=32',
          '--config.data.crop=32', '--config.data.batch_size=4', '--config.data.workers=1',
          '--config.model.width=16', '--config.model.down_blocks=2',
          '--config.model.codebooks=2', '--config.model.codebook_size=16',
          '--config.model.code_dim=4', '--config.model.temporal_downsamples=1',
          '--config.model.dec_res_blocks=1', '--config.train.steps=6',
          '--config.train.ckpt_every=2', '--config.train.log_every=1',
          '--config.train.preview_every=1000', '--config.eval.frames=8',
          '--config.eval.classic_codecs=("jpeg",)'),
            results=('codec.json', 'eval/rd_points.json', 'eval/rd_table.md',
                     'eval/rd_curve.png'),
            after=(('training', 'evaluation'), ('evaluation', 'results write'))),
      Stage('encode', 'experiments/encode_quick.py', (
          codec, '--config.encode.store=', '--config.encode.videos=tours',
          '--config.encode.num_tours=6', '--config.encode.tour_seconds=6',
          '--config.encode.window=8', '--config.encode.chunk_frames=4'),
            stores=('codes',), results=('encode_report.md',),
            after=(('encode', 'results write'),)),
      Stage('classify', 'experiments/classify_codes_cr256_quick.py:smoke', (
          codec, '--config.data.size=32', '--config.data.crop=24', '--config.data.frames=16',
          '--config.data.clip_frames=8', '--config.train.steps=4',
          '--config.train.ckpt_every=2'),
            stores=('codes',), results=('run.json', 'results.json', 'results.md'),
            after=(('data prep', 'data prep'), ('encode', 'data prep'),
                   ('training', 'evaluation'))),
  )}


def summarise(per_stage: dict) -> dict:
  """Kills made (each followed by a restart), restarts whose trial reached the reference
  result, kills (and finished trials) that found a partial output, and phases hit."""
  trials = [t for s in per_stage.values() for t in s['trials']]
  kills = [k for t in trials for k in t['kills']]
  phases = {}
  for k in kills:
    phases[k['phase']] = phases.get(k['phase'], 0) + 1
  return dict(made=len(kills), restarts=len(kills),
              same_result=sum(len(t['kills']) for t in trials if t['same_result']),
              partial_outputs_seen=sum(bool(k['broken']) for k in kills)
              + sum(bool(t['final_broken']) for t in trials),
              lost_outputs=sum(len(t['lost']) for t in trials), phases=phases)


def table(per_stage: dict) -> str:
  lines = ['| stage | reference (s) | kills | phases hit | same result | partial outputs |'
           ' lost | max abs param diff |', '|---|---|---|---|---|---|---|---|']
  for name, s in per_stage.items():
    kills = [k for t in s['trials'] for k in t['kills']]
    diffs = [t['max_abs_diff'] for t in s['trials'] if 'max_abs_diff' in t]
    lines.append(
        f"| {name} | {s['reference']['seconds']} | {len(kills)} | "
        f"{', '.join(sorted({k['phase'] for k in kills})) or '-'} | "
        f"{sum(len(t['kills']) for t in s['trials'] if t['same_result'])} | "
        f"{sum(bool(k['broken']) for k in kills)} | {sum(len(t['lost']) for t in s['trials'])}"
        f" | {max(diffs) if diffs else '-'} |")
  return '\n'.join(lines)


def _fresh(root: str):
  if os.path.exists(root) and os.listdir(root) and not os.path.exists(
      os.path.join(root, MARKER)):
    raise SystemExit(f'{root} is not empty and not made by this tool: choose another')
  shutil.rmtree(root, ignore_errors=True)
  os.makedirs(root)
  open(os.path.join(root, MARKER), 'w').close()


def run_all(names, kills: int, seed: int, root: str, kills_per_trial: int = 1,
            save_kills: int = 1, atol: float = 0.0) -> dict:
  """Every stage in `names` killed `kills` times in all (evenly split); the report."""
  unknown = set(names) - set(ORDER)
  if unknown:
    raise SystemExit(f'unknown stage(s) {sorted(unknown)} (known: {", ".join(ORDER)})')
  root = os.path.abspath(root)
  _fresh(root)
  rng, started = np.random.default_rng(seed), time.monotonic()
  every = stages(os.path.join(root, 'codec', 'reference'))
  names = [n for n in ORDER if n in names]
  per_stage = {}
  for name in ORDER[:1] + tuple(names):
    if name in per_stage:
      continue
    share = (kills // len(names) + (names.index(name) < kills % len(names))
             if name in names else 0)  # the codec reference runs even when not killed
    per_stage[name] = run_stage(every[name], root, share, rng, kills_per_trial, save_kills,
                                atol)
  report = dict(kills=summarise(per_stage), params_atol=atol, stages=per_stage,
                commands={n: s['command'] for n, s in per_stage.items()},
                seconds=round(time.monotonic() - started))
  report['table'] = table(per_stage)
  return report


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every restore of the checks
  f = flags.FLAGS
  report = run_all(f.stages, f.kills, f.seed, f.workdir, f.kills_per_trial, f.save_kills,
                   f.atol)
  os.makedirs(os.path.dirname(os.path.abspath(f.report)), exist_ok=True)
  atomic_files.write_json(f.report, report, indent=1)
  print(report['table'])
  print(json.dumps(report['kills']))
  k = report['kills']
  return 0 if k['same_result'] == k['restarts'] and not k['partial_outputs_seen'] else 1


if __name__ == '__main__':
  _define_flags()
  app.run(main)
