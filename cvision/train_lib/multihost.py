"""Several processes (hosts) as one run: joining JAX's runtime, and who writes what.

Every host runs the same command on the same workdir. Training steps are collective (each
host feeds its rows of the batch, `sharding.host_batch_slice`), but files are not: a file
that every host would write the same is written by the primary host alone, and work that
fills a shared folder (a codes store) is split between hosts, which then meet at a barrier
before anyone reads it.
"""
import jax
from jax.experimental import multihost_utils


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None):
  """Joins the other processes; with no arguments JAX finds them (TPU VM, SLURM).

  CPU collectives between processes need gloo, chosen before the backends start; the
  setting leaves GPU and TPU computations alone, so it is made on every platform."""
  jax.config.update('jax_cpu_collectives_implementation', 'gloo')
  jax.distributed.initialize(coordinator_address, num_processes, process_id)


def is_primary() -> bool:
  """The host that writes the files every host would write alike (results, reports)."""
  return jax.process_index() == 0


def sync(name: str):
  """Waits until every host gets here (`name` must be the same on all of them)."""
  if jax.process_count() > 1:
    multihost_utils.sync_global_devices(name)


def my_share(items) -> list:
  """This host's part of `items` (every `process_count`-th), for work split between hosts
  whose results all of them read afterwards."""
  return list(items)[jax.process_index()::jax.process_count()]

