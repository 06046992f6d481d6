"""Wall-clock timing for the benchmarks."""
import time

import jax


def best_of(fn, repeats: int) -> float:
  """The fastest of `repeats` calls of `fn`, in seconds, each waited for until its device
  work is done (the fastest is the least disturbed by whatever else the machine runs)."""
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn())
    times.append(time.perf_counter() - start)
  return min(times)
