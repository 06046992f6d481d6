"""The `augmenter_benchmark` stage: CV Table 8, augmenting codes vs going through pixels.

One run, one batch of `benchmark.batch_size` clips of `benchmark.frames` frames (held-out
procedural tours at the codec's size), the same random crop-and-flip θ for every path,
each path one compiled program timed after compilation (best of `benchmark.repeats`):
  1. learned augmentation: `a(codes, θ)`;
  2. decode -> dm-pix augmentation -> re-encode, what a pipeline without the augmenter
     does to give codes a view;
  3. augment & infer: the augmenter then S3D's forward on the codes, against decoding the
     codes and running S3D on the augmented pixels; and each S3D forward alone.
S3D reads the codes as the classify stage does with `benchmark.codes_as`: one-hot (the
quick configs') or codebook vectors (the paper-size configs'), where the augmenter's
views reach S3D as vectors (`augment.augment_views`). S3D's weights are initialised, not
trained: time does not depend on their values.
"""
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

from cvision import atomic_files, configs, timing
from cvision.data import tours
from cvision.models import s3d, vqvae
from cvision.tasks import augment, classify


def _clips(batch: int, frames: int, size: int) -> np.ndarray:
  return np.stack([tours.Tour(seed=20_000 + i, size=size).frames(0, frames)
                   for i in range(batch)])


def _augment_paths(codec_model, augmenter_model):
  """Jitted `(params, codes, θ, codebooks) -> codes` through the augmenter, and
  `(codec weights, codes, θ) -> codes` through pixels: decode, dm-pix, re-encode."""
  learned = jax.jit(functools.partial(augment.augment_codes, model=augmenter_model))

  @jax.jit
  def through_pixels(weights, codes, thetas):
    video = jnp.clip(codec_model.apply(weights, codes, method=vqvae.VQVAE.decode), 0, 1)
    return codec_model.apply(weights, augment.augment_pixels(video, thetas),
                             method=vqvae.VQVAE.encode)
  return learned, through_pixels


