"""Fuzzes the `.cvz` decoder: mutated, truncated, forged and random files.

python tools/fuzz_cvz.py --cases=10000 --out=docs/results/fuzz_cvz.json

Every case must end as a valid decode or a clear error (`errors.UserError`: a corrupt,
truncated or foreign file), never another exception, never over --max_seconds. Forged
cases rewrite header fields or the chunk table *with* valid CRCs, so the checks behind
the CRCs are exercised too. The files come from a small untrained codec (the decoder's
checks do not depend on what the codec learned). Peak RSS is reported.
"""
import json
import os
import resource
import struct
import sys
import time
import zlib

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import numpy as np  # pylint: disable=g-import-not-at-top,wrong-import-position

# pylint: disable=g-import-not-at-top,wrong-import-position
from cvision import errors, trained_rdcodec
from cvision.coding import container, video as video_coding
# pylint: enable=g-import-not-at-top,wrong-import-position

_CASES = flags.DEFINE_integer('cases', 10_000, 'How many files to try.')
_SEED = flags.DEFINE_integer('seed', 0, 'Random seed of the mutations.')
_MAX_SECONDS = flags.DEFINE_float('max_seconds', 10.0, 'A case slower than this fails.')
_OUT = flags.DEFINE_string('out', '', 'Where to write the JSON report (optional).')

TINY = dict(model=dict(temporal=True, width=8, res_blocks=1, latent_channels=4, levels=4,
                       sharpness=1.0),
            prior=dict(context='last', features=8, layers=2, groups=2, kernel=3),
            chunk_frames=2, train_size=16, prior_rows=4,
            loss=dict(beta=0.1, distortion='ms_ssim'), train=dict(steps=1))


def seed_files(codec) -> list[bytes]:
  """Valid files of a few sizes and lengths (odd ones: padding is exercised too)."""
  rng = np.random.default_rng(0)
  files = []
  for frames, height, width in ((1, 8, 8), (5, 21, 27), (9, 16, 40)):
    clip = rng.integers(0, 255, (frames, height, width, 3), dtype=np.uint8)
    files.append(video_coding.compress(codec, clip, 25.0)[0])
  return files


def _recrc(data: bytearray) -> bytearray:
  """Makes the header and table CRCs valid again after a forged field."""
  head = container.HEADER_STRUCT.size
  data[head:head + 4] = struct.pack('<I', zlib.crc32(bytes(data[:head])))
  chunks = struct.unpack_from('<I', data, head - 4)[0]
  end = container.HEADER_BYTES + 8 * min(chunks, 10 ** 6)
  if end + 4 <= len(data):
    data[end:end + 4] = struct.pack('<I', zlib.crc32(bytes(data[container.HEADER_BYTES:end])))
  return data


def mutate(seed: bytes, rng: np.random.Generator) -> tuple[str, bytes]:
  """One case: (kind, bytes)."""
  data = bytearray(seed)
  kind = rng.choice(['flip', 'truncate', 'random', 'splice', 'forge_header', 'forge_table',
                     'payload'])
  if kind == 'flip':
    for _ in range(int(rng.integers(1, 9))):
      data[int(rng.integers(len(data)))] ^= int(rng.integers(1, 256))
  elif kind == 'truncate':
    data = data[:int(rng.integers(len(data)))]
  elif kind == 'random':
    data = bytearray(rng.integers(0, 256, int(rng.integers(0, 4096)), dtype=np.uint8))
    if rng.random() < 0.5:  # past the magic and version, into the checks behind them
      data[:6] = container.MAGIC + struct.pack('<H', container.VERSION)
  elif kind == 'splice':
    at = int(rng.integers(len(data)))
    data = data[:at] + bytearray(rng.integers(0, 256, int(rng.integers(1, 64)),
                                              dtype=np.uint8)) + data[at:]
  elif kind == 'forge_header':
    offset = int(rng.integers(22, container.HEADER_STRUCT.size))
    data[offset] = int(rng.integers(256))
    data = _recrc(data)
  elif kind == 'forge_table':
    chunks = struct.unpack_from('<I', data, container.HEADER_STRUCT.size - 4)[0]
    at = container.HEADER_BYTES + 8 * int(rng.integers(chunks)) + 4 * int(rng.integers(2))
    struct.pack_into('<I', data, at, int(rng.integers(0, 2 ** 32)) if rng.random() < 0.5
                     else max(0, struct.unpack_from('<I', data, at)[0] + int(
                         rng.integers(-8, 9))))
    data = _recrc(data)
  else:  # payload bytes only: the CRCs of header and table stay valid
    table_end = container.HEADER_BYTES + 8 * struct.unpack_from(
        '<I', data, container.HEADER_STRUCT.size - 4)[0] + 4
    if table_end < len(data):
      data[int(rng.integers(table_end, len(data)))] ^= int(rng.integers(1, 256))
  return str(kind), bytes(data)


def run_case(codec, data: bytes) -> str:
  """'decoded', 'refused', or 'crash: ...' (anything but a clear error)."""
  try:
    frames = list(video_coding.decompress(codec, data, 'case.cvz'))
    return 'decoded' if frames else 'crash: decoded no frames'
  except errors.UserError:
    return 'refused'
  except Exception as e:  # pylint: disable=broad-except  (that is what is counted)
    return f'crash: {type(e).__name__}: {e}'


def fuzz(cases: int, seed: int, max_seconds: float, log=print) -> dict:
  codec = trained_rdcodec.initialised(TINY, seed=0)
  seeds = seed_files(codec)
  rng = np.random.default_rng(seed)
  report = dict(cases=0, failures=0, decoded=0, refused=0, slowest_s=0.0, kinds={},
                failed=[])
  for i in range(cases):
    kind, data = mutate(seeds[int(rng.integers(len(seeds)))], rng)
    start = time.perf_counter()
    outcome = run_case(codec, data)
    seconds = time.perf_counter() - start
    report['cases'] += 1
    report['kinds'][kind] = report['kinds'].get(kind, 0) + 1
    report['slowest_s'] = max(report['slowest_s'], seconds)
    if outcome.startswith('crash') or seconds > max_seconds:
      report['failures'] += 1
      report['failed'].append(dict(case=i, kind=kind, outcome=outcome, seconds=seconds))
    else:
      report[outcome] += 1
    if (i + 1) % 1000 == 0:
      log(f'{i + 1} cases, {report["failures"]} failures')
  report['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
  return report


def main(argv):
  del argv
  report = fuzz(_CASES.value, _SEED.value, _MAX_SECONDS.value)
  report['command'] = 'python tools/fuzz_cvz.py ' + ' '.join(sys.argv[1:])
  text = json.dumps(report, indent=1)
  print(text)
  if _OUT.value:
    with open(_OUT.value, 'w', encoding='utf-8') as f:
      f.write(text + '\n')


if __name__ == '__main__':
  app.run(main)
