"""S3D on neural codes at CR 256 (codes 1/8 of the side, 1/4 of the frames; CV Fig. 14).

python -m cvision.main --config=experiments/classify_codes_cr256_quick.py
Reconstructions decoded from the same codes (CV Table 6):
python -m cvision.main --config=experiments/classify_codes_cr256_quick.py:recon
Variants: `:frames` (frame level), `:recon,frames`.
Trains the small CR-256 codec (codec_quick.py:small_2000) into runs/codec_small_2000
first if it is not there.
"""
from cvision.configs import classify, codec


def get_config(arg=None):
  return classify.quick('codes', codec.SMALL_CR256, arg)
