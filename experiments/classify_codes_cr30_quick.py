"""S3D on neural codes at CR ~30 (codes 1/4 of the image side, every frame; CV Fig. 13).

python -m cvision.main --config=experiments/classify_codes_cr30_quick.py
Variants: `:frames` (frame level), `:recon` (the decoded reconstructions), `:recon,frames`.
Trains the small CR-32 codec (codec_quick.py:small_cr30) into runs/codec_small_cr30
first if it is not there.
CV Table 4's rows: `:central`, `:nn_crop`, `:learned_crop`, `:learned_flip_train`,
`:learned_flip_train_test`, and `:nn_crop_learned_flip(_test)` (NN crops of clips the
augmenter flips; the learned ones train the quick augmenter into
runs/augmenter_cr30 first if it is not there; docs/augmenter.md).
"""
from cvision.configs import augmenter, classify, codec


def get_config(arg=None):
  return classify.quick('codes', codec.SMALL_CR30, arg, augmenter.QUICK_CR30)
