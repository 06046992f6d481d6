"""The `codec_eval` stage: a trained codec against JPEG, H.264 and H.265 on real videos.

Loads the codec of `config.codec` without retraining it and writes to `<workdir>/eval/`
(see `evaluators.rate_distortion`).
"""
import os

from cvision import trained_codec
from cvision.evaluators import rate_distortion


def run(config, workdir: str, mesh, load_codec):
  del mesh
  print(f'codec_eval: {trained_codec.configured_workdir(config, workdir)} against '
        f'{", ".join(config.eval.classic_codecs)} on {config.eval.videos}')
  codec = load_codec()
  rate_distortion.evaluate(config.eval, codec, trained_codec.configured_workdir(config, workdir),
                           os.path.join(workdir, 'eval'))
