"""`pastfuture_benchmark`: hour-long tours in bounded memory, and what they cost on disk.

One run: the train tours (default: one hour at 25 fps) are rendered once and streamed
both into the codes store and into an H.264 stream at the codec's quality (the x264 CRF
whose PSNR on the tour's first frames is closest to the codec's without falling below
it), then the slot memory trains for whole tour-epochs. It prints the size of the codes
on disk beside raw RGB and H.264, the time per tour-epoch, and the process's peak RSS
after each phase.
"""
import os
import resource
import shutil
import subprocess
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import logging

from cvision import atomic_files, codec_io, metrics
from cvision.data import codes_store, sources, tour_codes, tours as tours_lib
from cvision.evaluators import classic_codecs
from cvision.tasks import pastfuture as task
from cvision.train_lib import scaffold


def peak_rss_gb() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux


def matched_crf(codec, clip: np.ndarray) -> dict:
  """The x264 CRF whose PSNR on `clip` is the lowest that still matches the codec's."""
  t = len(clip) // codec.model.time_factor * codec.model.time_factor
  clip = clip[:t]
  decoded = codec.decode(codec.encode(clip[None]))[0]
  target = float(metrics.psnr(decoded, clip / 255.0))
  points = [dict(crf=p['setting'], psnr=p['psnr'], bytes=p['bytes'])
            for p in classic_codecs.sweep(clip, 'h264')]
  good = [p for p in points if p['psnr'] >= target]
  best = max(good, key=lambda p: p['crf']) if good else max(points, key=lambda p: p['psnr'])
  return dict(best, codec_psnr=target, matched=bool(good))


def _crf_remark(crf: dict) -> str:
  if not crf['matched']:
    return '; x264 cannot reach the codec quality'
  if crf['crf'] == max(classic_codecs.CRFS):
    return "; x264's lowest quality is still better than the codec's"
  return ''


