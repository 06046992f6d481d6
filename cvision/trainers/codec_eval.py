"""The `codec_eval` stage: a trained codec against JPEG, H.264 and H.265 on real videos.

Loads the codec from `eval.codec_workdir` (default: this workdir) without retraining,
and writes to `<workdir>/eval/`: `rd_points.json` (every point), `rd_table.md` and
`rd_curve.png` (PSNR and SSIM vs compression rate, log axis).
"""
import os

import numpy as np
from absl import logging

from cvision import atomic_files, metrics, trained_codec
from cvision.data import eval_clips
from cvision.evaluators import classic_codecs, report

KEYS = ('psnr', 'ssim', 'ms_ssim', 'mae', 'bpp')


def codec_point(codec: trained_codec.TrainedCodec, clip: np.ndarray) -> dict:
  """Codec metrics on one uint8 clip `[T, H, W, 3]` (T a multiple of the time factor)."""
  codes = codec.encode(clip[None])
  recon = codec.decode(codes)[0]
  point = metrics.reconstruction_metrics(clip / 255.0, recon)
  nominal_bytes = metrics.code_bytes(codes.size, codec.model.codebook_size)
  point.update(cr=clip.size / nominal_bytes, bytes=nominal_bytes,
               bpp=metrics.bits_per_pixel(nominal_bytes, *clip.shape[:3]))
  return point


def evaluate(config, workdir: str, codec: trained_codec.TrainedCodec) -> dict:
  out_dir = os.path.join(workdir, 'eval')
  os.makedirs(out_dir, exist_ok=True)
  paths = eval_clips.resolve(config.eval.videos)
  wanted = classic_names(config)
  why_not = classic_codecs.ffmpeg_missing()
  if why_not:
    logging.warning('%s', why_not)
    wanted = tuple(c for c in wanted if c == 'jpeg')
  results = dict(codec=dict(workdir=workdir, step=codec.step, fingerprint=codec.fingerprint,
                            size=codec.size), clips={})
  for i, path in enumerate(paths):
    clip = eval_clips.load(path, codec.size, config.eval.frames)
    clip = clip[:len(clip) // codec.model.time_factor * codec.model.time_factor]
    entry = dict(frames=len(clip), neural=codec_point(codec, clip), classic={})
    for name in wanted:
      entry['classic'][name] = classic_codecs.sweep(clip, name)
    results['clips'][os.path.basename(path)] = entry
    logging.info('evaluated %s (%d/%d): codec PSNR %.2f at CR %.0f', path, i + 1,
                 len(paths), entry['neural']['psnr'], entry['neural']['cr'])
  results['summary'] = summarize(results['clips'], wanted)
  atomic_files.write_json(os.path.join(out_dir, 'rd_points.json'), results)
  table = report.markdown_table(results['summary'])
  atomic_files.write_text(os.path.join(out_dir, 'rd_table.md'), table + '\n')
  report.plot_rd(results, os.path.join(out_dir, 'rd_curve.png'))
  print(table)
  return results


def classic_names(config) -> tuple[str, ...]:
  """`eval.classic_codecs`, each name checked (a typo is an error before any work)."""
  names = tuple(config.eval.get('classic_codecs', ('jpeg', 'h264', 'h265')))
  for name in names:
    classic_codecs.parse_name(name)
  return names


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


def run(config, workdir: str, mesh):
  del mesh
  codec = trained_codec.load(config.eval.get('codec_workdir') or workdir)
  evaluate(config, workdir, codec)
