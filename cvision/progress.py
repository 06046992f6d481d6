"""Progress bars with ETA for every long phase (training, encoding, evaluation).

One tqdm bar per phase on stderr. On a terminal it redraws in place; in a log (CI, a
batch job) it writes a line at most every 30 s so the log stays readable. Only process 0
draws: on a pod every host runs the same phases.
"""
import sys
from typing import Iterable

import jax
import tqdm


def bar(work: int | Iterable, desc: str, unit: str = 'step', initial: int = 0) -> tqdm.tqdm:
  """A bar over `work`: a count (advance it with `.update(n)`) or an iterable to wrap."""
  total, items = (work, None) if isinstance(work, int) else (None, work)
  interactive = sys.stderr.isatty()
  return tqdm.tqdm(items, total=total, initial=initial, desc=desc, unit=unit,
                   file=sys.stderr, dynamic_ncols=True,
                   mininterval=0.5 if interactive else 30.0,
                   maxinterval=30.0 if interactive else 60.0,
                   disable=jax.process_index() > 0, smoothing=0.1)
