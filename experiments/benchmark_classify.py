"""S3D on CR-256 codes vs on RGB, and the input pipeline codes store vs H.264 + PyAV (CV §4.7).

python -m cvision.main --config=experiments/benchmark_classify.py

One run, side by side: the same 32 clips of 32 frames (64x64 procedural action videos),
batches of 8, S3D at full width; prints the ratios. The train step's memory is also
planned (compiled, not run) at the paper's 224x224. Uses the small CR-256 codec in
runs/codec_small_2000 (trained first if missing). `:smoke` is a seconds-long version for tests.
"""
from cvision.configs import classify, codec


def get_config(arg=None):
  c = classify.quick('codes', codec.SMALL_CR256, None)
  c.stage = 'classify_benchmark'
  c.input.codes_as = 'vectors'  # the paper's input
  c.model.update(width=1.0, stem_features=(64, 64))
  c.benchmark = dict(clips=32, frames=32, batch_size=8, repeats=3, seed=7,
                     memory_sizes=(224,))
  if arg == 'smoke':
    c.model.update(width=0.125, stem_features=(8, 8))
    c.benchmark.update(clips=4, batch_size=2, repeats=1, frames=16, memory_sizes=(64,))
  elif arg:
    raise ValueError(f'unknown variant {arg!r} (known: smoke)')
  return c
