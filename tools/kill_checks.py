"""What a stage's workdir holds at a kill and at the end, for `kill_anywhere.py`.

Only what a user could read is read: files the CLI writes, orbax checkpoints restored as
raw pytrees, and the codes store through its public API (`CodesStore.open`, `.videos()`,
`.info()`, `.read()`), so the checks keep working while the store's layout changes.
"""
import json
import os
import re
import zipfile

import jax
import numpy as np
import orbax.checkpoint as ocp
from PIL import Image

from cvision.data import codes_store

# Names of files still being written: the atomic writers' temporaries and orbax's
# checkpoint folders before their rename. A kill may leave them; nothing reads them.
TEMPORARY_MARKERS = ('.tmp-', '.orbax-checkpoint-tmp')
# Keys of results files that differ between two equal runs (timings, where they ran).
VOLATILE_KEYS = ('seconds', 'workdir', 'store')


def is_temporary(relpath: str) -> bool:
  return any(m in part for part in relpath.split(os.sep) for m in TEMPORARY_MARKERS)


def _relpaths(workdir: str):
  for root, _, names in os.walk(workdir):
    for name in names:
      yield os.path.relpath(os.path.join(root, name), workdir)


def _is_complete(path: str) -> bool:
  """Whether a file a reader would trust is whole (JSON parses, an image or array loads)."""
  try:
    if path.endswith('.json'):
      with open(path, encoding='utf-8') as f:
        json.load(f)
    elif path.endswith('.png'):
      with Image.open(path) as image:
        image.load()  # decodes every pixel: a truncated file fails here
    elif path.endswith('.npz'):
      with np.load(path) as arrays:
        for key in arrays.files:  # reading each member checks its zip CRC
          arrays[key]  # pylint: disable=pointless-statement
  except (OSError, ValueError, SyntaxError, EOFError, zipfile.BadZipFile):
    return False
  return True


def _manager(workdir: str):
  options = ocp.CheckpointManagerOptions(create=False)  # only reads: never saves
  return ocp.CheckpointManager(os.path.abspath(os.path.join(workdir, 'checkpoints')),
                               options=options)


def checkpoint_steps(workdir: str) -> list[int]:
  if not os.path.isdir(os.path.join(workdir, 'checkpoints')):
    return []
  with _manager(workdir) as manager:
    return sorted(manager.all_steps())


def newest_state(workdir: str):
  """The newest checkpoint as a raw pytree of arrays (no model needed), or None."""
  steps = checkpoint_steps(workdir)
  if not steps:
    return None
  with _manager(workdir) as manager:
    return manager.restore(steps[-1], args=ocp.args.StandardRestore())


def max_abs_difference(state, reference) -> float:
  """Largest |a - b| over every leaf; inf when the trees or shapes differ."""
  a, tree_a = jax.tree_util.tree_flatten(state)
  b, tree_b = jax.tree_util.tree_flatten(reference)
  if tree_a != tree_b or not a:
    return float('inf')
  worst = 0.0
  for x, y in zip(a, b):
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape:
      return float('inf')
    if x.size:
      worst = max(worst, float(np.max(np.abs(x - y))))
  return worst


def read_store(path: str) -> dict:
  """`{videos: {id: video.json content}, unreadable: [ids], duplicates: n}` of the codes
  store at `path` (empty when there is none yet); every committed video is read back
  whole, each chunk against its checksum."""
  found = dict(videos={}, unreadable=[], duplicates=0)
  try:
    store = codes_store.CodesStore.open(path)
  except codes_store.CodesStoreError:
    return found
  ids = store.videos()
  found['duplicates'] = len(ids) - len(set(ids))
  for vid in ids:
    try:
      found['videos'][vid] = store.info(vid)
      store.read(vid)
    except (codes_store.CodesStoreError, OSError, ValueError) as e:
      found['unreadable'].append(f'{vid}: {e}')
  return found


