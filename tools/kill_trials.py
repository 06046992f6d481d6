"""Runs of one stage for `kill_anywhere.py`: the reference, then trials killed and resumed.

A trial starts the stage's command in a fresh workdir, SIGKILLs its whole process group
at each of its kill moments (each measured from a (re)start), then restarts it until it
finishes, and compares what it made with the reference's (`kill_checks`).
"""
import dataclasses
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np

import kill_checks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# One CPU device and no LLVM optimisation: these tiny runs are mostly compilation.
XLA_FLAGS = '--xla_backend_optimization_level=0'
RESTARTS = 3  # a restart that fails is retried this often before the trial fails


@dataclasses.dataclass(frozen=True)
class Stage:
  name: str
  config: str  # experiment file (relative to the repository), with its variant
  overrides: tuple  # --config.* flags that make it tiny
  stores: tuple = ()  # codes stores it writes, relative to its workdir
  results: tuple = ()  # files it writes once done, relative to its workdir
  after: tuple = ()  # (phase, what follows once that phase's progress bar closed)

  def command(self, workdir: str) -> list:
    path, colon, variant = self.config.partition(':')
    return [sys.executable, '-m', 'cvision.main', f'--config={os.path.join(ROOT, path)}'
            f'{colon}{variant}', f'--workdir={workdir}', *self.overrides]


@dataclasses.dataclass(frozen=True)
class Kill:
  """When to kill: `delay` seconds after the run enters `phase` for the `entry`-th time
  (as its own progress bars and checkpoint folder show, so a slower run is still hit in
  that phase), or with `phase` '', `delay` seconds after its start."""
  delay: float
  phase: str = ''
  entry: int = 1

  def __str__(self):
    return (f'{self.phase} #{self.entry} + {self.delay:.2f} s' if self.phase else
            f'{self.delay:.2f} s')


def _saving(workdir: str) -> bool:
  try:
    return any('.orbax-checkpoint-tmp' in n
               for n in os.listdir(os.path.join(workdir, 'checkpoints')))
  except FileNotFoundError:
    return False


def attempt(cmd: list, workdir: str, stage: Stage, kill: Kill | None, limit: float) -> dict:
  """Runs `cmd` once, SIGKILLing its process group at `kill` (or, failed, at `limit`
  seconds). Its output goes to `<workdir>.attempt<i>.{out,err}` beside the workdir;
  `phases` in the result: `(seconds, phase)` at each change of phase."""
  folder, name = os.path.split(workdir)
  earlier = [n for n in os.listdir(folder) if n.startswith(f'{name}.attempt')
             and n.endswith('.err')]
  logs = os.path.join(folder, f'{name}.attempt{len(earlier)}')
  env = dict(os.environ, PYTHONPATH=ROOT, XLA_FLAGS=XLA_FLAGS)
  changes, due = [], False
  with open(logs + '.out', 'w') as out, open(logs + '.err', 'w') as err:
    start = time.monotonic()
    # Its own session: the kill reaches every process it starts, and only those.
    proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=out, stderr=err,
                            start_new_session=True)
    while (rc := proc.poll()) is None:
      now = time.monotonic() - start
      _follow(changes, now, stage, logs + '.err', workdir)
      if kill is not None:
        entries = [t for t, p in changes if p == kill.phase] if kill.phase else [0.0]
        due = len(entries) >= kill.entry and now >= entries[kill.entry - 1] + kill.delay
      if due or now >= limit:
        os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait()
        break
      time.sleep(0.02)  # checkpoint saves last a few tenths of a second
  with open(logs + '.err', errors='replace') as f:
    stderr = f.read()
  return dict(rc=rc, killed=rc == -signal.SIGKILL and due,
              seconds=time.monotonic() - start, stderr=stderr, phases=changes)


def _follow(changes: list, now: float, stage: Stage, stderr_path: str, workdir: str):
  with open(stderr_path, errors='replace') as f:
    current = phase(stage, f.read(), ['.orbax-checkpoint-tmp'] if _saving(workdir) else [])
  if not changes or changes[-1][1] != current:
    changes.append((now, current))


