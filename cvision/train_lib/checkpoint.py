"""Orbax checkpointing with automatic resume."""
import json
import os

import jax
import orbax.checkpoint as ocp

from cvision import atomic_files


def _directory(workdir: str) -> str:
  return os.path.abspath(os.path.join(workdir, 'checkpoints'))


def make_manager(workdir: str, every: int, keep: int = 2) -> ocp.CheckpointManager:
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, save_interval_steps=every,
                                         create=True)
  return ocp.CheckpointManager(_directory(workdir), options=options)


def restore_or(manager: ocp.CheckpointManager, state, shardings=None):
  """The latest checkpoint placed like `state` (with `shardings`), or `state` itself."""
  step = manager.latest_step()
  if step is None:
    return state
  abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
  if shardings is not None:
    abstract = jax.tree.map(lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
                            abstract, shardings)
  return manager.restore(step, args=ocp.args.StandardRestore(abstract))


def save(manager: ocp.CheckpointManager, step: int, state, force: bool = False) -> bool:
  return manager.save(step, args=ocp.args.StandardSave(state), force=force)


def latest_step(workdir: str):
  """The newest checkpoint's step in `workdir`, or None when it has none."""
  manager = ocp.CheckpointManager(_directory(workdir))
  step = manager.latest_step()
  manager.close()
  return step


def load_latest(workdir: str, abstract_state):
  """Restores the newest checkpoint of a finished (or running) run, for other stages."""
  manager = ocp.CheckpointManager(_directory(workdir))
  step = manager.latest_step()
  if step is None:
    raise FileNotFoundError(f'no checkpoint in {workdir}/checkpoints: train it first')
  restored = manager.restore(step, args=ocp.args.StandardRestore(abstract_state))
  manager.close()
  return step, restored


def claim_workdir(workdir: str, identity: dict):
  """Records a run's `identity` (JSON-able) in `workdir/run.json`, or checks it against
  what is there, so a rerun never resumes or reuses another run's checkpoints and
  results. Raises ValueError naming the top-level keys that differ."""
  path = os.path.join(workdir, 'run.json')
  if os.path.exists(path):
    with open(path) as f:
      theirs = json.load(f)
    if theirs != identity:
      differ = sorted(k for k in set(theirs) | set(identity) if theirs.get(k) != identity.get(k))
      raise ValueError(f'{workdir} holds a run with other settings ({", ".join(differ)} '
                       f"differ): its checkpoints and results are not this run's. Use another "
                       f'--workdir, or delete {path} and what the run wrote there.')
    return
  os.makedirs(workdir, exist_ok=True)
  atomic_files.write_json(path, identity, indent=2)
