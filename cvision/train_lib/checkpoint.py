"""Orbax checkpoints of a workdir, and the record that a workdir belongs to one run."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from cvision import atomic_files, errors


def _directory(workdir: str) -> str:
  return os.path.abspath(os.path.join(workdir, 'checkpoints'))


def make_manager(workdir: str, keep: int = 2) -> ocp.CheckpointManager:
  """A manager that saves whenever asked (the training loop decides when)."""
  options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
  return ocp.CheckpointManager(_directory(workdir), options=options)


def restore(manager: ocp.CheckpointManager, step: int, abstract_state, shardings=None):
  """Checkpoint `step` laid out like `abstract_state` (placed with `shardings`)."""
  if shardings is not None:
    abstract_state = jax.tree.map(
        lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s), abstract_state,
        shardings)
  return manager.restore(step, args=ocp.args.StandardRestore(abstract_state))


def save(manager: ocp.CheckpointManager, step: int, state):
  manager.save(step, args=ocp.args.StandardSave(state), force=True)


def latest_step(workdir: str):
  """The newest checkpoint's step in `workdir`, or None when it has none."""
  manager = ocp.CheckpointManager(_directory(workdir))
  step = manager.latest_step()
  manager.close()
  return step


def load_latest(workdir: str, abstract_state):
  """(step, state) of the newest checkpoint of a run, for other stages to use.

  The state is whole on this process, however it was saved, and placed as arrays made
  here are (not committed to a device): a model used, not trained, by a stage then runs
  on each host alone (hosts encode different videos with it), or is laid over the mesh of
  all hosts when a step takes it, and a run on one topology reads another's checkpoints."""
  manager = ocp.CheckpointManager(_directory(workdir))
  step = manager.latest_step()
  if step is None:
    manager.close()
    raise errors.MissingInput(f'no checkpoint in {workdir}/checkpoints: train it first')
  here = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  restored = restore(manager, step, abstract_state,
                     jax.tree.map(lambda _: here, abstract_state))
  manager.close()
  return step, jax.tree.map(lambda x: jnp.asarray(np.asarray(x)), restored)


def claim_workdir(workdir: str, identity: dict, name: str = 'run.json',
                  what: str = 'a run with other settings'):
  """Records a run's `identity` (JSON-able) in `workdir/<name>`, or checks it against
  what is there, so a rerun never resumes or reuses another run's (or model's)
  checkpoints and results. Raises ConfigError naming the top-level keys that differ."""
  path = os.path.join(workdir, name)
  # Compared as written: JSON keeps a config's tuples as lists.
  identity = json.loads(json.dumps(identity))
  if os.path.exists(path):
    with open(path) as f:
      theirs = json.load(f)
    if theirs != identity:
      differ = sorted(k for k in set(theirs) | set(identity) if theirs.get(k) != identity.get(k))
      raise errors.ConfigError(
          f'{workdir} holds {what} ({", ".join(differ)} differ): its checkpoints and results '
          f"are not this run's. Use another --workdir, or delete {path} and what the run "
          f'wrote there.')
    return
  os.makedirs(workdir, exist_ok=True)
  atomic_files.write_json(path, identity, indent=2)
