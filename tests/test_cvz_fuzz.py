"""A few hundred fuzzed `.cvz` files (hypothesis): each decodes or is a clear error.

`tools/fuzz_cvz.py` runs the 10,000-case version of this by command.
"""
import os
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                'tools'))
import fuzz_cvz  # pylint: disable=g-import-not-at-top,wrong-import-position

from cvision import trained_rdcodec  # pylint: disable=g-import-not-at-top,wrong-import-position

_SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))


@pytest.fixture(scope='module')
def fuzz_setup():
  codec = trained_rdcodec.initialised(fuzz_cvz.TINY, seed=0)
  return codec, fuzz_cvz.seed_files(codec)


def _check(codec, data: bytes):
  start = time.perf_counter()
  outcome = fuzz_cvz.run_case(codec, data)
  assert not outcome.startswith('crash'), outcome
  assert time.perf_counter() - start < 10.0


@_SETTINGS
@given(data=st.data())
def test_mutated_and_truncated_files(fuzz_setup, data):
  codec, seeds = fuzz_setup
  seed = bytearray(seeds[data.draw(st.integers(0, len(seeds) - 1))])
  for _ in range(data.draw(st.integers(0, 6))):
    seed[data.draw(st.integers(0, len(seed) - 1))] ^= data.draw(st.integers(1, 255))
  cut = data.draw(st.integers(0, len(seed)))
  _check(codec, bytes(seed[:cut]))


@_SETTINGS
@given(data=st.data())
def test_forged_files_with_valid_crcs(fuzz_setup, data):
  import numpy as np  # pylint: disable=g-import-not-at-top
  codec, seeds = fuzz_setup
  rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1)))
  _, mutated = fuzz_cvz.mutate(seeds[int(rng.integers(len(seeds)))], rng)
  _check(codec, mutated)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(st.binary(max_size=600))
def test_random_bytes(fuzz_setup, blob):
  _check(fuzz_setup[0], blob)
