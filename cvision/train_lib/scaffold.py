"""The one training scaffold every trainer uses: state made or restored, then the loop.

    run = TrainRun(workdir, mesh, config.shard_rules)
    state, shardings = run.initial_state(init_fn, rng)    # eval_shape -> shardings ->
                                                           # jitted init, or restore
    state = run.loop(state, step_fn, batches, config.train, name='codec', ...)

`step_fn(state, batch) -> (state, metrics)` is the trainer's jitted step. The loop
keeps the metrics on the device and fetches them every `train.log_every` steps (a
fetch per step would make the host wait for the device), checks them for NaN then and
before every save, and builds the next batches in a thread while the device computes.
"""
import collections
import contextlib
import time
from typing import Callable, Iterable

import jax
import numpy as np
from clu import metric_writers

from cvision import progress
from cvision.train_lib import checkpoint, prefetch, sharding

# Steps the host may dispatch ahead of the device: enough to hide dispatch, few enough
# that the progress bar tells the truth and batches in flight stay few.
_AHEAD = 2


def make_writer(workdir: str):
  """TensorBoard event files in `workdir` plus log lines (only host 0 writes events)."""
  return metric_writers.create_default_writer(workdir, just_logging=jax.process_index() > 0)


def check_finite(step: int, loss: float):
  """Stops the run when the loss stops being a number; the last good checkpoint stays."""
  if not np.isfinite(loss):
    raise FloatingPointError(f'loss became {loss} at step {step}; the last good checkpoint '
                             f'is kept. Lower train.lr or check the input data.')


class TrainRun:
  """Training of one model in `workdir`: checkpoints there, resumed automatically."""

  def __init__(self, workdir: str, mesh, rules=(), keep: int = 2):
    self.workdir, self.mesh, self.rules = workdir, mesh, rules
    self.manager = checkpoint.make_manager(workdir, keep)
    self.writer = make_writer(workdir)
    self.start = 0

  def initial_state(self, init_fn: Callable, rng, shardings_of: Callable | None = None):
    """`(state, shardings)`: the newest checkpoint, or `init_fn(rng)` compiled straight
    into its shardings (no full copy of the state on one device first).

    shardings_of: abstract state -> shardings; by default the config's rules."""
    abstract = jax.eval_shape(init_fn, rng)
    shardings = (shardings_of(abstract) if shardings_of else
                 sharding.state_shardings(self.mesh, abstract, self.rules))
    step = self.manager.latest_step()
    if step is None:
      state = jax.jit(init_fn, out_shardings=shardings)(rng)
    else:
      state = checkpoint.restore(self.manager, step, abstract, shardings)
    self.start = step or 0
    return state, shardings

  def loop(self, state, step_fn: Callable, batches: Iterable, train_config, *, name: str,
           examples_per_step: int, schedule: Callable | None = None,
           hooks: Iterable[Callable] = ()):
    """Runs steps `start + 1 .. train.steps` on `batches` (host-local numpy batches, the
    first for step `start + 1`); saves every `train.ckpt_every` steps and at the end.
    hooks: `hook(step, state)` after every step. Returns the final state."""
    try:
      state = self._steps(state, step_fn, batches, train_config, name, examples_per_step,
                          schedule, hooks)
    finally:  # a save under way completes even when a step fails or is interrupted
      self.manager.wait_until_finished()
    self.writer.flush()
    self.start = train_config.steps
    return state

  def _steps(self, state, step_fn, batches, train_config, name, examples_per_step, schedule,
             hooks):
    total, log_every, ckpt_every = (train_config.steps, train_config.log_every,
                                    train_config.ckpt_every)
    pending, in_flight = [], collections.deque()
    clock = dict(time=time.perf_counter(), step=self.start)
    put = lambda batch: sharding.put_batch(batch, self.mesh)
    with contextlib.closing(prefetch.prefetch(batches, put)) as placed, \
         progress.bar(total, name, initial=self.start) as bar:
      for step in range(self.start + 1, total + 1):
        state, metrics = step_fn(state, next(placed))
        pending.append((step, metrics))
        in_flight.append(metrics)
        if len(in_flight) > _AHEAD:
          jax.block_until_ready(in_flight.popleft())
        bar.update()
        for hook in hooks:
          hook(step, state)
        save = step % ckpt_every == 0 or step == total
        if save or step % log_every == 0:  # metrics are checked before every save
          scalars = self._fetch(pending, clock, examples_per_step, schedule)
          self.writer.write_scalars(step, scalars)
          bar.set_postfix(loss=f"{scalars['loss']:.4g}", refresh=False)
          pending = []
        if save:
          checkpoint.save(self.manager, step, state)
    return state

  def _fetch(self, pending, clock, examples_per_step, schedule) -> dict:
    """Means of the pending steps' metrics, checked for NaN, with rates and the lr."""
    fetched = jax.device_get([metrics for _, metrics in pending])
    for (step, _), metrics in zip(pending, fetched):
      check_finite(step, float(metrics['loss']))
    scalars = {k: float(np.mean([m[k] for m in fetched])) for k in fetched[0]}
    now, step = time.perf_counter(), pending[-1][0]
    steps_per_s = (step - clock['step']) / max(now - clock['time'], 1e-9)
    clock.update(time=now, step=step)
    scalars.update(steps_per_s=steps_per_s, examples_per_s=steps_per_s * examples_per_step)
    if schedule is not None:
      scalars['lr'] = float(schedule(step - 1))  # the rate the last update used
    return scalars

  def close(self):
    self.manager.wait_until_finished()
    self.manager.close()
    self.writer.close()
