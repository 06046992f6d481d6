"""The `decode` stage: codes from a store back to mp4 files (and a PNG strip) to look at.

Refuses a store written by a different codec. `decode.start`/`decode.stop` pick a window
of code frames; only the chunks it overlaps are read.
"""
import os

import numpy as np
from absl import logging
from PIL import Image

from cvision import trained_codec
from cvision.data import codes_store, video_io
from cvision.trainers import encode


def run(config, workdir: str, mesh):
  del mesh
  codec = trained_codec.load(config.decode.codec_workdir)
  store = codes_store.CodesStore.open(config.decode.store,
                                      codes_store.codec_manifest(codec))
  out_dir = os.path.join(workdir, 'decoded')
  os.makedirs(out_dir, exist_ok=True)
  vids = list(config.decode.get('videos') or store.videos())
  for vid in vids:
    info = store.info(vid)
    start = config.decode.get('start', 0)
    stop = min(config.decode.get('stop') or info['code_frames'], info['code_frames'])
    frames = encode.decode_window(codec, store, vid, start, stop)
    frames = (frames * 255).round().astype(np.uint8)
    path = os.path.join(out_dir, f'{vid}_{start}_{stop}.mp4')
    video_io.write_video(path, frames, fps=info.get('fps') or 25.0)
    step = max(len(frames) // 8, 1)
    Image.fromarray(np.concatenate(list(frames[::step][:8]), 1)).save(
        path.replace('.mp4', '.png'))
    logging.info('decoded %s code frames [%d, %d) -> %s', vid, start, stop, path)
    print(path)
