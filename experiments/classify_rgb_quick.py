"""S3D on RGB clips of the procedural action videos: the baseline (CV §4.3, CR 1).

python -m cvision.main --config=experiments/classify_rgb_quick.py
Frame-level (COIN-style steps videos, per-frame labels):
python -m cvision.main --config=experiments/classify_rgb_quick.py:frames
"""
from cvision.configs import classify


def get_config(arg=None):
  return classify.quick('rgb', None, arg)
