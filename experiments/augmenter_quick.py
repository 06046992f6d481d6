"""The latent augmenter (CV §3.4, §E.1) against the small CR-256 codec, on CPU in minutes.

python -m cvision.main --config=experiments/augmenter_quick.py --workdir=runs/augmenter_cr256
python -m cvision.main --config=experiments/augmenter_quick.py:cr30 --workdir=runs/augmenter_cr30
python -m cvision.main --config=experiments/augmenter_quick.py:bilinear \
  --workdir=runs/augmenter_cr256_bilinear        # and :cr30_bilinear
python -m cvision.main --config=experiments/augmenter_quick.py:embeddings \
  --workdir=runs/augmenter_cr256_embeddings      # and :cr30_embeddings
One network for every kind (crop, flip, brightness, saturation, rotation, and crop with
flip), then its held-out evaluation: `<workdir>/eval/augmentation.md` and a PNG per kind.
Trains the small codec first (codec_quick.py:small_2000, or :small_cr30) if missing.
The plain variants make the classify configs' views; the `embeddings` ones output code
vectors, which decode closest to the augmented pixels (configs/augmenter.py says why).
"""
from cvision.configs import augmenter


def get_config(arg=None):
  return augmenter.quick(arg)
