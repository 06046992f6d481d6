"""S3D on neural codes at CR ~30 (codes 1/4 of the image side, every frame; CV Fig. 13).

python -m cvision.main --config=experiments/classify_codes_cr30_quick.py
Variants: `:frames` (frame level), `:recon` (the decoded reconstructions), `:recon,frames`.
Trains the small CR-32 codec (codec_quick.py:small_cr30) into runs/codec_small_cr30
first if it is not there.
"""
from cvision.configs import classify, codec


def get_config(arg=None):
  return classify.quick('codes', codec.SMALL_CR30, arg)