class _X264Sink:
  """Frames written to a libx264 process as they are rendered (one pass over the tour)."""

  def __init__(self, path: str, size: int, crf: int, fps: float):
    self.path = path
    self._process = subprocess.Popen(
        classic_codecs.ffmpeg_encode_command('h264', size, size, crf, path + '.tmp', fps),
        stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    self.frames = 0

  def tee(self, frames):
    for frame in frames:
      self._process.stdin.write(np.ascontiguousarray(frame).tobytes())
      self.frames += 1
      yield frame

  def close(self) -> int:
    self._process.stdin.close()
    if self._process.wait():
      raise RuntimeError(f'ffmpeg failed: {self._process.stderr.read().decode()[-500:]}')
    os.replace(self.path + '.tmp', self.path)
    return os.path.getsize(self.path)


def _time_tour_epochs(config, lanes, codebooks, train_dir: str, mesh) -> list[float]:
  """Seconds of each of `benchmark.epochs` passes over a tour (slot memory), from a fresh
  start: the first includes compilation."""
  if os.path.exists(train_dir):
    shutil.rmtree(train_dir)
  _, init, shardings_of, update = task.setup(config, 'slot', lanes, codebooks, mesh)
  run = scaffold.TrainRun(train_dir, mesh, config.shard_rules, keep=1)
  carry, shardings = run.initial_state(init, jax.random.key(config.seed), shardings_of)
  step_fn, per_epoch, seconds = update(shardings), lanes.updates_per_tour, []
  for epoch in range(config.benchmark.epochs):
    plan = ml_collections.ConfigDict(config.train.to_dict())
    plan.update(steps=(epoch + 1) * per_epoch, log_every=per_epoch, ckpt_every=per_epoch)
    start = time.time()
    carry = run.loop(carry, step_fn, lanes.batches(run.start, plan.steps), plan,
                     name=f'tour-epoch {epoch}', examples_per_step=config.task.batch_tours)
    seconds.append(time.time() - start)
  run.close()
  return seconds


def run(config, workdir: str, mesh, load_codec):
  rss = {}
  print(f'pastfuture_benchmark: {config.data.num_train} tour(s) of '
        f'{config.data.tour_seconds / 60:g} min, {config.benchmark.epochs} tour-epochs')
  codec = load_codec()
  rss['codec ready'] = peak_rss_gb()
  seed = tour_codes.SPLIT_SEEDS['train'] + config.data.seed_offset
  tour = tours_lib.Tour(seed=seed, size=codec.size)
  crf = matched_crf(codec, tour.frames(0, config.benchmark.probe_frames))
  logging.info('x264 at the codec quality: %s', crf)

  # Render once: the frames of the first tour go to the codes store and to x264 together.
  store_path = os.path.join(workdir, 'codes')
  h264_path = os.path.join(workdir, f'tour_{seed:06d}.h264')
  start = time.time()
  tours = list(sources.tour_sources(range(seed, seed + config.data.num_train),
                                    config.data.tour_seconds, codec.size))
  sink = None
  if not os.path.exists(h264_path):
    sink = _X264Sink(h264_path, codec.size, crf['crf'], tour.fps)
    vid, frames, meta = tours[0]
    tours[0] = (vid, sink.tee(frames), meta)
  report = codec_io.encode_all(codec, store_path, tours, config.data.window)
  if sink is not None:
    if not sink.frames:  # the tour's codes were already there: render it for x264 alone
      for _ in sink.tee(tour.frame(i) for i in range(int(config.data.tour_seconds * tour.fps))):
        pass
    sink.close()
  encode_seconds = time.time() - start
  rss['tours encoded'] = peak_rss_gb()

  store = codes_store.CodesStore.open(store_path)
  chunk_len = tour_codes.chunk_code_frames(config.data.chunk_seconds, tour.fps,
                                           codec.model.time_factor)
  train = {vid: tour_codes.load_chunks(store, vid, chunk_len) for vid in report['videos']}
  rss['codes loaded'] = peak_rss_gb()
  lanes = task.Lanes(config, train)
  epoch_seconds = _time_tour_epochs(config, lanes, jnp.asarray(codec.codebooks),
                                    os.path.join(workdir, 'train'), mesh)
  rss['after training'] = peak_rss_gb()

  first = next(iter(report['videos'].values()))
  lines = [
      f"tours: {len(train)} x {config.data.tour_seconds / 60:.0f} min at {tour.fps:.0f} fps, "
      f"{codec.size}x{codec.size}; {lanes.chunks} chunks of "
      f"{chunk_len * codec.model.time_factor / tour.fps:.2f} s; "
      f"rendered + encoded in {encode_seconds:.0f} s",
      '', '| one tour stored as | bytes | vs codes |', '|---|---|---|',
      f"| neural codes (codes store) | {first['code_bytes']:,} | 1.0x |",
      f"| H.264, CRF {crf['crf']} (PSNR {crf['psnr']:.2f} dB vs codec "
      f"{crf['codec_psnr']:.2f} dB{_crf_remark(crf)}) | "
      f"{os.path.getsize(h264_path):,} | {os.path.getsize(h264_path) / first['code_bytes']:.1f}x |",
      f"| raw RGB | {first['raw_rgb_bytes']:,} | "
      f"{first['raw_rgb_bytes'] / first['code_bytes']:.0f}x |",
      '', '| phase | peak RSS (GB) |', '|---|---|',
      *[f'| {phase} | {gb:.2f} |' for phase, gb in rss.items()],
      '', f"time per tour-epoch (slot memory, batch {config.task.batch_tours}, "
      f"{lanes.updates_per_tour} updates): "
      + ', '.join(f'{s:.1f} s' for s in epoch_seconds) + ' (the first includes compilation)',
  ]
  text = '\n'.join(lines)
  atomic_files.write_text(os.path.join(workdir, 'benchmark.md'), text + '\n')
  print(text)
