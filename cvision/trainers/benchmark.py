"""The `benchmark` stage: codec encode/decode throughput beside x264/x265, one run.

Every number comes from the same clips in the same process, so the printed ratios hold
even on a noisy machine. ffmpeg timings include starting the ffmpeg process (as in
real use); the codec's exclude jit compilation (done once, before timing).
"""
import os

from absl import logging

from cvision import atomic_files, timing
from cvision.data import eval_clips
from cvision.evaluators import classic_codecs


def codec_throughput(config, codec, clips) -> dict:
  repeats = config.benchmark.repeats
  frames = sum(len(c) for c in clips)
  codes = [codec.encode(c[None]) for c in clips]  # also compiles
  [codec.decode(c) for c in codes]
  encode_s = sum(timing.best_of(lambda c=c: codec.encode(c[None]), repeats) for c in clips)
  decode_s = sum(timing.best_of(lambda c=c: codec.decode(c), repeats) for c in codes)
  return dict(encode_fps=frames / encode_s, decode_fps=frames / decode_s)


def ffmpeg_throughput(config, clips, name: str) -> dict:
  frames = sum(len(c) for c in clips)
  crf = config.benchmark.crf
  encode_s = decode_s = 0.0
  for clip in clips:
    best = min((classic_codecs.ffmpeg_roundtrip(clip, name, crf)[2:]
                for _ in range(config.benchmark.repeats)), key=sum)
    encode_s, decode_s = encode_s + best[0], decode_s + best[1]
  return dict(encode_fps=frames / encode_s, decode_fps=frames / decode_s)


def run(config, workdir: str, mesh, load_codec):
  del mesh
  b = config.benchmark
  print(f'benchmark: codec encode/decode frames/s beside x264/x265 on {b.videos} '
        f'(first {b.frames} frames, best of {b.repeats})')
  codec = load_codec()
  t = codec.model.time_factor
  clips = []
  for path in eval_clips.resolve(config.benchmark.videos):
    clip = eval_clips.load(path, codec.size, config.benchmark.frames)
    clips.append(clip[:len(clip) // t * t])
  results = {'neural codec': codec_throughput(config, codec, clips)}
  why_not = classic_codecs.ffmpeg_missing()
  if why_not:
    logging.warning('%s', why_not)
  else:
    for name in ('h264', 'h265'):
      results[name] = ffmpeg_throughput(config, clips, name)
  ours = results['neural codec']
  lines = [f'{len(clips)} clips, {sum(map(len, clips))} frames at {codec.size}x{codec.size}',
           '| codec | encode frames/s | decode frames/s | codec encode / this | '
           'codec decode / this |', '|---|---|---|---|---|']
  for name, r in results.items():
    lines.append(f"| {name} | {r['encode_fps']:.1f} | {r['decode_fps']:.1f} | "
                 f"{ours['encode_fps'] / r['encode_fps']:.2f}x | "
                 f"{ours['decode_fps'] / r['decode_fps']:.2f}x |")
  table = '\n'.join(lines)
  print(table)
  os.makedirs(workdir, exist_ok=True)
  atomic_files.write_json(os.path.join(workdir, 'codec_speed.json'), results)
  atomic_files.write_text(os.path.join(workdir, 'codec_speed.md'), table + '\n')
