"""The `rdcodec_sweep` stage: RD codecs over β and the ablation of RDAE Fig. 5, coded
into real bitstreams on held-out clips, beside x264 / x265 swept over CRF.

Each variant of `sweep.config` (`beta=<b>` for each of `sweep.betas`, then each of
`sweep.ablation`) trains in `<workdir>/<variant>` (resumed or skipped when done) and is
evaluated once. Writes `<workdir>/rdcodec.json` (every point, BD-rates, round trips),
`rd_table.md` and `rd_curves.png` (bpp against MS-SSIM and PSNR).
"""
import os
import re
import subprocess
import sys

import numpy as np

from cvision import atomic_files, configs, trained_rdcodec
from cvision.evaluators import bd_rate, rdcodec as rdcodec_eval

CLASSIC_LABELS = {'h264': 'x264', 'h265': 'x265', 'h264_gop4': 'x264-gop4',
                  'h264_gop1': 'x264-intra', 'h265_gop4': 'x265-gop4'}


def codec_name(config) -> str:
  """'rdae3d-last', 'rdae2d-gru-mse', ...: what a point's curve is called."""
  name = f"rdae{'3d' if config.model.temporal else '2d'}-{config.prior.context}"
  return name + ('-mse' if config.loss.distortion == 'mse' else '')


def variants(sweep) -> list[str]:
  return [f'beta={b}' for b in sweep.betas] + list(sweep.ablation)


def slug(variant: str) -> str:
  return re.sub(r'[^A-Za-z0-9_.-]+', '_', variant)


def run(config, workdir: str, mesh, load_codec, train_rdcodec):
  """train_rdcodec: `(config, workdir) -> TrainedRDCodec`, trained or resumed there."""
  del mesh, load_codec
  rdcodec_eval.classic_names(config.eval)
  planned = [(v, configs.load(f'{config.sweep.config}:{v}')) for v in variants(config.sweep)]
  for _, c in planned:  # every config checked before the first one trains
    trained_rdcodec.check_config(c)
  points = []
  for variant, c in planned:
    sub = os.path.join(workdir, slug(variant))
    codec = train_rdcodec(c, sub)
    path = os.path.join(sub, 'eval', 'rdcodec_eval.json')
    result = atomic_files.read_json(path)
    if result is None or result['codec']['fingerprint'] != codec.fingerprint:
      result = rdcodec_eval.evaluate(config.eval, codec, os.path.dirname(path), classic=False)
    points.append(dict(codec=codec_name(c), variant=variant, beta=c.loss.beta,
                       ablation=variant in config.sweep.ablation,
                       bpp_actual=result['mean']['bpp'],
                       bpp_estimated=result['mean']['bpp_estimated'],
                       ms_ssim=result['mean']['ms_ssim'], psnr=result['mean']['psnr'],
                       payload_over_estimate=result['mean']['payload_over_estimate'],
                       roundtrip=result['roundtrip']))
  classic = _classic_curves(config, workdir)
  summary = summarize(points, classic, len(config.sweep.betas))
  summary['command'] = ' '.join(['python -m cvision.main'] + sys.argv[1:])
  summary['commit'] = _commit()
  atomic_files.write_json(os.path.join(workdir, 'rdcodec.json'), summary)
  table = markdown(summary)
  atomic_files.write_text(os.path.join(workdir, 'rd_table.md'), table + '\n')
  plot(summary, os.path.join(workdir, 'rd_curves.png'))
  print(table)


def _classic_curves(config, workdir: str) -> dict:
  """x264 / x265 swept over CRF on the evaluation clips, made once per sweep workdir."""
  path = os.path.join(workdir, 'classic.json')
  key = config.eval.to_dict()
  cached = atomic_files.read_json(path)
  if cached is not None and cached['eval'] == {k: (list(v) if isinstance(v, tuple) else v)
                                               for k, v in key.items()}:
    return cached['curves']
  curves = rdcodec_eval.sweep_classic(config.eval, rdcodec_eval.load_clips(config.eval))
  atomic_files.write_json(path, dict(eval=key, curves=curves))
  return curves


def summarize(points: list[dict], classic: dict, betas: int) -> dict:
  """The results file: every point, BD-rates of the β curve, the restricted-GOP check."""
  rows = list(points)
  for name, curve in classic.items():
    label = CLASSIC_LABELS.get(name, name)
    rows += [dict(codec=label, crf=p['crf'], bpp_actual=p['bpp'], ms_ssim=p['ms_ssim'],
                  psnr=p['psnr']) for p in curve]
  curve = sorted(points[:betas], key=lambda p: p['bpp_actual'])
  summary = dict(points=rows, best=curve[0]['codec'] if curve else None)
  if len(curve) >= 2:
    summary['bd_rate'] = {}
    summary['bd_rate_psnr'] = {}
    for name, anchor in classic.items():
      key = 'vs_' + CLASSIC_LABELS.get(name, name).replace('-', '_')
      summary['bd_rate'][key] = bd_rate.bd_rate(
          [p['bpp'] for p in anchor], bd_rate.ms_ssim_db([p['ms_ssim'] for p in anchor]),
          [p['bpp_actual'] for p in curve], bd_rate.ms_ssim_db([p['ms_ssim'] for p in curve]))
      summary['bd_rate_psnr'][key] = bd_rate.bd_rate(
          [p['bpp'] for p in anchor], [p['psnr'] for p in anchor],
          [p['bpp_actual'] for p in curve], [p['psnr'] for p in curve])
    summary['beats_at_equal_bpp'] = {
        CLASSIC_LABELS.get(name, name): [p['beta'] for p in curve
                                         if p['ms_ssim'] >= _at_rate(anchor, p['bpp_actual'])]
        for name, anchor in classic.items()}
  summary['ablation'] = ablation(points, curve)
  summary['roundtrip_exact'] = dict(
      checked=sum(p['roundtrip']['checked'] for p in points),
      equal=sum(p['roundtrip']['exact'] for p in points))
  summary['payload_over_estimate_max'] = max((p['payload_over_estimate'] for p in points),
                                             default=None)
  return summary


