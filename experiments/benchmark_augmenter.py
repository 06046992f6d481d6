"""CV Table 8: learned augmentation of codes vs decode -> augment -> re-encode, side by side.

python -m cvision.main --config=experiments/benchmark_augmenter.py
python -m cvision.main --config=experiments/benchmark_augmenter.py:cr30
A batch of 8 clips of 32 frames against the small CR-256 (or CR-32) codec and its quick
augmenter, both trained first if missing. Writes benchmark.json and benchmark.md.
"""
from cvision.configs import augmenter, codec


def get_config(arg=None):
  c = augmenter.benchmark_base()
  if arg in (None, 'cr256'):
    c.codec.update(codec.SMALL_CR256)
    c.augmenter.update(augmenter.QUICK_CR256)
  elif arg == 'cr30':
    c.codec.update(codec.SMALL_CR30)
    c.augmenter.update(augmenter.QUICK_CR30)
  else:
    raise ValueError(f'unknown variant {arg!r} (known: cr256, cr30)')
  return c
