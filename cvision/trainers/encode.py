"""The `encode` stage: videos of any length -> a codes store, in bounded memory.

The videos are procedural tours or files (`encode.videos`); the store defaults to
`<workdir>/codes`. Videos already in the store are kept, so a killed run continues
where it stopped. On several hosts each encodes its own share into the one
store. See `codec_io` for how windows are encoded exactly.
"""
import os

import jax

from cvision import atomic_files, codec_io
from cvision.data import sources


def run(config, workdir: str, mesh, load_codec):
  del mesh
  codec = load_codec()
  e = config.encode
  store_path = e.store or os.path.join(workdir, 'codes')
  print(f'encode: {e.videos} into the codes store {store_path}')
  report = codec_io.encode_all(codec, store_path, sources.from_encode_config(e, codec.size),
                               e.window, e.chunk_frames, e.skip_existing)
  table = size_table(report)
  # Each host reports the videos it encoded: on a pod, a file per host.
  host = f'.{jax.process_index()}' if jax.process_count() > 1 else ''
  name = f'encode_report{host}.md'
  atomic_files.write_text(os.path.join(workdir, name), table + '\n')
  print(table)


def size_table(report: dict) -> str:
  lines = ['| video | frames | codes on disk (bytes) | raw RGB (bytes) | source file (bytes) |'
           ' raw / codes | source / codes |', '|---|---|---|---|---|---|---|']
  for vid, r in report['videos'].items():
    source = r['source_bytes']
    vs_source = f"{source / r['code_bytes']:.1f}" if source else '-'
    lines.append(f"| {vid} | {r['frames']} | {r['code_bytes']} | {r['raw_rgb_bytes']} | "
                 f"{source or '-'} | {r['raw_rgb_bytes'] / r['code_bytes']:.0f} | "
                 f"{vs_source} |")
  return '\n'.join(lines)