_BAR = re.compile(r'([A-Za-z][\w -]*?):\s+\d+%\|[^|\n\r]*\|\s*(\d+)/(\d+)')
_BAR_PHASES = (('train', 'training'), ('render', 'data prep'), ('encode', 'encode'),
               ('rate-distortion', 'evaluation'), ('test', 'evaluation'))


def phase(stage: Stage, stderr: str, new_temporaries) -> str:
  """What the run was doing when killed: a checkpoint save (its temporary folder is
  there), else its last progress bar (bars print when they open and when they close)."""
  if any('.orbax-checkpoint-tmp' in t for t in new_temporaries):
    return 'checkpoint save'
  bars = _BAR.findall(stderr)
  if not bars:
    return 'startup'
  desc, done, total = bars[-1]
  kind = next((p for prefix, p in _BAR_PHASES if desc.startswith(prefix)), desc)
  return kind if done != total else dict(stage.after).get(kind, f'after {kind}')


def _resumes(workdir: str, kills: list) -> list:
  """Checkpoints lost by a restart that did not resume from the newest one at its kill
  (orbax logs each restore); a restart killed before restoring proves nothing."""
  lost = []
  for i, kill in enumerate(kills):
    stop = kills[i + 1]['log_size'] if i + 1 < len(kills) else None
    restored = kill_checks.restored_steps(workdir, kill['log_size'], stop)
    newest = kill['checkpoints'][-1] if kill['checkpoints'] else None
    kill['resumed_from'] = restored[0] if restored and newest is not None else None
    if newest is not None and kill['resumed_from'] != newest and (stop is None or restored):
      lost.append(f'checkpoint {newest}: the restart resumed from {kill["resumed_from"]}')
  return lost


def trial(stage: Stage, workdir: str, moments: list, reference: dict, limit: float,
          atol: float) -> dict:
  """Kills at `moments` (each from a (re)start), restarts until done, compares."""
  cmd, kills, done, seen = stage.command(workdir), [], None, set()
  snap_args = dict(stores=stage.stores, results=stage.results)
  for moment in moments:
    run = attempt(cmd, workdir, stage, moment, limit)
    if not run['killed']:
      done = run
      break
    snap = kill_checks.snapshot(workdir, **snap_args)
    snap.update(moment=str(moment), aim=moment.phase or 'any',
                log_size=kill_checks.log_size(workdir),
                phase=phase(stage, run['stderr'], set(snap['temporaries']) - seen))
    seen.update(snap['temporaries'])  # a killed save's folder stays: not new next time
    kills.append(snap)
  restarts = 0
  while done is None or (done['rc'] != 0 and restarts < RESTARTS):
    done, restarts = attempt(cmd, workdir, stage, None, limit), restarts + 1
  final = kill_checks.snapshot(workdir, **snap_args)
  outcome = dict(workdir=workdir, missed=[str(m) for m in moments[len(kills):]],
                 rc=done['rc'],
                 attempts=len(kills) + restarts, final_broken=final['broken'],
                 temporaries_left=final['temporaries'],
                 lost=[x for k in kills for x in kill_checks.lost_since(k, final)]
                 + _resumes(workdir, kills))
  outcome['kills'] = [dict(k, videos={s: len(v) for s, v in k['videos'].items()})
                      for k in kills]  # counted, not listed, in the report
  if done['rc'] != 0:
    outcome['error'] = done['stderr'][-2000:]
  outcome.update(_compare(stage, workdir, reference, final))
  outcome['same_result'] = (done['rc'] == 0 and not outcome['differing'] and not
                            outcome['lost'] and outcome.get('max_abs_diff', 0) <= atol
                            and outcome.get('checkpoint') == reference['checkpoint'])
  return outcome


