"""Compresses a video file into a `.cvz` bitstream with a trained RD codec.

python -m cvision.compress --workdir=RUN in.mp4 out.cvz [--size=128] [--noverify]

RUN is the workdir of an `rdcodec` stage. Frames are read at their own size (or the
shorter side resized to --size and centre-cropped square). The file is written only
once complete, after compress has decoded its own output (--noverify skips that).
"""
import os

from absl import app, flags

from cvision import atomic_files, errors, progress, trained_rdcodec
from cvision.coding import video as video_coding
from cvision.data import video_io

_WORKDIR = flags.DEFINE_string('workdir', None, 'Workdir of the trained rdcodec stage.')
_SIZE = flags.DEFINE_integer('size', 0, 'Resize the shorter side to this and crop square '
                             '(0: the video\'s own size).')
_VERIFY = flags.DEFINE_bool('verify', True, 'Decode the bitstream before writing it.')


def compress_file(codec, source: str, target: str, size: int = 0, verify: bool = True):
  """Compresses `source` into `target` (written atomically); returns the stats."""
  info = video_io.probe(source)
  frames = video_io.iter_frames(source, size or None)
  with progress.bar(info['frames'], f'compress {os.path.basename(source)}', 'frame') as bar:
    data, stats = video_coding.compress(codec, frames, info['fps'], verify=verify,
                                        on_frames=bar.update)
  atomic_files.write_bytes(target, data)
  return stats


def main(argv):
  if len(argv) != 3:
    raise app.UsageError('usage: python -m cvision.compress --workdir=RUN in.mp4 out.cvz')
  source, target = argv[1:]
  try:
    if not _WORKDIR.value:
      raise errors.ConfigError('--workdir (the rdcodec run to compress with) is required')
    codec = trained_rdcodec.load(_WORKDIR.value)
    stats = compress_file(codec, source, target, _SIZE.value, _VERIFY.value)
  except errors.UserError as e:
    errors.stop(e)
  print(f'{target}: {stats.frames} frames in {stats.bytes} bytes, '
        f'{8 * stats.bytes / stats.frames:.0f} bits per frame '
        f'(the prior estimated {stats.estimated_bits / stats.frames:.0f})')


if __name__ == '__main__':
  app.run(main)
