"""Loop helpers shared by every trainer: metric writers, progress with ETA, NaN guard."""
import time

import jax
import numpy as np
from clu import metric_writers, periodic_actions

from cvision.train_lib import checkpoint


def make_writer(workdir: str):
  """TensorBoard event files in `workdir` plus readable log lines (host 0 only writes)."""
  return metric_writers.create_default_writer(workdir, just_logging=jax.process_index() > 0)


def make_progress(total_steps: int, writer):
  """Logs steps/s and an ETA every ~30 s of wall time."""
  return periodic_actions.ReportProgress(num_train_steps=total_steps, writer=writer,
                                         every_secs=30.0)


def check_finite(step: int, metrics: dict):
  """Stops the run with a clear error when the loss stops being a number.

  Raised before anything is saved at this step, so the last checkpoint stays good.
  """
  loss = float(metrics['loss'])
  if not np.isfinite(loss):
    raise FloatingPointError(
        f'loss became {loss} at step {step}; the last good checkpoint is kept. Lower '
        f'train.lr or check the input data.')


def after_step(step: int, state, stats: dict, history: list, *, writer, progress, manager,
               train_config) -> list:
  """The bookkeeping after update `step` (counted from 1): NaN guard, progress, mean
  metrics every `train.log_every` steps and at the last, checkpoint. Returns the metrics
  not yet written."""
  check_finite(step, stats)
  history.append(stats)
  progress(step)
  last = step == train_config.steps
  if step % train_config.log_every == 0 or last:
    writer.write_scalars(step, mean_metrics(history))
    history = []
  checkpoint.save(manager, step, state, force=last)
  return history


def mean_metrics(history: list[dict]) -> dict:
  return {k: float(np.mean([float(m[k]) for m in history])) for k in history[0]}


class Eta:
  """Plain ETA text for long non-training loops (encoding, evaluation)."""

  def __init__(self, total: int):
    self.total, self.start = total, time.time()

  def __call__(self, done: int) -> str:
    elapsed = time.time() - self.start
    left = elapsed / max(done, 1) * (self.total - done)
    return f'{done}/{self.total}, {elapsed:.0f}s elapsed, ETA {left:.0f}s'