def snapshot(workdir: str, stores=(), results=()) -> dict:
  """What a run left in `workdir`: files a reader would find broken, temporaries,
  checkpoint steps (the newest restored to prove it whole), committed videos per store
  and which of the stage's `results` files exist."""
  paths = list(_relpaths(workdir)) if os.path.isdir(workdir) else []
  broken = [p for p in paths if not is_temporary(p)
            and not _is_complete(os.path.join(workdir, p))]
  temporaries = sorted({p.split('.orbax-checkpoint-tmp')[0] + '.orbax-checkpoint-tmp'
                        if '.orbax-checkpoint-tmp' in p else p
                        for p in paths if is_temporary(p)})
  steps = checkpoint_steps(workdir)
  if steps:
    try:
      newest_state(workdir)
    except Exception as e:  # pylint: disable=broad-except  (any failure: not restorable)
      broken.append(f'checkpoints/{steps[-1]}: {type(e).__name__}: {e}')
  stored = {s: read_store(os.path.join(workdir, s)) for s in stores}
  for name, found in stored.items():
    broken += [f'{name}: {u}' for u in found['unreadable']]
    if found['duplicates']:
      broken.append(f'{name}: {found["duplicates"]} duplicate video id(s)')
  return dict(broken=broken, temporaries=temporaries, checkpoints=steps,
              videos={s: found['videos'] for s, found in stored.items()},
              results=[r for r in results if os.path.exists(os.path.join(workdir, r))])


def lost_since(kill: dict, final: dict) -> list[str]:
  """What was committed at a kill but is gone or rewritten at the end: a video missing or
  re-encoded (its video.json changed), a results file gone, a checkpoint newer than the
  ones kept at the end deleted (older ones are rotated out by `max_to_keep`)."""
  lost = []
  for store, videos in kill['videos'].items():
    now = final['videos'].get(store, {})
    lost += [f'{store}/{vid}: {"re-encoded" if vid in now else "missing"}'
             for vid, info in videos.items() if now.get(vid) != info]
  lost += [f'{r}: missing' for r in kill['results'] if r not in final['results']]
  kept = final['checkpoints']
  lost += [f'checkpoint {s}: missing' for s in kill['checkpoints']
           if s not in kept and (not kept or s > kept[0])]
  return lost


def log_size(workdir: str) -> int:
  path = os.path.join(workdir, 'log.txt')
  return os.path.getsize(path) if os.path.exists(path) else 0


def restored_steps(workdir: str, start: int, stop: int | None = None) -> list[int]:
  """Steps of `workdir`'s own checkpoints that runs restored, in order, from the bytes
  `[start, stop)` of its log.txt (orbax logs each restore with its folder)."""
  with open(os.path.join(workdir, 'log.txt'), 'rb') as f:
    f.seek(start)
    text = f.read(-1 if stop is None else stop - start).decode('utf-8', 'replace')
  folder = re.escape(os.path.join(os.path.abspath(workdir), 'checkpoints'))
  return [int(s) for s in re.findall(rf'Restoring checkpoint from {folder}/(\d+)\b', text)]


def _normalised(value):
  if isinstance(value, dict):
    return {k: _normalised(v) for k, v in value.items() if k not in VOLATILE_KEYS}
  if isinstance(value, list):
    return [_normalised(v) for v in value]
  return value


def differing_results(workdir: str, reference: str, results) -> list[str]:
  """Results files of the stage whose content differs from the reference's (JSON without
  timings and paths; text exactly; images are not compared)."""
  differ = []
  for name in results:
    mine, theirs = os.path.join(workdir, name), os.path.join(reference, name)
    if name.endswith('.png'):
      continue
    if not os.path.exists(mine) or not os.path.exists(theirs):
      differ.append(name)
      continue
    with open(mine, encoding='utf-8') as f, open(theirs, encoding='utf-8') as g:
      if name.endswith('.json'):
        same = _normalised(json.load(f)) == _normalised(json.load(g))
      else:
        same = f.read() == g.read()
    if not same:
      differ.append(name)
  return differ


def store_differences(path: str, reference: str) -> list[str]:
  """How the store at `path` differs from the reference store: videos only one has, and
  videos whose codes differ (the chunk files' names are per attempt; the codes are not)."""
  mine, theirs = read_store(path), read_store(reference)
  only = sorted(set(mine['videos']) ^ set(theirs['videos']))
  differ = [f'{vid}: only in {"this" if vid in mine["videos"] else "reference"} store'
            for vid in only]
  if not differ:
    a, b = codes_store.CodesStore.open(path), codes_store.CodesStore.open(reference)
    differ = [f'{vid}: codes differ' for vid in sorted(mine['videos'])
              if not np.array_equal(a.read(vid), b.read(vid))]
  return differ
