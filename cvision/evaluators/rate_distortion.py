"""A trained codec against JPEG, H.264 and H.265 on real clips: points, table, plot.

`evaluate` writes to `<out_dir>`: `rd_points.json` (every point), `rd_table.md` and
`rd_curve.png` (PSNR and SSIM vs compression rate, log axis).
"""
import os

import numpy as np
from absl import logging
from matplotlib.figure import Figure

from cvision import atomic_files, metrics, progress
from cvision.data import eval_clips
from cvision.evaluators import classic_codecs
from cvision.train_lib import multihost

KEYS = ('psnr', 'ssim', 'ms_ssim', 'mae', 'bpp')


def codec_point(codec, clip: np.ndarray) -> dict:
  """Codec metrics on one uint8 clip `[T, H, W, 3]` (T a multiple of the time factor)."""
  codes = codec.encode(clip[None])
  recon = codec.decode(codes)[0]
  point = metrics.reconstruction_metrics(clip / 255.0, recon)
  nominal_bytes = metrics.code_bytes(codes.size, codec.model.codebook_size)
  point.update(cr=clip.size / nominal_bytes, bytes=nominal_bytes,
               bpp=metrics.bits_per_pixel(nominal_bytes, *clip.shape[:3]))
  return point


def classic_names(eval_config) -> tuple[str, ...]:
  """`eval.classic_codecs`, each name checked (a typo is an error before any work)."""
  names = tuple(eval_config.classic_codecs)
  for name in names:
    classic_codecs.parse_name(name)
  return names


def evaluate(eval_config, codec, codec_workdir: str, out_dir: str) -> dict:
  """The codec and the classic codecs on `eval.videos` (first `eval.frames` frames)."""
  os.makedirs(out_dir, exist_ok=True)
  paths = eval_clips.resolve(eval_config.videos)
  wanted = classic_names(eval_config)
  why_not = classic_codecs.ffmpeg_missing()
  if why_not:
    logging.warning('%s', why_not)
    wanted = tuple(c for c in wanted if c == 'jpeg')
  results = dict(codec=dict(workdir=codec_workdir, step=codec.step,
                            fingerprint=codec.fingerprint, size=codec.size), clips={})
  with progress.bar(len(paths), 'rate-distortion', 'clip') as bar:
    for path in paths:
      clip = eval_clips.load(path, codec.size, eval_config.frames)
      clip = clip[:len(clip) // codec.model.time_factor * codec.model.time_factor]
      entry = dict(frames=len(clip), neural=codec_point(codec, clip), classic={})
      for name in wanted:
        entry['classic'][name] = classic_codecs.sweep(clip, name)
      results['clips'][os.path.basename(path)] = entry
      logging.info('evaluated %s: codec PSNR %.2f at CR %.0f', path,
                   entry['neural']['psnr'], entry['neural']['cr'])
      bar.update()
  results['summary'] = summarize(results['clips'], wanted)
  table = markdown_table(results['summary'])
  if multihost.is_primary():  # every host evaluates (the codec is collective); one writes
    atomic_files.write_json(os.path.join(out_dir, 'rd_points.json'), results)
    atomic_files.write_text(os.path.join(out_dir, 'rd_table.md'), table + '\n')
    plot_rd(results, os.path.join(out_dir, 'rd_curve.png'))
  print(table)
  return results


def summarize(clips: dict, codecs) -> dict:
  """Means over clips: the codec, each classic codec at the codec's CR, JPEG's best CR."""
  neural = [c['neural'] for c in clips.values()]
  summary = {'neural': _mean(neural)}
  for name in codecs:
    at_cr = [classic_codecs.at_rate(c['classic'][name], c['neural']['cr'])
             for c in clips.values()]
    if all(p is not None for p in at_cr):
      summary[f'{name}@codec_cr'] = _mean(at_cr)
    else:
      # Not reachable (JPEG cannot compress that much): report its highest CR instead.
      summary[f'{name}@max_cr'] = _mean([c['classic'][name][-1] for c in clips.values()])
  return summary


def _mean(points: list[dict]) -> dict:
  keys = [k for k in KEYS + ('cr',) if k in points[0]]
  return {k: float(np.mean([p[k] for p in points])) for k in keys}


def markdown_table(summary: dict) -> str:
  """One row per codec (means over clips), with the PSNR gap to the neural codec."""
  neural = summary['neural']
  lines = ['| codec | CR | bpp | PSNR (dB) | SSIM | MS-SSIM | MAE | PSNR vs neural (dB) |',
           '|---|---|---|---|---|---|---|---|']
  for name, row in summary.items():
    gap = row['psnr'] - neural['psnr']
    lines.append(f"| {name} | {row['cr']:.0f} | {row['bpp']:.4f} | {row['psnr']:.2f} | "
                 f"{row['ssim']:.4f} | {row['ms_ssim']:.4f} | {row['mae']:.4f} | "
                 f"{gap:+.2f} |")
  return '\n'.join(lines)


def plot_rd(results: dict, path: str):
  """PSNR and SSIM against compression rate (log axis), curves averaged over clips."""
  clips = list(results['clips'].values())
  fig = Figure(figsize=(11, 4))  # no pyplot: nothing global changes (notebooks keep theirs)
  axes = fig.subplots(1, 2)
  for ax, key, label in ((axes[0], 'psnr', 'PSNR (dB)'), (axes[1], 'ssim', 'SSIM')):
    for name in clips[0]['classic']:
      curves = [c['classic'][name] for c in clips]
      # Same settings on every clip: average point by point, sorted by setting.
      by_setting = [sorted(curve, key=lambda p: p['setting']) for curve in curves]
      cr = np.mean([[p['cr'] for p in curve] for curve in by_setting], 0)
      value = np.mean([[p[key] for p in curve] for curve in by_setting], 0)
      order = np.argsort(cr)
      ax.plot(cr[order], value[order], marker='.', label=name.upper().replace('_GOP', ', GOP '))
    neural_cr = np.mean([c['neural']['cr'] for c in clips])
    ax.plot([neural_cr], [np.mean([c['neural'][key] for c in clips])], 'r*',
            markersize=14, label='neural codec')
    ax.set_xscale('log')
    ax.set_xlabel('compression rate (raw RGB bytes / compressed bytes)')
    ax.set_ylabel(label)
    ax.grid(True, which='both', alpha=0.3)
    ax.legend()
  fig.suptitle(f"{len(clips)} clips at {results['codec']['size']}px")
  fig.tight_layout()
  atomic_files.save_figure(fig, path)
