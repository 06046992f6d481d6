"""VQ codec at CR 256 on 128x128 tours, for CPU (figures in docs/results.md).

python -m cvision.main --config=experiments/codec_quick.py --workdir=runs/codec_quick

`:small` is a narrower codec for 64x64 video that trains in minutes; the past-future
task makes it when it has no codec (walkingtours_pastfuture.py):
python -m cvision.main --config=experiments/codec_quick.py:small --workdir=runs/codec_small
`:small_2000` is the same trained for 2,000 steps (the classify configs at CR 256).
`:small_cr30` is its CR-32 sibling (codes 1/4 of the side, every frame), 300 steps, for
the classify configs at CR ~30; `:small_cr30_2000` the same trained for 2,000 steps.

Codes are 1/4 in time and 1/8 in space with 4 codebooks of 64 entries: per 4 frames of
128x128x3 bytes, 16x16x4 codes of 6 bits (CV §B.2's time compression), CR = 256.
The evaluation adds H.264 restricted to closed groups of 4 frames (the codes' time
span) and intra-only H.264 beside the usual baselines.
"""
from cvision.configs import codec


def get_config(arg=None):
  return codec.quick(arg)
