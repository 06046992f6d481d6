"""Compress / decompress speed of the quick RD codec beside x264 / x265 at 128x128.

python -m cvision.main --config=experiments/benchmark_rdcodec.py --workdir=runs/benchmark_rdcodec
Times the codec in `rdcodec.workdir` (trained there from rdcodec_quick.py if missing).
"""
from cvision.configs import rdcodec


def get_config(arg=None):
  del arg
  c = rdcodec.benchmark_base()
  c.rdcodec.workdir = 'runs/rdcodec_sweep/beta_0.1'
  c.rdcodec.config = 'experiments/rdcodec_quick.py:beta=0.1'
  return c
