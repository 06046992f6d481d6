"""One mesh for the whole run, sharding rules for state, and batch placement.

The mesh comes from `config.mesh`, a tuple of `(axis_name, size)` with at most one size
of -1 (take the remaining devices), laid out over the hardware by `jax.make_mesh` (so a
TPU slice's `model` axis runs along its fastest links). Batches are split along `data`;
state leaves are replicated unless one of `config.shard_rules` maps them onto an axis.
"""
import re
from typing import Sequence

import jax
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec as P

from cvision import errors


def make_mesh(axes: Sequence[tuple[str, int]], devices=None) -> Mesh:
  devices = list(devices if devices is not None else jax.devices())
  names = tuple(name for name, _ in axes)
  sizes = [size for _, size in axes]
  if sizes.count(-1) > 1:
    raise errors.ConfigError(f'config.mesh may have at most one -1 size, got {tuple(axes)}')
  known = int(np.prod([s for s in sizes if s != -1]))
  if len(devices) % known:
    raise errors.ConfigError(f'config.mesh {tuple(axes)} does not divide {len(devices)} '
                             f'devices')
  sizes = tuple(len(devices) // known if s == -1 else s for s in sizes)
  if int(np.prod(sizes)) != len(devices):
    raise errors.ConfigError(f'config.mesh {tuple(axes)} needs {int(np.prod(sizes))} '
                             f'devices, found {len(devices)}')
  if len(devices) == jax.device_count():
    # Auto axes: the compiler propagates shardings from the inputs' and outputs' own.
    return jax.make_mesh(sizes, names, axis_types=(AxisType.Auto,) * len(names),
                         devices=devices)
  return Mesh(np.asarray(devices).reshape(sizes), names)  # a subset (tests): as given


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading (batch) axis over `data`, everything else whole."""
  return NamedSharding(mesh, P('data'))


def replicated(mesh: Mesh) -> NamedSharding:
  return NamedSharding(mesh, P())


def leaf_name(path) -> str:
  """A pytree path as 'params/adapter/Dense_0/kernel' (what sharding rules match)."""
  parts = []
  for key in path:
    for attr in ('key', 'name', 'idx'):
      if hasattr(key, attr):
        parts.append(str(getattr(key, attr)))
        break
  return '/'.join(parts)


def state_shardings(mesh: Mesh, abstract_state, rules=()):
  """NamedShardings for every leaf of a state, from `(regex, axis)` rules.

  A rule's regex must match the whole `leaf_name` (e.g. '.*Dense_.*/kernel' also catches
  the optimizer's moments of those kernels); its axis names the mesh axis that the leaf's
  last dimension is split over (if that axis exists and the dimension divides evenly),
  `None` replicates. The first matching rule wins; other leaves are replicated.
  """
  def leaf_sharding(path, leaf):
    name = leaf_name(path)
    for pattern, axis in rules:
      if re.fullmatch(pattern, name):
        shape = getattr(leaf, 'shape', ())
        if (axis and axis in mesh.axis_names and shape
            and shape[-1] % mesh.shape[axis] == 0):
          return NamedSharding(mesh, P(*([None] * (len(shape) - 1)), axis))
        break
    return replicated(mesh)
  return jax.tree_util.tree_map_with_path(leaf_sharding, abstract_state)


def host_batch_slice(global_batch: int) -> slice:
  """The rows of the global batch this host reads (each host reads only its own)."""
  count = jax.process_count()
  if global_batch % count:
    raise errors.ConfigError(f'batch size {global_batch} must divide by {count} hosts')
  local = global_batch // count
  return slice(jax.process_index() * local, (jax.process_index() + 1) * local)


def put_batch(batch, mesh: Mesh):
  """Host-local numpy batch -> global jax.Array sharded over `data`."""
  sharding = batch_sharding(mesh)
  ways = mesh.shape['data']
  for rows in {np.shape(x)[0] * jax.process_count() for x in jax.tree.leaves(batch)}:
    if rows % ways:
      raise errors.ConfigError(
          f"a batch of {rows} does not split over the mesh's {ways}-way 'data' axis: make "
          f"the config's batch a multiple of {ways}, or give the data axis fewer devices "
          f"(e.g. --config.mesh=\"(('data', 1), ('model', -1))\")")
  return jax.tree.map(
      lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), batch)
