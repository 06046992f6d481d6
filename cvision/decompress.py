"""Decodes a `.cvz` bitstream back to video with the RD codec that wrote it.

python -m cvision.decompress --workdir=RUN in.cvz out.mp4

`out.npy` holds the decoded uint8 frames `[N, H, W, 3]` exactly; any other name is a
video file (H.264, for viewing: its own coding is lossy). A file from another codec, or
a truncated or corrupt one, stops with an error naming the problem (and the chunk); the
output is written only once complete, so no half-written file is ever left.
"""
import os

import numpy as np
from absl import app, flags

from cvision import atomic_files, errors, progress, trained_rdcodec
from cvision.coding import container, video as video_coding
from cvision.data import video_io

_WORKDIR = flags.DEFINE_string('workdir', None, 'Workdir of the rdcodec that wrote the file.')


def read_cvz(path: str) -> bytes:
  if not os.path.isfile(path):
    raise errors.MissingInput(f'no such .cvz file: {path}')
  with open(path, 'rb') as f:
    return f.read()


def decompress_file(codec, source: str, target: str) -> int:
  """Decodes `source` into `target` (npy or video, atomically); returns the frame count."""
  data = read_cvz(source)
  header = container.parse(data, source).header
  name = os.path.basename(source)
  with progress.bar(header.frames, f'decompress {name}', 'frame') as bar:
    frames = video_coding.decompress(codec, data, source, on_frames=bar.update)
    if target.endswith('.npy'):
      with atomic_files.replacing(target, '.npy') as tmp:
        out = np.lib.format.open_memmap(tmp, 'w+', np.uint8,
                                        (header.frames, header.height, header.width, 3))
        for i, frame in enumerate(frames):
          out[i] = frame
        out.flush()
        del out
    else:
      video_io.write_video(target, frames, header.fps)
  return header.frames


def main(argv):
  if len(argv) != 3:
    raise app.UsageError('usage: python -m cvision.decompress --workdir=RUN in.cvz out.mp4')
  source, target = argv[1:]
  try:
    if not _WORKDIR.value:
      raise errors.ConfigError('--workdir (the rdcodec run that wrote the file) is required')
    frames = decompress_file(trained_rdcodec.load(_WORKDIR.value), source, target)
  except errors.UserError as e:
    errors.stop(e)
  print(f'{target}: {frames} frames')


if __name__ == '__main__':
  app.run(main)
