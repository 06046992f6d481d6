"""Bjøntegaard delta rate (VCEG-M33): how much more (or less, negative) rate a codec
needs than an anchor for the same quality, averaged over the qualities both reach.

Each curve's log rate is fitted as a cubic in quality (a lower degree when it has fewer
than 4 points), both fits are integrated over the overlap, and the mean log-rate
difference is turned into a percentage. MS-SSIM is compared in decibels,
-10 log10(1 - MS-SSIM), where curves are closer to straight than in raw MS-SSIM.
"""
import numpy as np


def ms_ssim_db(ms_ssim):
  return -10.0 * np.log10(np.maximum(1.0 - np.asarray(ms_ssim, np.float64), 1e-10))


def bd_rate(anchor_rate, anchor_quality, test_rate, test_quality) -> float | None:
  """Percent rate change of `test` against `anchor` at equal quality; None when the two
  curves share no quality range."""
  fits, ranges = [], []
  for rate, quality in ((anchor_rate, anchor_quality), (test_rate, test_quality)):
    rate, quality = np.asarray(rate, np.float64), np.asarray(quality, np.float64)
    if len(rate) < 2 or len(rate) != len(quality):
      raise ValueError(f'a curve needs >= 2 (rate, quality) points; got {len(rate)}')
    degree = min(3, len(rate) - 1)
    fits.append(np.polyint(np.polyfit(quality, np.log(rate), degree)))
    ranges.append((quality.min(), quality.max()))
  low, high = max(r[0] for r in ranges), min(r[1] for r in ranges)
  if high <= low:
    return None
  mean = [(np.polyval(f, high) - np.polyval(f, low)) / (high - low) for f in fits]
  return float((np.exp(mean[1] - mean[0]) - 1.0) * 100.0)
