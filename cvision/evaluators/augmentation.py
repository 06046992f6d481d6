"""A trained augmenter on held-out clips, per kind, over a grid of θ (CV §4.5, Fig. 5-9).

Against the pixel-space view `A_θ(X)`, SSIM and PSNR of
  learned:  decoder(a(c(X), θ)), the augmenter (an 'embeddings' augmenter's vectors as
            they are);
  snapped:  for an 'embeddings' augmenter, the decoding of its vectors snapped to codes
            (what the codes store and S3D get);
  identity: decoder(c(X)), doing nothing (the paper's 0.44 SSIM for crops);
  ceiling:  decoder(c(A_θ(X))), re-encoding the augmented pixels;
  nn:       for crops, the code tensor cut and resized by nearest neighbours ([44]);
  bilinear: for crops, the bilinear pre-warp alone (`augment.bilinear_warp_codes`): what
            the augmenter starts from before training;
and the share of code cells where `a(c(X), θ)` equals `c(A_θ(X))`. `evaluate` writes
`augmentation.json`, `augmentation.md` and a PNG grid per kind to `out_dir`.
"""
import os

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from cvision import atomic_files, metrics, progress
from cvision.data import eval_clips, tours
from cvision.models import augmenter as augmenter_lib
from cvision.tasks import augment

WAYS = ('learned', 'snapped', 'identity', 'ceiling', 'nn', 'bilinear')
# Procedural tours with these seeds and up are never drawn in training (it draws seeds
# below data.num_tours).
HELD_OUT_SEED = 10_000


def theta_grid(eval_config) -> dict:
  """`{kind: [n, THETA_SIZE]}`: crops of each side at three places along the diagonal,
  the flip, and each listed brightness, saturation and rotation."""
  e = eval_config
  crops = [augmenter_lib.theta(crop=(c, c, c + side, c + side)) for side in e.crop_sides
           for c in np.linspace(0.0, 1.0 - side, 3)]
  return dict(
      crop=np.stack(crops), flip=augmenter_lib.theta(flip=True)[None],
      brightness=np.stack([augmenter_lib.theta(brightness=b) for b in e.brightness]),
      saturation=np.stack([augmenter_lib.theta(saturation=s) for s in e.saturation]),
      rotation=np.stack([augmenter_lib.theta(rotation=np.radians(r))
                         for r in e.rotation_degrees]))


def held_out_clips(eval_config, size: int) -> list[tuple[str, str, np.ndarray]]:
  """`(source, name, uint8 [frames, size, size, 3])`: the eval videos and held-out tours."""
  clips = []
  for path in eval_clips.resolve(eval_config.videos):
    clip = eval_clips.load(path, size, eval_config.frames)
    if len(clip) == eval_config.frames:
      clips.append(('videos', os.path.basename(path), clip))
  for i in range(eval_config.held_out_tours):
    tour = tours.Tour(seed=HELD_OUT_SEED + i, size=size)
    clips.append(('tours', f'tour_{HELD_OUT_SEED + i}',
                  tour.frames(int(10 * tour.fps), eval_config.frames)))
  return clips


_scores = jax.jit(lambda x, y: (jax.vmap(metrics.ssim)(x, y), jax.vmap(metrics.psnr)(x, y)))
_pixels = jax.jit(augment.augment_pixels)
_bilinear = jax.jit(augment.bilinear_warp_codes)


def _views(codec, augmenter, clip: np.ndarray, thetas: np.ndarray, kind: str) -> dict:
  """Every way's video `[n, T, H, W, 3]` in [0, 1] for one clip under `thetas`, plus the
  codes of the learned and re-encoded views."""
  n = len(thetas)
  video = np.repeat(clip[None] / 255.0, n, 0).astype(np.float32)
  target = np.asarray(_pixels(video, thetas))
  codes = np.repeat(codec.encode(clip[None]), n, 0)
  learned_codes, learned_vectors = augmenter.codes_and_embeddings(codes, thetas)
  target_codes = codec.encode(target * 255.0)
  out = dict(target=target, learned=codec.decode(learned_codes), identity=codec.decode(codes),
             ceiling=codec.decode(target_codes), learned_codes=learned_codes,
             target_codes=target_codes)
  if augmenter.model.output == 'embeddings':
    out['snapped'] = out['learned']
    out['learned'] = codec.decode_embeddings(learned_vectors)
  if kind == 'crop':
    out['nn'] = codec.decode(np.stack([augment.nn_crop_codes(c, t[augment.SLOTS['crop']])
                                       for c, t in zip(codes, thetas)]))
    out['bilinear'] = codec.decode(_bilinear(jnp.asarray(codes), jnp.asarray(thetas),
                                             augmenter.codebooks))
  return out


