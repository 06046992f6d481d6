"""The `decode` stage: codes from a store back to mp4 files (and a PNG strip) to look at.

Refuses a store written by a different codec. `decode.start`/`decode.stop` pick a window
of code frames; only the chunks it overlaps are read.
"""
import os

import numpy as np
from absl import logging
from PIL import Image

from cvision import codec_io, progress
from cvision.data import codes_store, video_io


def run(config, workdir: str, mesh, load_codec):
  del mesh
  codec = load_codec()
  d = config.decode
  store_path = d.store or os.path.join(workdir, 'codes')
  store = codes_store.CodesStore.open(store_path, codes_store.codec_manifest(codec))
  out_dir = os.path.join(workdir, 'decoded')
  print(f'decode: {", ".join(d.videos) or "every video"} of {store_path} into {out_dir}')
  os.makedirs(out_dir, exist_ok=True)
  vids = list(d.videos or store.videos())
  for vid in progress.bar(vids, 'decode', 'video'):
    info = store.info(vid)
    stop = min(d.stop or info['code_frames'], info['code_frames'])
    frames = codec_io.decode_window(codec, store, vid, d.start, stop)
    frames = (frames * 255).round().astype(np.uint8)
    path = os.path.join(out_dir, f'{vid}_{d.start}_{stop}.mp4')
    video_io.write_video(path, frames, fps=info.get('fps') or 25.0)
    step = max(len(frames) // 8, 1)
    Image.fromarray(np.concatenate(list(frames[::step][:8]), 1)).save(
        path.replace('.mp4', '.png'))
    logging.info('decoded %s code frames [%d, %d) -> %s', vid, d.start, stop, path)
    print(path)
