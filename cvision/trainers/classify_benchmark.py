"""The `classify_benchmark` stage: S3D and its input pipeline on codes vs on RGB (CV §4.7, B.6).

One run, the same clips (procedural action videos, `benchmark.frames` frames) and the same
batch for both sides:
- S3D forward and train-step time (best of `benchmark.repeats`, compiled beforehand) and
  the step's peak memory as XLA plans it (arguments + outputs + temporaries of the
  compiled program, `memory_analysis()`): on RGB clips vs on CR-256 codes (codebook
  vectors, the Fig. 14 stem);
- the input pipeline, clips/s into a batch: reading the codes from a codes store vs
  decoding the same clips from H.264 files with PyAV.
"""
import functools
import os
import tempfile

import jax
import jax.numpy as jnp
import numpy as np

from cvision import atomic_files, timing
from cvision.data import actions, codes_store, video_io, views
from cvision.tasks import classify
from cvision.train_lib import state as state_lib


def _train_step(config, model, x, labels, codebooks):
  """(jitted train step, state, batch) for `model` on inputs shaped like `x`."""
  variables = jax.eval_shape(
      lambda: model.init({'params': jax.random.key(0)},
                         classify.model_input(jnp.zeros(x.shape, x.dtype), codebooks)))
  tx = state_lib.make_optimizer(config.train)
  state = jax.eval_shape(lambda v: state_lib.TrainState.create(
      v['params'], tx, {'batch_stats': v['batch_stats']}), variables)
  step = jax.jit(functools.partial(classify.train_step, model=model, frames=x.shape[1]))
  return step, state, dict(x=x, label=labels)


def planned_peak_bytes(config, model, x, labels, codebooks) -> int:
  """The compiled train step's arguments + outputs + temporaries, as XLA plans them
  (inputs may be abstract: nothing of that size is allocated)."""
  step, state, batch = _train_step(config, model, x, labels, codebooks)
  return _peak_bytes(step.lower(state, batch, codebooks, None, jax.random.key(1)).compile())


def _peak_bytes(compiled) -> int:
  memory = compiled.memory_analysis()
  return int(memory.argument_size_in_bytes + memory.output_size_in_bytes
             + memory.temp_size_in_bytes)


def model_costs(config, model, x, labels, codebooks) -> dict:
  """Forward and train-step seconds and the train step's planned peak bytes."""
  step, _, batch = _train_step(config, model, x, labels, codebooks)
  v = model.init({'params': jax.random.key(0)}, classify.model_input(x, codebooks))
  state = state_lib.TrainState.create(v['params'], state_lib.make_optimizer(config.train),
                                      {'batch_stats': v['batch_stats']})
  rng = jax.random.key(1)
  compiled = step.lower(state, batch, codebooks, None, rng).compile()
  forward = jax.jit(lambda v, x, books: model.apply(v, classify.model_input(x, books))[0])
  jax.block_until_ready(forward(v, x, codebooks))
  repeats = config.benchmark.repeats
  train_step = lambda: compiled(state, batch, codebooks, None, rng)
  return dict(forward_s=timing.best_of(lambda: forward(v, x, codebooks), repeats),
              train_step_s=timing.best_of(train_step, repeats),
              peak_bytes=_peak_bytes(compiled))