def paper_size(config, codec_spec: str, batch: int, augmenter_model) -> dict:
  """Paths 1 and 2 with the paper's models at 256x256 (codec `codec_spec`, and
  `augmenter_model`'s architecture on that codec's code grid), initialised, not trained
  (time does not depend on the values): XLA's planned FLOPs, and seconds of the best of
  `paper_repeats` calls each."""
  b = config.benchmark
  codec_model = vqvae.make_vqvae(configs.load(codec_spec).model)
  size = 256
  grid = (size // codec_model.space_factor,) * 2
  augmenter_model = augmenter_model.clone(grid=grid)
  shape = (batch, b.paper_frames // codec_model.time_factor, *grid, codec_model.codebooks)
  codes = jax.random.randint(jax.random.key(0), shape, 0, codec_model.codebook_size)
  thetas = augment.view_thetas(jax.random.key(b.seed), batch, b.crop, ('crop', 'flip'))
  weights = codec_model.init({'params': jax.random.key(1)},
                             jnp.zeros((1, codec_model.time_factor, size, size, 3)))
  books = weights['vq']['quantizer']['embed']
  params = augmenter_model.init(jax.random.key(2), codes[:1], thetas[:1], books)['params']
  learned, through_pixels = _augment_paths(codec_model, augmenter_model)
  args = dict(augment_codes=(learned, (params, codes, thetas, books)),
              decode_augment_encode=(through_pixels, (weights, codes, thetas)))
  out = dict(codec=codec_spec, batch_size=batch, frames=b.paper_frames, size=size,
             repeats=b.paper_repeats)
  for name, (fn, fn_args) in args.items():
    compiled = fn.lower(*fn_args).compile()  # compiled ahead: the calls are all run
    out[f'{name}_gflops'] = compiled.cost_analysis()['flops'] / 1e9
    out[f'{name}_s'] = timing.best_of(lambda c=compiled, a=fn_args: c(*a), b.paper_repeats)
  out['flops_ratio'] = out['decode_augment_encode_gflops'] / out['augment_codes_gflops']
  out['speedup'] = out['decode_augment_encode_s'] / out['augment_codes_s']
  return out


def measure(config, codec, augmenter) -> dict:
  b = config.benchmark
  clips = _clips(b.batch_size, b.frames, codec.size)
  codes = jnp.asarray(codec.encode(clips))
  thetas = augment.view_thetas(jax.random.key(b.seed), b.batch_size, b.crop, ('crop', 'flip'))
  augmenter.ranges.check(np.asarray(thetas))
  weights, books, view = codec.weights, augmenter.codebooks, augmenter.params
  model = codec.model

  learned, through_pixels = _augment_paths(model, augmenter.model)

  grid = (model.time_factor, model.space_factor)
  code_net = s3d.S3D(classes=b.classes, time_factor=grid[0], space_factor=grid[1],
                     stem_features=(16, 16), width=b.s3d_width)
  rgb_net = s3d.S3D(classes=b.classes, stem_features=(16, 16), width=b.s3d_width)
  table = classify.input_codebooks(codec, b.codes_as)
  s3d_input = lambda c: classify.model_input(c, table)
  views = functools.partial(augment.augment_views, model=augmenter.model,
                            as_vectors=b.codes_as == 'vectors')
  code_vars = code_net.init(jax.random.key(1), s3d_input(codes[:1]))
  rgb_vars = rgb_net.init(jax.random.key(2), jnp.zeros((1, *clips.shape[1:]), jnp.float32))

  @jax.jit
  def infer_codes(code_vars, view, codes, thetas):
    return code_net.apply(code_vars, s3d_input(views(view, codes, thetas, books)))[0]

  @jax.jit
  def infer_rgb(rgb_vars, weights, codes, thetas):
    video = jnp.clip(model.apply(weights, codes, method=vqvae.VQVAE.decode), 0, 1)
    return rgb_net.apply(rgb_vars, augment.augment_pixels(video, thetas) * 2 - 1)[0]

  codes_only = jax.jit(lambda v, c: code_net.apply(v, s3d_input(c))[0])
  rgb_only = jax.jit(lambda v, x: rgb_net.apply(v, x * 2 - 1)[0])
  pixels = jnp.asarray(clips, jnp.float32) / 255.0
  paths = dict(
      augment_codes=lambda: learned(view, codes, thetas, books),
      decode_augment_encode=lambda: through_pixels(weights, codes, thetas),
      augment_and_infer_codes=lambda: infer_codes(code_vars, view, codes, thetas),
      decode_augment_infer_rgb=lambda: infer_rgb(rgb_vars, weights, codes, thetas),
      infer_codes=lambda: codes_only(code_vars, codes),
      infer_rgb=lambda: rgb_only(rgb_vars, pixels))
  for fn in paths.values():  # compile first
    jax.block_until_ready(fn())
  seconds = {name: timing.best_of(fn, b.repeats) for name, fn in paths.items()}
  return dict(
      batch_size=b.batch_size, frames=b.frames, size=codec.size, backend=jax.default_backend(),
      code_shape=list(codes.shape[1:]), codes_as=b.codes_as,
      s3d_input_shape=list(jax.eval_shape(s3d_input, codes).shape[1:]), seconds=seconds,
      speedup_vs_decode_augment_encode=seconds['decode_augment_encode'] / seconds['augment_codes'],
      speedup_augment_and_infer=(seconds['decode_augment_infer_rgb']
                                 / seconds['augment_and_infer_codes']))


def markdown_table(r: dict) -> str:
  s = r['seconds']
  rows = [('learned augmentation of codes', 'augment_codes'),
          ('decode -> dm-pix augmentation -> re-encode', 'decode_augment_encode'),
          ('augment & infer: augmenter + S3D on codes', 'augment_and_infer_codes'),
          ('decode + dm-pix augmentation + S3D on RGB', 'decode_augment_infer_rgb'),
          ('S3D forward on codes', 'infer_codes'), ('S3D forward on RGB', 'infer_rgb')]
  lines = [f"Batch of {r['batch_size']} clips of {r['frames']} frames at {r['size']}px "
           f"(codes {r['code_shape']}; S3D reads {r['codes_as']}, "
           f"{r['s3d_input_shape']}), {r['backend']}, best of the repeats:", '',
           '| measurement | seconds |', '|---|---|']
  lines += [f'| {label} | {s[key]:.4f} |' for label, key in rows]
  lines += ['', f"learned augmentation vs decode -> augment -> re-encode: "
                f"**{r['speedup_vs_decode_augment_encode']:.1f}x** faster; augment & infer vs "
                f"decode + augment + infer on RGB: **{r['speedup_augment_and_infer']:.1f}x**"]
  if r.get('paper_size'):
    lines += ['', f"At the paper's size (256x256, {r['paper_size'][0]['frames']} frames, "
              f"initialised models, best of {r['paper_size'][0]['repeats']} calls each):", '',
              '| codec | batch | augmenter GFLOPs | decode-augment-encode GFLOPs | FLOPs ratio '
              '| augmenter s | decode-augment-encode s | speed-up |', '|---|' + '---|' * 7]
    lines += [f"| {p['codec']} | {p['batch_size']} | {p['augment_codes_gflops']:.0f} | "
              f"{p['decode_augment_encode_gflops']:.0f} | {p['flops_ratio']:.0f}x | "
              f"{p['augment_codes_s']:.2f} | {p['decode_augment_encode_s']:.2f} | "
              f"**{p['speedup']:.0f}x** |" for p in r['paper_size']]
  return '\n'.join(lines)


def run(config, workdir: str, mesh, load_codec, load_augmenter):
  del mesh  # one device: a latency benchmark
  b = config.benchmark
  print(f'augmenter_benchmark: {b.batch_size} clips of {b.frames} frames, best of '
        f'{b.repeats}; in {workdir}')
  codec = load_codec()
  augmenter = load_augmenter()
  results = measure(config, codec, augmenter)
  # The benchmarked augmenter's architecture (its pre-warp and output) at the paper's size.
  results['paper_size'] = [paper_size(config, spec, batch, augmenter.model)
                           for spec, batch in b.paper_codecs]
  atomic_files.write_json(os.path.join(workdir, 'benchmark.json'), results, indent=2)
  table = markdown_table(results)
  atomic_files.write_text(os.path.join(workdir, 'benchmark.md'), table + '\n')
  print(table)
