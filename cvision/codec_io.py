"""Streams through a trained codec: videos of any length into a codes store, and windows
of stored codes back to frames, in memory bounded by one window.

Frames stream through in windows of `window` frames. Each window is encoded with
`temporal_context` extra frames on both sides and only its own codes are kept, so the
codes equal those of encoding the whole video at once (the encoder sees the same
neighbourhood), while memory stays that of one window whatever the video's length.
"""
import collections

import jax
import numpy as np
from absl import logging

from cvision import errors, progress
from cvision.data import codes_store
from cvision.train_lib import multihost


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
    raise errors.ConfigError(f'the encode window {window} must be a multiple of the codec '
                             f'time factor {t}')
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


def encode_all(codec, store_path: str, videos, window: int, chunk_frames: int = 64,
               skip_existing: bool = True, desc: str = 'encode') -> dict:
  """Encodes every `(id, frames, meta)` of `videos` into the store (those already there
  are kept); returns a size report `{videos: {id: sizes}, store, codec}`.

  On a multi-host run `videos` is this host's share (`multihost.my_share`): each host
  encodes its own videos, then all wait for each other, so every host can read the whole
  store when this returns. A killed run resumes at the first uncommitted video."""
  store = codes_store.CodesStore.open(
      store_path, codes_store.codec_manifest(codec, chunk_frames), create=True)
  report = dict(videos={}, store=store_path, codec=codec.fingerprint)
  videos = list(videos)  # cheap: frames are generated lazily, video by video
  hosts = jax.process_count()
  host = f' (host {jax.process_index()} of {hosts})' if hosts > 1 else ''
  with progress.bar(sum(meta['frames'] for _, _, meta in videos), desc + host, 'frame') as bar:
    for vid, frames, meta in videos:
      if skip_existing and store.recover(vid):
        logging.info('%s already in the store: skipped', vid)
        bar.update(meta['frames'])
      else:
        with store.writer(vid, **meta) as writer:
          for codes in encode_stream(codec, frames, window):
            writer.append(codes)
            bar.update(len(codes) * codec.model.time_factor)
      report['videos'][vid] = stored_sizes(codec, store, vid, meta.get('source_bytes'))
      logging.info('%s: %s', vid, report['videos'][vid])
  multihost.sync(f'encoded {store_path}')  # every host's share committed
  if multihost.is_primary():
    store.compact_index()
  return report


def stored_sizes(codec, store, vid: str, source_bytes: int | None = None) -> dict:
  """A stored video's frames and bytes beside raw RGB (and its source file's, if known)."""
  rgb_frames = store.code_frames(vid) * codec.model.time_factor
  return dict(frames=rgb_frames, code_bytes=store.disk_bytes(vid),
              raw_rgb_bytes=rgb_frames * codec.size * codec.size * 3, source_bytes=source_bytes)
