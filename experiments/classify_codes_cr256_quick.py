"""S3D on neural codes at CR 256 (codes 1/8 of the side, 1/4 of the frames; CV Fig. 14).

python -m cvision.main --config=experiments/classify_codes_cr256_quick.py
Reconstructions decoded from the same codes (CV Table 6):
python -m cvision.main --config=experiments/classify_codes_cr256_quick.py:recon
Variants: `:frames` (frame level), `:recon,frames`.
Trains the small CR-256 codec (codec_quick.py:small_2000) into runs/codec_small_2000
first if it is not there.
CV Table 4's rows: `:central`, `:nn_crop`, `:learned_crop`, `:learned_flip_train`,
`:learned_flip_train_test`, and `:nn_crop_learned_flip(_test)` (NN crops of clips the
augmenter flips; the learned ones train the quick augmenter into
runs/augmenter_cr256 first if it is not there; docs/augmenter.md).
"""
from cvision.configs import augmenter, classify, codec


def get_config(arg=None):
  return classify.quick('codes', codec.SMALL_CR256, arg, augmenter.QUICK_CR256)
