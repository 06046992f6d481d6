"""Tables and plots of rate-distortion results."""
import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np


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
  fig, axes = plt.subplots(1, 2, figsize=(11, 4))
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
  fig.savefig(path, dpi=100)
  plt.close(fig)