def evaluate(eval_config, codec, augmenter, out_dir: str) -> dict:
  """Scores of every way per kind, averaged over clips and θ (and per source)."""
  os.makedirs(out_dir, exist_ok=True)
  clips = held_out_clips(eval_config, codec.size)
  grid = theta_grid(eval_config)
  for thetas in grid.values():
    augmenter.ranges.check(thetas)
  rows, examples = {}, {}
  for kind, thetas in progress.bar(list(grid.items()), 'evaluate augmenter', 'kind'):
    scores = []
    for source, _, clip in clips:
      views = _views(codec, augmenter, clip, thetas, kind)
      entry = dict(source=source, code_agreement=(
          views['learned_codes'] == views['target_codes']).mean(axis=(1, 2, 3, 4)))
      for way in WAYS:
        if way in views:
          ssim, psnr = _scores(jnp.asarray(views[way]), jnp.asarray(views['target']))
          entry[f'{way}_ssim'], entry[f'{way}_psnr'] = np.asarray(ssim), np.asarray(psnr)
      scores.append(entry)
      examples.setdefault(kind, []).append((clip, views))
    rows[kind] = _summarise(scores)
  results = dict(codec=codec.fingerprint, size=codec.size, frames=eval_config.frames,
                 clips=[f'{source}/{name}' for source, name, _ in clips],
                 theta={k: v.tolist() for k, v in grid.items()}, kinds=rows,
                 identity_psnr_gap_db=_identity_gap(codec, augmenter, clips))
  atomic_files.write_json(os.path.join(out_dir, 'augmentation.json'), results)
  atomic_files.write_text(os.path.join(out_dir, 'augmentation.md'),
                          markdown_table(results) + '\n')
  for kind, pairs in examples.items():
    plot_grid(kind, pairs, os.path.join(out_dir, f'{kind}.png'))
  return results


def _summarise(scores: list[dict]) -> dict:
  keys = [k for k in scores[0] if k != 'source']
  mean = lambda entries, key: float(np.mean(np.concatenate([e[key] for e in entries])))
  row = {k: mean(scores, k) for k in keys}
  row['by_source'] = {s: {k: mean([e for e in scores if e['source'] == s], k) for k in keys}
                      for s in sorted({e['source'] for e in scores})}
  return row


def _identity_gap(codec, augmenter, clips) -> float:
  """Mean PSNR of decoder(a(c(X), identity)) minus that of decoder(c(X)), both against X:
  what the augmenter costs a view it should leave alone."""
  gaps = []
  for _, _, clip in clips:
    video = jnp.asarray(clip[None] / 255.0, jnp.float32)
    codes = codec.encode(clip[None])
    same = codec.decode(augmenter.augment(codes, augmenter_lib.IDENTITY[None]))
    gaps.append(float(metrics.psnr(same, video) - metrics.psnr(codec.decode(codes), video)))
  return float(np.mean(gaps))


def markdown_table(results: dict) -> str:
  lines = ['| kind | learned SSIM | snapped SSIM | identity SSIM | ceiling SSIM | NN-crop SSIM '
           '| bilinear pre-warp SSIM | learned / ceiling | learned PSNR | identity PSNR | '
           'ceiling PSNR | NN-crop PSNR | code agreement |', '|---|' + '---|' * 12]
  fmt = lambda row, key, spec: format(row[key], spec) if key in row else '-'
  for kind, row in results['kinds'].items():
    lines.append(
        f"| {kind} | {row['learned_ssim']:.3f} | {fmt(row, 'snapped_ssim', '.3f')} | "
        f"{row['identity_ssim']:.3f} | "
        f"{row['ceiling_ssim']:.3f} | {fmt(row, 'nn_ssim', '.3f')} | "
        f"{fmt(row, 'bilinear_ssim', '.3f')} | "
        f"{row['learned_ssim'] / row['ceiling_ssim']:.2f} | {row['learned_psnr']:.2f} | "
        f"{row['identity_psnr']:.2f} | {row['ceiling_psnr']:.2f} | "
        f"{fmt(row, 'nn_psnr', '.2f')} | {row['code_agreement']:.3f} |")
  lines.append(f"\nIdentity θ: decoded PSNR {results['identity_psnr_gap_db']:+.2f} dB against "
               f"decoder(c(X)); {len(results['clips'])} held-out clips of "
               f"{results['frames']} frames at {results['size']}px.")
  return '\n'.join(lines)


def plot_grid(kind: str, pairs, path: str, columns: int = 6):
  """Middle frames; rows original, pixel-augmented, re-encoded ceiling, learned (then its
  snapped codes for an 'embeddings' augmenter, the NN crop and the bilinear pre-warp for
  crops); columns spread over clips and θ."""
  names = [('original', None), ('A(X)', 'target'), ('decoder(c(A(X)))', 'ceiling'),
           ('decoder(a(c(X)))', 'learned')]
  if 'snapped' in pairs[0][1]:
    names.append(('a(c(X)) snapped', 'snapped'))
  if kind == 'crop':
    names += [('NN crop of c(X)', 'nn'), ('bilinear pre-warp', 'bilinear')]
  picks = [(clip, views, j) for clip, views in pairs for j in range(len(views['target']))]
  picks = [picks[i] for i in np.linspace(0, len(picks) - 1, min(columns, len(picks))).astype(int)]
  fig = Figure(figsize=(1.6 * len(picks), 1.6 * len(names)))
  axes = np.asarray(fig.subplots(len(names), len(picks), squeeze=False))
  for c, (clip, views, j) in enumerate(picks):
    middle = len(clip) // 2
    for r, (label, key) in enumerate(names):
      image = clip[middle] / 255.0 if key is None else views[key][j, middle]
      axes[r, c].imshow(np.clip(image, 0, 1))
      axes[r, c].set_xticks([])
      axes[r, c].set_yticks([])
      if c == 0:
        axes[r, c].set_ylabel(label, fontsize=7)
  fig.suptitle(f'learned {kind}')
  fig.tight_layout()
  atomic_files.save_figure(fig, path)