def _compare(stage: Stage, workdir: str, reference: dict, final: dict) -> dict:
  """How a finished trial differs from the reference: results files and stores
  (`differing`), and its newest checkpoint (`checkpoint`, `max_abs_diff`)."""
  found = dict(differing=kill_checks.differing_results(workdir, reference['workdir'],
                                                       stage.results))
  for store in stage.stores:
    found['differing'] += kill_checks.store_differences(
        os.path.join(workdir, store), os.path.join(reference['workdir'], store))
  if reference['checkpoint'] is not None:
    state = kill_checks.newest_state(workdir)
    found['checkpoint'] = final['checkpoints'][-1] if final['checkpoints'] else None
    found['max_abs_diff'] = (float('inf') if state is None else
                             kill_checks.max_abs_difference(state, reference['state']))
  return found


def first_kills(rng, count: int, changes: list, seconds: float, saves: int) -> list:
  """`saves` kills during checkpoint saves, then kills spread over the other phases of
  the reference run (`changes`: its `(seconds, phase)` timeline) in turn, each in one of
  that phase's stretches (chosen by length) after a delay uniform over its length in the
  reference: start-up is most of a tiny run, so moments uniform over the whole run would
  rarely hit the rest."""
  ends = [t for t, _ in changes[1:]] + [seconds]
  spans = {}
  for (start, name), end in zip(changes, ends):
    spans.setdefault(name, []).append(end - start)
  others = [p for p in spans if p != 'checkpoint save']
  order = list(rng.permutation(others))
  names = ['checkpoint save'] * (saves if 'checkpoint save' in spans else 0)
  names += [order[i % len(order)] for i in range(count - len(names))]
  kills = []
  for name in names:
    lengths = np.array(spans[name]) + 1e-9
    entry = int(rng.choice(len(lengths), p=lengths / lengths.sum()))
    kills.append(Kill(float(rng.uniform(0, lengths[entry])), str(name), entry + 1))
  return kills


def run_stage(stage: Stage, root: str, kills: int, rng, per_trial: int = 1,
              save_kills: int = 1, atol: float = 0.0) -> dict:
  """The reference run, then trials until `kills` kills were made (a kill misses when
  the run finishes first; then more trials, at most twice as many as planned)."""
  reference = dict(workdir=os.path.join(root, stage.name, 'reference'))
  os.makedirs(os.path.dirname(reference['workdir']), exist_ok=True)
  run = attempt(stage.command(reference['workdir']), reference['workdir'], stage, None, 3600)
  if run['rc'] != 0:
    raise RuntimeError(f'the {stage.name} reference run failed:\n{run["stderr"][-3000:]}')
  seconds = run['seconds']
  steps = kill_checks.checkpoint_steps(reference['workdir'])
  reference.update(seconds=round(seconds, 1), checkpoint=steps[-1] if steps else None,
                   phases=[(round(t, 2), name) for t, name in run['phases']],
                   state=kill_checks.newest_state(reference['workdir']))
  planned = -(-kills // per_trial)
  firsts = first_kills(rng, planned, run['phases'], seconds,
                       min(save_kills, planned) if steps else 0)
  trials, made = [], 0
  while made < kills and len(trials) < 2 * planned:
    first = firsts.pop(0) if firsts else Kill(float(rng.uniform(0, seconds)))
    later = [Kill(float(s))
             for s in rng.uniform(0, seconds, size=min(per_trial, kills - made) - 1)]
    workdir = os.path.join(root, stage.name, f'trial_{len(trials):02d}')
    outcome = trial(stage, workdir, [first, *later], reference, 20 * seconds + 60, atol)
    made += len(outcome['kills'])
    trials.append(outcome)
    if not outcome['kills'] and first.phase:  # the phase was shorter here: aim earlier
      firsts.insert(0, dataclasses.replace(first, delay=first.delay / 2))
    hits = [f'{k["moment"]} (aimed at {k["aim"]}, hit {k["phase"]})' for k in outcome['kills']]
    missed = f', missed {", ".join(outcome["missed"])}' if outcome['missed'] else ''
    print(f'{stage.name} trial {len(trials)}: killed at {", ".join(hits) or "-"}{missed}; '
          f'same result: {outcome["same_result"]}', flush=True)
  del reference['state']
  return dict(command=' '.join(stage.command('<workdir>')), reference=reference,
              trials=trials)
