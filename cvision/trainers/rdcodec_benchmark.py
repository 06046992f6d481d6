"""The `rdcodec_benchmark` stage: compress / decompress speed of the RD codec beside
x264 / x265 on the same clips, in one run, and where the RD codec's time goes (the
autoencoder, the prior network, the integer tables + range coder).

Writes `<workdir>/benchmark.json` and prints the table.
"""
import os
import time

import numpy as np

from cvision import atomic_files
from cvision.coding import video as video_coding
from cvision.data import eval_clips
from cvision.evaluators import classic_codecs


def _timed(fn):
  start = time.perf_counter()
  out = fn()
  return out, time.perf_counter() - start


def time_rdcodec(codec, clip: np.ndarray, repeats: int) -> dict:
  """Best-of-`repeats` seconds of compress (without and with its self-check) and
  decompress, and the split of one decompress between the networks and the coder."""
  def compress(verify):
    return video_coding.compress(codec, clip, 25.0, verify=verify)[0]
  compress(False)  # compiles everything once
  best = {}
  for _ in range(repeats):
    data, seconds = _timed(lambda: compress(False))
    best['compress'] = min(best.get('compress', np.inf), seconds)
    _, seconds = _timed(lambda: compress(True))
    best['compress_verified'] = min(best.get('compress_verified', np.inf), seconds)
    codec.coder.seconds.clear()
    _, seconds = _timed(lambda: list(video_coding.decompress(codec, data)))
    if seconds < best.get('decompress', np.inf):
      best['decompress'] = seconds
      best['decompress_prior'] = codec.coder.seconds['prior']
      best['decompress_coder'] = codec.coder.seconds['coder']
  best['decompress_other'] = (best['decompress'] - best['decompress_prior']
                              - best['decompress_coder'])
  return best


def run(config, workdir: str, mesh, load_codec, load_rdcodec):
  del mesh, load_codec
  b = config.benchmark
  codec = load_rdcodec()
  clips = [eval_clips.load(p, b.size, b.frames) for p in eval_clips.resolve(b.videos)]
  frames = sum(len(c) for c in clips)
  totals = {}
  for clip in clips:
    for key, seconds in time_rdcodec(codec, clip, b.repeats).items():
      totals[key] = totals.get(key, 0.0) + seconds
  result = dict(codec=dict(step=codec.step, fingerprint=codec.fingerprint), frames=frames,
                size=b.size, seconds=totals,
                compress_fps=frames / totals['compress'],
                compress_verified_fps=frames / totals['compress_verified'],
                decompress_fps=frames / totals['decompress'],
                decompress_split={k: totals[f'decompress_{k}'] / totals['decompress']
                                  for k in ('prior', 'coder', 'other')})
  if classic_codecs.ffmpeg_missing() is None:
    for name in ('h264', 'h265'):
      encode = decode = 0.0
      for clip in clips:
        runs = [classic_codecs.ffmpeg_roundtrip(clip, name, b.crf)[2:] for _ in range(b.repeats)]
        encode += min(r[0] for r in runs)
        decode += min(r[1] for r in runs)
      label = 'x264' if name == 'h264' else 'x265'
      result[f'{label}_encode_fps'] = frames / encode
      result[f'{label}_decode_fps'] = frames / decode
  atomic_files.write_json(os.path.join(workdir, 'benchmark.json'), result)
  print(table(result))


def table(r: dict) -> str:
  lines = ['| codec | encode (frames/s) | decode (frames/s) |', '|---|---|---|',
           f"| RD codec (compress, no self-check) | {r['compress_fps']:.1f} | "
           f"{r['decompress_fps']:.2f} |",
           f"| RD codec (compress with its self-check) | {r['compress_verified_fps']:.1f} | - |"]
  for label in ('x264', 'x265'):
    if f'{label}_encode_fps' in r:
      lines.append(f"| {label} (ffmpeg process, CRF 28) | {r[f'{label}_encode_fps']:.1f} | "
                   f"{r[f'{label}_decode_fps']:.1f} |")
  split = r['decompress_split']
  lines.append(f"\ndecompress time: prior network {split['prior']:.0%}, tables + range coder "
               f"{split['coder']:.0%}, autoencoder and the rest {split['other']:.0%} "
               f"({r['frames']} frames at {r['size']}x{r['size']})")
  return '\n'.join(lines)