def ablation(points: list[dict], curve: list[dict]) -> list[dict]:
  """RDAE Fig. 5 at one β: each AE x prior's file bpp, MS-SSIM, and the objective all of
  them were trained on, `(1 - MS-SSIM) + β · bpp` on the held-out clips (one point per
  variant, so no curve to read a matched-quality rate from; lower is better)."""
  tried = [p for p in points if p['ablation']]
  if not tried:
    return []
  reference = [p for p in curve if p['beta'] == tried[0]['beta']]
  return [dict(codec=p['codec'], beta=p['beta'], bpp_actual=p['bpp_actual'],
               ms_ssim=p['ms_ssim'], psnr=p['psnr'],
               rd_objective=(1.0 - p['ms_ssim']) + p['beta'] * p['bpp_actual'])
          for p in reference[:1] + tried]


def _at_rate(curve: list[dict], bpp: float) -> float:
  """A classic codec's MS-SSIM at `bpp` (log-bpp interpolation; +inf outside its range,
  so a point beyond the curve never counts as beating it)."""
  rates = np.log([p['bpp'] for p in curve])
  order = np.argsort(rates)
  if not rates[order[0]] <= np.log(bpp) <= rates[order[-1]]:
    return float('inf')
  quality = np.asarray([p['ms_ssim'] for p in curve])
  return float(np.interp(np.log(bpp), rates[order], quality[order]))


def _commit() -> str:
  try:
    return subprocess.run(['git', 'rev-parse', 'HEAD'], capture_output=True, text=True,
                          check=True).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return 'unknown'


def markdown(summary: dict) -> str:
  lines = ['| codec | β / CRF | bpp (file) | bpp (prior) | MS-SSIM | PSNR (dB) |',
           '|---|---|---|---|---|---|']
  for p in summary['points']:
    setting = p.get('beta', p.get('crf'))
    estimated = f"{p['bpp_estimated']:.4f}" if 'bpp_estimated' in p else '-'
    lines.append(f"| {p['codec']} | {setting} | {p['bpp_actual']:.4f} | {estimated} | "
                 f"{p['ms_ssim']:.4f} | {p['psnr']:.2f} |")
  for key in ('bd_rate', 'bd_rate_psnr'):
    if key in summary:
      rates = ', '.join(f'{k}: {"n/a (no shared range)" if v is None else f"{v:+.1f}%"}'
                        for k, v in summary[key].items())
      metric = 'MS-SSIM dB' if key == 'bd_rate' else 'PSNR'
      lines.append(f"\nBD-rate ({metric}) of {summary['best']}: {rates}")
  if summary.get('ablation'):
    lines += ['', '| ablation (one β) | bpp (file) | MS-SSIM | PSNR (dB) | '
              '(1 - MS-SSIM) + β bpp |', '|---|---|---|---|---|']
    for p in summary['ablation']:
      lines.append(f"| {p['codec']} (β {p['beta']}) | {p['bpp_actual']:.4f} | "
                   f"{p['ms_ssim']:.4f} | {p['psnr']:.2f} | {p['rd_objective']:.4f} |")
  r = summary['roundtrip_exact']
  lines.append(f"\nround trips exact: {r['equal']} of {r['checked']}")
  return '\n'.join(lines)


def plot(summary: dict, path: str):
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  fig = Figure(figsize=(11, 4))
  axes = fig.subplots(1, 2)
  by_codec = {}
  for p in summary['points']:
    by_codec.setdefault((p['codec'], p.get('ablation', False)), []).append(p)
  for ax, key, label in ((axes[0], 'ms_ssim', 'MS-SSIM'), (axes[1], 'psnr', 'PSNR (dB)')):
    for (name, ablation), pts in by_codec.items():
      pts = sorted(pts, key=lambda p: p['bpp_actual'])
      style = dict(marker='o', linestyle='none') if ablation else dict(marker='.')
      ax.plot([p['bpp_actual'] for p in pts], [p[key] for p in pts],
              label=name + (' (ablation)' if ablation else ''), **style)
    ax.set_xscale('log')
    ax.set_xlabel('bits per pixel (file bytes)')
    ax.set_ylabel(label)
    ax.grid(True, which='both', alpha=0.3)
  axes[0].legend(fontsize=7)
  fig.tight_layout()
  atomic_files.save_figure(fig, path)
