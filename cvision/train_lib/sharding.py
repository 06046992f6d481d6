"""One mesh for the whole run, sharding rules for state, and batch placement.

The mesh comes from `config.mesh`, a tuple of `(axis_name, size)` with at most one size
of -1 (take the remaining devices). Batches are split along `data`; parameters are
replicated unless a rule maps them onto the `model` axis (used when it exists).
"""
import re
from typing import Sequence

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P


def make_mesh(axes: Sequence[tuple[str, int]], devices=None) -> Mesh:
  devices = list(devices if devices is not None else jax.devices())
  names = [name for name, _ in axes]
  sizes = [size for _, size in axes]
  if sizes.count(-1) > 1:
    raise ValueError(f'config.mesh may have at most one -1 size, got {tuple(axes)}')
  known = int(np.prod([s for s in sizes if s != -1]))
  if len(devices) % known:
    raise ValueError(f'config.mesh {tuple(axes)} does not divide {len(devices)} devices')
  sizes = [len(devices) // known if s == -1 else s for s in sizes]
  if int(np.prod(sizes)) != len(devices):
    raise ValueError(f'config.mesh {tuple(axes)} needs {int(np.prod(sizes))} devices, '
                     f'found {len(devices)}')
  return Mesh(np.asarray(devices).reshape(sizes), names)


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) axis over `data`, everything else whole."""
  return NamedSharding(mesh, P('data'))


def state_shardings(mesh: Mesh, abstract_state, rules=((r'.*', None),)):
  """NamedShardings for every leaf of a state, from `(regex on path, axis)` rules.

  A rule's axis names the mesh axis that the leaf's last dimension is split over (if
  that dimension divides evenly); `None` replicates. The first matching rule wins.
  """
  def leaf_sharding(path, leaf):
    name = jax.tree_util.keystr(path)
    for pattern, axis in rules:
      if re.fullmatch(pattern, name):
        shape = getattr(leaf, 'shape', ())
        if (axis and axis in mesh.axis_names and shape
            and shape[-1] % mesh.shape[axis] == 0):
          return NamedSharding(mesh, P(*([None] * (len(shape) - 1)), axis))
        return NamedSharding(mesh, P())
    return NamedSharding(mesh, P())
  return jax.tree_util.tree_map_with_path(leaf_sharding, abstract_state)


def host_batch_slice(global_batch: int) -> slice:
  """The rows of the global batch this host reads (each host reads only its own)."""
  count = jax.process_count()
  if global_batch % count:
    raise ValueError(f'batch_size {global_batch} must divide by {count} hosts')
  local = global_batch // count
  return slice(jax.process_index() * local, (jax.process_index() + 1) * local)


def put_batch(batch, mesh: Mesh):
  """Host-local numpy batch -> global jax.Array sharded over `data`."""
  sharding = batch_sharding(mesh)
  ways = mesh.shape['data']
  for rows in {np.shape(x)[0] * jax.process_count() for x in jax.tree.leaves(batch)}:
    if rows % ways:
      raise ValueError(
          f"a batch of {rows} does not split over the mesh's {ways}-way 'data' axis: make "
          f"the config's batch a multiple of {ways}, or give the data axis fewer devices "
          f"(e.g. --config.mesh=\"(('data', 1), ('model', -1))\")")
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), batch)