def memory_at_size(config, codec, grid: views.Grid, books, size: int) -> dict:
  """Planned peak bytes of the train step on RGB and on codes (on `grid`, read through
  `books`) for `size` x `size` clips, compiled only (the paper's 224: too slow to run on
  CPU, cheap to plan)."""
  b = config.benchmark
  labels = jax.ShapeDtypeStruct((b.batch_size,), jnp.int32)
  rgb = jax.ShapeDtypeStruct((b.batch_size, b.frames, size, size, 3), jnp.uint8)
  codes = jax.ShapeDtypeStruct((b.batch_size, b.frames // grid.time, size // grid.space,
                                size // grid.space, codec.model.codebooks), jnp.uint8)
  return dict(size=size, rgb_bytes=planned_peak_bytes(
      config, classify.make_model(config, views.Grid(), 10), rgb, labels, None),
              codes_bytes=planned_peak_bytes(
      config, classify.make_model(config, grid, 10), codes, labels, books))


def pipeline_rates(codec, clips: np.ndarray, folder: str, batch: int, repeats: int) -> dict:
  """Clips/s into a batch: codes read from a store vs H.264 files decoded with PyAV."""
  store = codes_store.CodesStore.open(os.path.join(folder, 'codes'),
                                      codes_store.codec_manifest(codec), create=True)
  paths = []
  for i, clip in enumerate(clips):
    with store.writer(f'clip_{i:04d}', source='benchmark', fps=25.0) as writer:
      writer.append(codec.encode(clip[None])[0])
    paths.append(os.path.join(folder, f'clip_{i:04d}.mp4'))
    video_io.write_video(paths[-1], clip, crf=18)
  ids = store.videos()

  def read_codes():
    for i in range(0, len(ids), batch):
      np.stack([store.read(vid) for vid in ids[i:i + batch]])

  def decode_files():
    for i in range(0, len(paths), batch):
      np.stack([np.stack(list(video_io.iter_frames(p))) for p in paths[i:i + batch]])

  codes_s = timing.best_of(read_codes, repeats)
  files_s = timing.best_of(decode_files, repeats)
  return dict(codes_clips_per_s=len(clips) / codes_s, h264_clips_per_s=len(clips) / files_s,
              codes_bytes=store.disk_bytes(), h264_bytes=sum(map(os.path.getsize, paths)))


def run(config, workdir: str, mesh, load_codec, load_augmenter=None):
  del mesh  # one device: the benchmark times a step, not a mesh
  del load_augmenter  # its config is classify's, augmenter block included; times no views
  b = config.benchmark
  print(f'classify_benchmark: S3D on RGB vs codes, {b.clips} clips of {b.frames} frames, '
        f'batches of {b.batch_size}, best of {b.repeats}')
  codec = load_codec()
  scenes = actions.Scenes(seed=b.seed, size=codec.size)
  clips = np.stack([scenes.clip(i, b.frames)[0] for i in range(b.clips)])
  labels = jnp.asarray(np.arange(b.batch_size) % len(actions.MOTIONS))
  rgb = jnp.asarray(clips[:b.batch_size])
  codes = jnp.asarray(codec.encode(clips[:b.batch_size]))
  grid = views.Grid(codec.model.time_factor, codec.model.space_factor)
  books = classify.input_codebooks(codec, config.input.codes_as)
  config.data.level = 'video'
  results = {
      'rgb': model_costs(config, classify.make_model(config, views.Grid(), 10), rgb, labels,
                         None),
      'codes': model_costs(config, classify.make_model(config, grid, 10), codes, labels,
                           books)}
  results['planned_memory'] = [memory_at_size(config, codec, grid, books, size)
                               for size in b.memory_sizes]
  with tempfile.TemporaryDirectory() as folder:
    results['pipeline'] = pipeline_rates(codec, clips, folder, b.batch_size, b.repeats)
  results['setup'] = dict(clips=b.clips, frames=b.frames, size=codec.size,
                          batch=b.batch_size, cr=codec.compression_rate(b.frames, codec.size,
                                                                        codec.size),
                          model_width=config.model.width, devices=jax.device_count())
  table = report(results)
  os.makedirs(workdir, exist_ok=True)
  atomic_files.write_json(os.path.join(workdir, 'classify_benchmark.json'), results)
  atomic_files.write_text(os.path.join(workdir, 'classify_benchmark.md'), table + '\n')
  print(table)


def report(r: dict) -> str:
  s, rgb, codes, p = r['setup'], r['rgb'], r['codes'], r['pipeline']
  ratio = lambda a, b: f'{a / b:.1f}x'
  return '\n'.join([
      f"S3D (width {s['model_width']}) on batches of {s['batch']} clips of {s['frames']} "
      f"frames at {s['size']}x{s['size']}; codes at CR {s['cr']:.0f}; {s['clips']} clips "
      f"for the input pipeline",
      '| measure | RGB | codes | RGB / codes | target |', '|---|---|---|---|---|',
      f"| S3D forward (s) | {rgb['forward_s']:.3f} | {codes['forward_s']:.3f} | "
      f"{ratio(rgb['forward_s'], codes['forward_s'])} | |",
      f"| S3D train step (s) | {rgb['train_step_s']:.3f} | {codes['train_step_s']:.3f} | "
      f"{ratio(rgb['train_step_s'], codes['train_step_s'])} | >= 2x |",
      f"| train step peak memory (MB) | {rgb['peak_bytes'] / 1e6:.1f} | "
      f"{codes['peak_bytes'] / 1e6:.1f} | {ratio(rgb['peak_bytes'], codes['peak_bytes'])} | "
      f">= 3x |",
      f"| input pipeline (clips/s; H.264+PyAV vs codes store) | "
      f"{p['h264_clips_per_s']:.1f} | {p['codes_clips_per_s']:.1f} | "
      f"{ratio(p['codes_clips_per_s'], p['h264_clips_per_s'])} (codes faster) | >= 10x |",
      f"| bytes on disk (H.264 CRF 18 vs codes) | {p['h264_bytes']:,} | {p['codes_bytes']:,} | "
      f"{ratio(p['h264_bytes'], p['codes_bytes'])} | |",
      *[f"| train step peak memory at {m['size']}x{m['size']}, planned only (MB) | "
        f"{m['rgb_bytes'] / 1e6:.1f} | {m['codes_bytes'] / 1e6:.1f} | "
        f"{ratio(m['rgb_bytes'], m['codes_bytes'])} | >= 3x |" for m in r['planned_memory']]])
