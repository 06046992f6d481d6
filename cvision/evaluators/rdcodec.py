"""Real bitstreams of the RD codec on held-out clips, beside x264 and x265.

For every clip the codec writes a `.cvz` file in memory and reads it back: the rate is
that file's bytes (header included), the prior's estimate is beside it, and the round
trip is checked exactly (the decoded latents equal the encoder's, the decoded frames
equal the decoder run on them). Procedural videos of odd sizes and lengths are round-
tripped too. The classic codecs are swept over CRF on the same frames (RDAE Fig. 6).

`evaluate` writes `<out_dir>/rdcodec_eval.json` and `rd_table.md`.
"""
import os

import numpy as np
from absl import logging

from cvision import atomic_files, metrics, progress
from cvision.coding import container, video as video_coding
from cvision.data import eval_clips, tours
from cvision.evaluators import classic_codecs
from cvision.evaluators.rate_distortion import classic_names

PROCEDURAL_SEED = 90_000  # tours from here on are never drawn for training


def load_clips(eval_config) -> dict[str, np.ndarray]:
  """The held-out clips at `eval.size`, first `eval.frames` frames, by file name."""
  return {os.path.basename(p): eval_clips.load(p, eval_config.size, eval_config.frames)
          for p in eval_clips.resolve(eval_config.videos)}


def roundtrip(codec, clip: np.ndarray, fps: float = 25.0) -> dict:
  """Codes `clip` (uint8 `[N, H, W, 3]`) to bytes and back; the point and its checks."""
  data, stats = video_coding.compress(codec, clip, fps, verify=False)
  chunks = video_coding.pad_frames(clip, codec.chunk_frames)
  expected = codec.encode(chunks)
  decoded_latents, decoded = [], []
  for latents, frames in video_coding.decompress_latents(codec, data):
    decoded_latents.append(latents)
    decoded.append(frames)
  decoded_latents, decoded = np.concatenate(decoded_latents), np.concatenate(decoded)
  n, h, w = clip.shape[:3]
  direct = codec.decode(expected).reshape(-1, *chunks.shape[2:])[:n, :h, :w]
  header = container.HEADER_BYTES + 8 * stats.chunks + 4
  point = metrics.reconstruction_metrics(clip / 255.0, decoded / 255.0)
  point.update(bytes=len(data), header_bytes=header, bpp=stats.bpp(h, w),
               payload_bits=8 * (len(data) - header), estimated_bits=stats.estimated_bits,
               bpp_estimated=stats.estimated_bpp(h, w),
               latents_equal=bool(np.array_equal(decoded_latents, expected)),
               frames_equal=bool(np.array_equal(decoded, direct)))
  return point


def procedural_clips(count: int, chunk_frames: int):
  """`count` tours of random sizes (not multiples of 8) and lengths (not whole chunks)."""
  rng = np.random.default_rng(PROCEDURAL_SEED)
  for i in range(count):
    size = int(rng.integers(40, 100))
    frames = int(rng.integers(1, 3 * chunk_frames))
    tour = tours.Tour(seed=PROCEDURAL_SEED + i, size=size)
    start = int(rng.integers(0, 100))
    clip = tour.frames(start, frames)
    width = size - int(rng.integers(0, 9))
    yield f'tour{PROCEDURAL_SEED + i}_{width}x{size}x{frames}', clip[:, :, :width]


def evaluate(eval_config, codec, out_dir: str, classic: bool = True) -> dict:
  """The codec on `eval.videos` (and procedural round trips); classic codecs beside it
  unless `classic` is False (a sweep sweeps them once for all its codecs)."""
  os.makedirs(out_dir, exist_ok=True)
  clips = load_clips(eval_config)
  results = dict(codec=dict(step=codec.step, fingerprint=codec.fingerprint), clips={},
                 procedural={})
  with progress.bar(len(clips) + eval_config.procedural_clips, 'rdcodec eval',
                    'clip') as bar:
    for name, clip in clips.items():
      results['clips'][name] = roundtrip(codec, clip)
      logging.info('%s: %s', name, results['clips'][name])
      bar.update()
    for name, clip in procedural_clips(eval_config.procedural_clips, codec.chunk_frames):
      results['procedural'][name] = roundtrip(codec, clip)
      bar.update()
  points = list(results['clips'].values()) + list(results['procedural'].values())
  results['roundtrip'] = dict(checked=len(points),
                              exact=sum(p['latents_equal'] and p['frames_equal']
                                        for p in points))
  results['mean'] = mean_point(results['clips'].values())
  if classic:
    results['classic'] = sweep_classic(eval_config, clips)
  atomic_files.write_json(os.path.join(out_dir, 'rdcodec_eval.json'), results)
  table = markdown_table(results)
  atomic_files.write_text(os.path.join(out_dir, 'rd_table.md'), table + '\n')
  print(table)
  return results


def mean_point(points) -> dict:
  points = list(points)
  keys = ('bpp', 'bpp_estimated', 'ms_ssim', 'psnr', 'ssim')
  mean = {k: float(np.mean([p[k] for p in points])) for k in keys}
  # The file's excess over the estimate, beyond its header: acceptance wants < 1 %.
  mean['payload_over_estimate'] = float(np.max([p['payload_bits'] / p['estimated_bits'] - 1
                                                for p in points]))
  return mean


def sweep_classic(eval_config, clips: dict) -> dict:
  """`{codec name: [{crf, bpp, ms_ssim, psnr}]}` averaged over the clips, per CRF."""
  why_not = classic_codecs.ffmpeg_missing()
  if why_not:
    logging.warning('%s', why_not)
    return {}
  curves = {}
  for name in progress.bar(classic_names(eval_config), 'x264/x265 sweeps', 'codec'):
    per_clip = [sorted(classic_codecs.sweep(clip, name), key=lambda p: p['setting'])
                for clip in clips.values()]
    curves[name] = [dict(crf=points[0]['setting'],
                         **{k: float(np.mean([p[k] for p in points]))
                            for k in ('bpp', 'ms_ssim', 'psnr', 'ssim')})
                    for points in zip(*per_clip)]
  return curves


def markdown_table(results: dict) -> str:
  lines = ['| clip | bytes | bpp (file) | bpp (prior) | MS-SSIM | PSNR (dB) | exact |',
           '|---|---|---|---|---|---|---|']
  for name, p in results['clips'].items():
    lines.append(f"| {name} | {p['bytes']} | {p['bpp']:.4f} | {p['bpp_estimated']:.4f} | "
                 f"{p['ms_ssim']:.4f} | {p['psnr']:.2f} | "
                 f"{'yes' if p['latents_equal'] and p['frames_equal'] else 'NO'} |")
  r = results['roundtrip']
  lines.append(f"\nround trips exact: {r['exact']} of {r['checked']} (clips and procedural "
               f"videos)")
  return '\n'.join(lines)
