"""How good a codec acceptance item 1's crop target asks for: classic codecs in place of
the neural one on the augmenter evaluation's held-out clips and crop grid.

python tools/crop_ceiling_classic.py [--codecs h264_gop1 h265_gop1 h264_gop4] [--rates 32 256]

For each classic codec C (classic_codecs.parse_name), at each compression rate, SSIM
against A_θ(X) of the identity, decode(C(X)), and of the ceiling, decode(C(A_θ(X))), each
interpolated in log rate over C's CRF sweep (as the codec evaluation places classic codecs
at the neural codec's rate); plus the identity of a lossless codec, SSIM(X, A_θ(X)). The
target, learned ≥ identity + 0.3, can only be met where the ceiling clears it. A rate C
cannot reach on a clip leaves that clip out, and the table says on how many it could.
"""
import argparse

import jax
import jax.numpy as jnp
import numpy as np

from cvision.configs import augmenter as augmenter_configs
from cvision.evaluators import augmentation, classic_codecs
from cvision import metrics
from cvision.tasks import augment

_ssim = jax.jit(jax.vmap(metrics.ssim))


def ssim(x, y) -> np.ndarray:
  """Per-clip SSIM of videos `[n, T, H, W, 3]` in [0, 1]."""
  return np.asarray(_ssim(jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)))


def sweep(clip: np.ndarray, name: str) -> list[tuple[float, np.ndarray]]:
  """`(rate, decoded frames in [0, 1])` at each CRF of classic codec `name`."""
  codec, gop = classic_codecs.parse_name(name)
  points = []
  for crf in classic_codecs.CRFS:
    decoded, size, _, _ = classic_codecs.ffmpeg_roundtrip(clip, codec, crf, gop=gop)
    points.append((clip.size / size, decoded / 255.0))
  return points


def at_rate(rates, values, rate: float):
  """`values` (`[rates, n]`) interpolated in log rate at `rate`, `[n]`; None outside the
  rates reached."""
  order = np.argsort(rates)
  logs = np.log(np.asarray(rates)[order])
  if not logs[0] <= np.log(rate) <= logs[-1]:
    return None
  values = np.asarray(values)[order]
  return np.array([np.interp(np.log(rate), logs, column) for column in values.T])


def measure(names, rates) -> dict:
  config = augmenter_configs.quick(None).eval
  clips = augmentation.held_out_clips(config, size=64)
  thetas = augmentation.theta_grid(config)['crop']
  lossless, rows = [], {}
  scores = {(name, rate): dict(identity=[], ceiling=[], clips=0)
            for name in names for rate in rates}
  for _, _, clip in clips:
    video = np.repeat(clip[None] / 255.0, len(thetas), 0)
    target = np.asarray(augment.augment_pixels(jnp.asarray(video, jnp.float32), thetas))
    lossless += list(ssim(video, target))
    for name in names:
      identity = [(rate, ssim(np.repeat(decoded[None], len(thetas), 0), target))
                  for rate, decoded in sweep(clip, name)]
      ceilings = [[(rate, ssim(decoded[None], target[i:i + 1]))
                   for rate, decoded in sweep(np.uint8(np.round(target[i] * 255)), name)]
                  for i in range(len(thetas))]
      for rate in rates:
        s = scores[name, rate]
        views = [at_rate(*zip(*identity), rate)] + [at_rate(*zip(*c), rate) for c in ceilings]
        if all(v is not None for v in views):  # the whole grid of this clip, or none of it
          s['identity'] += list(views[0])
          s['ceiling'] += [float(v[0]) for v in views[1:]]
          s['clips'] += 1
  for (name, rate), s in scores.items():
    rows.setdefault(name, {})[rate] = dict(
        identity=float(np.mean(s['identity'])) if s['clips'] else None,
        ceiling=float(np.mean(s['ceiling'])) if s['clips'] else None,
        clips=s['clips'], of=len(clips))
  return dict(lossless_identity=float(np.mean(lossless)), codecs=rows)


def markdown(result: dict) -> str:
  fmt = lambda v: '-' if v is None else f'{v:.3f}'
  lines = ['| codec | rate | identity (b) | (b) + 0.3 | ceiling (c) | (c) - (b) | clips |',
           '|---|---|---|---|---|---|---|']
  for name, by_rate in result['codecs'].items():
    for rate, r in by_rate.items():
      b, c = r['identity'], r['ceiling']
      lines.append(f"| {name} | {rate:g} | {fmt(b)} | {fmt(None if b is None else b + 0.3)} | "
                   f"{fmt(c)} | {fmt(None if b is None else c - b)} | {r['clips']} of {r['of']} |")
  lines.append(f"\nLossless codec: identity {result['lossless_identity']:.3f}, ceiling 1.")
  return '\n'.join(lines)


if __name__ == '__main__':
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--codecs', nargs='+', default=['h264_gop1', 'h265_gop1', 'h264_gop4'])
  parser.add_argument('--rates', nargs='+', type=float, default=[32, 256])
  args = parser.parse_args()
  print(markdown(measure(args.codecs, args.rates)))
