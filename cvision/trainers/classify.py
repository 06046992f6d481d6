"""The `classify` stage: S3D on RGB clips, on neural codes, or on their reconstructions.

CV §4.3 (video level, Kinetics-style top-1/top-5) and §4.4 (frame level, COIN-style
per-frame top-1/top-5, mean ± std over test videos), with the inputs of Table 6:
`input.kind` 'rgb' (the baseline), 'codes' (each code one-hot or as its codebook
vectors, `input.codes_as`, through S3D's code stem) or 'recon' (the codes decoded back
to pixels). Same model, optimizer and schedule for all three. Training takes one random
view (clip in time, crop in space) per video; testing averages the logits of
`eval.clips` x `eval.crops` views.
"""
import dataclasses
import functools
import json
import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from absl import logging

from cvision import atomic_files
from cvision.data import codes_store, labeled, views
from cvision.evaluators import classification
from cvision.models import s3d, vqvae
from cvision.train_lib import checkpoint, loop, sharding, state as state_lib
from cvision.trainers import encode

INPUTS = ('rgb', 'codes', 'recon')


def model_input(x, codebooks):
  """uint8 pixels -> [-1, 1]; integer codes -> their codebook vectors (frozen)."""
  if codebooks is None:
    return x.astype(jnp.float32) / 127.5 - 1.0
  return vqvae.lookup(codebooks, x)


CODE_INPUTS = ('vectors', 'onehot')


def input_codebooks(codec, codes_as: str = 'vectors') -> jnp.ndarray:
  """What S3D reads for each code, as a table `[N, K, D]` looked up per codebook.

  'vectors': the codec's codebook vectors (the paper's input), each channel standardised
  over the K entries of its codebook, a fixed affine map (nothing is lost). The codec's own
  vectors are small (std ~0.1) and offset; fed as they are, S3D stayed at chance on codes
  even for two classes (pan left vs right, CR 32, 200 steps), standardised it learned them
  (86% on the test clips), as it does from RGB.
  'onehot': each code as a one-hot vector of K (`D = K`), so S3D's input conv learns its
  own vector for every entry, where the vectors option can only mix 16 fixed dimensions
  (600-step probe at CR 256: 23.5% top-1 against 19.5%)."""
  books = jnp.asarray(codec.codebooks, jnp.float32)
  if codes_as == 'onehot':
    return jnp.broadcast_to(jnp.eye(books.shape[1]), (books.shape[0],) + (books.shape[1],) * 2)
  if codes_as != 'vectors':
    raise ValueError(f'input.codes_as must be one of {CODE_INPUTS}, got {codes_as!r}')
  return (books - books.mean(1, keepdims=True)) / (books.std(1, keepdims=True) + 1e-6)


def per_frame_logits(logits, frames: int):
  """S3D's per-step logits `[B, T', C]` repeated over the frames each step covers."""
  return jnp.repeat(logits, frames // logits.shape[1], axis=1)


def train_step(state, batch, codebooks, rng, *, model, tx, frames: int):
  """One update on `batch` = {'x': views, 'label': [B] or per frame [B, frames]}."""
  rng = jax.random.fold_in(rng, state.step)
  x = model_input(batch['x'], codebooks)

  def loss_fn(params):
    (logits, _), new_vars = model.apply({'params': params, **state.variables}, x, train=True,
                                        rngs={'dropout': rng}, mutable=['batch_stats'])
    if model.per_frame:
      logits = per_frame_logits(logits, frames)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch['label']).mean()
    accuracy = (logits.argmax(-1) == batch['label']).mean()
    return loss, (new_vars, dict(loss=loss, accuracy=accuracy))

  grads, (new_vars, stats) = jax.grad(loss_fn, has_aux=True)(state.params)
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  state = state.replace(step=state.step + 1, params=optax.apply_updates(state.params, updates),
                        variables=dict(new_vars), opt_state=opt_state)
  return state, dict(stats, grad_norm=optax.tree.norm(grads))


def make_model(config, grid: views.Grid, classes: int) -> s3d.S3D:
  m = config.model
  return s3d.S3D(classes=classes, time_factor=grid.time, space_factor=grid.space,
                 stem_features=tuple(m.stem_features),
                 code_stem=m.get('code_stem', 'upsampled'), gating=m.gating, dropout=m.dropout,
                 per_frame=config.data.level == 'frame', width=m.width,
                 bn_momentum=m.get('bn_momentum', 0.999))


# ---------------------------------------------------------------------------- inputs


def ensure_codec(config, workdir: str, mesh):
  return encode.ensure_codec(ml_collections.ConfigDict(dict(
      codec_workdir=config.codec.workdir or os.path.join(workdir, 'codec'),
      codec_config=config.codec.config)), mesh)


@dataclasses.dataclass
class ShiftedCodes:
  """Training codes with encode-time shifted copies (`input.shifted_copies`): version v of
  video i, `codes[i, v]`, was encoded from the video shifted by `offsets[i, v]`
  (`views.shift`; version 0 is the unshifted video)."""
  codes: np.ndarray  # [N, V, T', H', W', n_codebooks]
  offsets: np.ndarray  # [N, V, 3]

  def __len__(self):
    return len(self.codes)


def encode_split(codec, store_path: str, split: labeled.LabeledVideos,
                 offsets: np.ndarray | None = None) -> np.ndarray:
  """The split's codes `[N, T', H', W', N_codebooks]`, encoded into the store if missing;
  with `offsets [N, V, 3]`, the codes of each video shifted by each of its offsets,
  `[N, V, T', H', W', N_codebooks]` (stored as `<id>` for (0, 0, 0), `<id>+t.y.x` else).

  A store written by another codec is refused by the store itself (its manifest)."""
  t = codec.model.time_factor
  length = split.videos.shape[1]
  if length % t:
    raise ValueError(f'data.frames={length} must be a multiple of the codec time factor {t}')
  versions = np.zeros((len(split.ids), 1, 3), np.int64) if offsets is None else offsets
  name = lambda vid, o: vid + ('+' + '.'.join(map(str, o)) if any(o) else '')
  sources = ((name(vid, o), iter(views.shift(video, o)),
              dict(source='classify', fps=25.0, frames=length, source_bytes=None))
             for vid, video, offs in zip(split.ids, split.videos, versions) for o in offs)
  encode.encode_all(codec, store_path, sources, window=length)
  store = codes_store.CodesStore.open(store_path, codes_store.codec_manifest(codec))
  codes = np.stack([np.stack([store.read(name(vid, o)) for o in offs])
                    for vid, offs in zip(split.ids, versions)])
  return codes[:, 0] if offsets is None else codes


def decode_all(codec, codes: np.ndarray, batch: int = 16) -> np.ndarray:
  """Reconstructions of `[N, T', H', W', n]` codes as uint8 frames."""
  out = [codec.decode(codes[i:i + batch]) for i in range(0, len(codes), batch)]
  return (np.concatenate(out) * 255).round().astype(np.uint8)


def prepare_inputs(config, workdir: str, mesh):
  """`({split: LabeledVideos}, {split: model inputs}, grid, codebooks, info)`."""
  kind = config.input.kind
  if kind not in INPUTS:
    raise ValueError(f'input.kind must be one of {INPUTS}, got {kind!r}')
  copies = config.input.get('shifted_copies', 0)
  if copies and kind != 'codes':
    raise ValueError(f'input.shifted_copies={copies} is for codes; input.kind is {kind!r}')
  cache = config.data.get('cache_dir') or os.path.join(workdir, 'data')
  splits = {s: labeled.load_split(config.data, s, cache) for s in labeled.SPLITS}
  info = dict(input=kind, cr=1.0)
  if kind == 'rgb':
    return splits, {s: d.videos for s, d in splits.items()}, views.Grid(), None, info
  codec = ensure_codec(config, workdir, mesh)
  if codec.size != config.data.size:
    raise ValueError(f'the codec works at {codec.size}x{codec.size}; data.size is '
                     f'{config.data.size}')
  store_path = config.codec.get('store') or os.path.join(workdir, 'codes')
  codes = {s: encode_split(codec, store_path, d) for s, d in splits.items()}
  info.update(cr=codec.compression_rate(config.data.frames, codec.size, codec.size),
              codec=codec.fingerprint,
              code_bytes=int(sum(c.size for c in codes.values())),
              rgb_bytes=int(sum(d.videos.size for d in splits.values())))
  if kind == 'codes':
    grid = views.Grid(codec.model.time_factor, codec.model.space_factor)
    books = input_codebooks(codec, config.input.codes_as)
    if copies:
      offsets = views.sub_cell_offsets(np.random.default_rng([config.seed, 17]),
                                       len(splits['train'].ids), copies, grid)
      codes['train'] = ShiftedCodes(
          encode_split(codec, store_path, splits['train'], offsets), offsets)
    return splits, codes, grid, books, info
  return splits, {s: decode_all(codec, c) for s, c in codes.items()}, views.Grid(), None, info


# ---------------------------------------------------------------------------- training


def sample_batch(inputs: np.ndarray | ShiftedCodes, data: labeled.LabeledVideos,
                 grid: views.Grid, config, step: int) -> dict:
  """This host's rows of global batch `step`: a pure function of (seed, step)."""
  d = config.data
  rng = np.random.default_rng([config.seed, step])
  host = sharding.host_batch_slice(d.batch_size)
  rows = rng.integers(len(inputs), size=d.batch_size)
  if isinstance(inputs, ShiftedCodes):  # a random version of each video, cut on its grid
    versions = rng.integers(inputs.offsets.shape[1], size=d.batch_size)
    offsets = inputs.offsets[rows, versions]
    boxes = views.random_boxes(rng, d.batch_size, d.frames, d.size, d.clip_frames, d.crop,
                               grid, offsets)[host]
    rows, versions, offsets = rows[host], versions[host], offsets[host]
    x = views.crop(inputs.codes[rows, versions], boxes - offsets, d.clip_frames, d.crop, grid)
  else:
    boxes = views.random_boxes(rng, d.batch_size, d.frames, d.size, d.clip_frames, d.crop,
                               grid)[host]
    rows = rows[host]
    x = views.crop(inputs[rows], boxes, d.clip_frames, d.crop, grid)
  batch = dict(x=x)
  if data.frame_level:
    batch['label'] = np.stack([data.labels[r, int(t):int(t) + d.clip_frames]
                               for r, (t, _, _) in zip(rows, boxes)])
  else:
    batch['label'] = data.labels[rows]
  return batch


def train(config, workdir: str, mesh, inputs, data, grid, codebooks):
  """Trains (or resumes) the classifier; returns `(model, variables)`."""
  model = make_model(config, grid, len(data.classes))
  tx = state_lib.make_optimizer(config.train)
  example = sample_batch(inputs, data, grid, config, 0)['x'][:1]

  def init(rng):
    v = model.init({'params': rng}, model_input(jnp.asarray(example), codebooks))
    return state_lib.create_state(v['params'], {'batch_stats': v['batch_stats']}, tx)

  rng = jax.random.key(config.seed)
  shardings = sharding.state_shardings(mesh, jax.eval_shape(init, rng))
  state = jax.jit(init, out_shardings=shardings)(rng)
  manager = checkpoint.make_manager(workdir, config.train.ckpt_every)
  state = checkpoint.restore_or(manager, state, shardings)
  start = int(state.step)
  logging.info('classify: %s input %s, %s', config.input.kind, example.shape[1:],
               f'resuming at step {start}' if start else 'from scratch')
  step_fn = jax.jit(functools.partial(train_step, model=model, tx=tx,
                                      frames=config.data.clip_frames),
                    in_shardings=(shardings, sharding.batch_sharding(mesh), None, None),
                    out_shardings=(shardings, None), donate_argnums=(0,))
  writer = loop.make_writer(workdir)
  progress = loop.make_progress(config.train.steps, writer)
  history, rng = [], jax.random.key(config.seed + 1)
  for step in range(start, config.train.steps):
    batch = sharding.put_batch(sample_batch(inputs, data, grid, config, step), mesh)
    state, stats = step_fn(state, batch, codebooks, rng)
    history = loop.after_step(step + 1, state, stats, history, writer=writer,
                              progress=progress, manager=manager, train_config=config.train)
  manager.wait_until_finished()
  manager.close()
  writer.flush()
  return model, {'params': state.params, **state.variables}


# ---------------------------------------------------------------------------- testing


def evaluate(config, model, variables, inputs, data, grid, codebooks) -> dict:
  """Multi-view test metrics: video level averages `eval.clips x eval.crops` views per
  video; frame level tiles each video with clips and averages `eval.crops` crops."""
  d, e = config.data, config.eval
  apply = jax.jit(lambda x: model.apply(variables, model_input(x, codebooks))[0])

  def logits_of(rows, boxes):  # view i: video inputs[rows[i]] cut to boxes[i]
    out = []
    for i in range(0, len(boxes), e.batch_size):
      x = views.crop(inputs[rows[i:i + e.batch_size]], boxes[i:i + e.batch_size],
                     d.clip_frames, d.crop, grid)
      out.append(np.asarray(apply(x)))
    return np.concatenate(out)

  length = data.videos.shape[1]
  if not data.frame_level:
    boxes = views.eval_boxes(length, d.size, d.clip_frames, d.crop, e.clips, e.crops)
    per_video = len(boxes)
    logits = logits_of(np.repeat(np.arange(len(inputs)), per_video),
                       np.tile(boxes, (len(inputs), 1)))
    return classification.video_level(classification.average_views(logits, per_video),
                                      data.labels)
  starts = views.covering_starts(length, d.clip_frames)
  crops = views.eval_boxes(d.clip_frames, d.size, d.clip_frames, d.crop, 1, e.crops)
  boxes = np.asarray([(t, y, x) for t in starts for _, y, x in crops])
  frame_logits, labels = [], []
  for index, label in enumerate(data.labels):
    logits = logits_of(np.full(len(boxes), index), boxes)
    logits = classification.frame_logits(logits, d.clip_frames)  # [views, clip, C]
    total = np.zeros((length, logits.shape[-1]))
    count = np.zeros((length, 1))
    for (t, _, _), clip_logits in zip(boxes, logits):
      total[int(t):int(t) + d.clip_frames] += clip_logits
      count[int(t):int(t) + d.clip_frames] += 1
    frame_logits.append(total / count)
    labels.append(label)
  return classification.frame_level(frame_logits, labels)


# ---------------------------------------------------------------------------- the stage


def run_identity(config, info: dict, splits: dict) -> dict:
  identity = {block: config[block].to_dict() for block in ('data', 'input', 'model')}
  identity['train'] = {k: v for k, v in config.train.to_dict().items()
                       if k not in ('log_every', 'ckpt_every')}
  identity.update(seed=config.seed, codec=info.get('codec'),
                  generator=labeled.generator_version(config.data),
                  videos={s: len(d.ids) for s, d in splits.items()})
  return json.loads(json.dumps(identity))


def run(config, workdir: str, mesh):
  started = time.time()
  splits, inputs, grid, codebooks, info = prepare_inputs(config, workdir, mesh)
  checkpoint.claim_workdir(workdir, run_identity(config, info, splits))
  prepared = time.time() - started
  model, variables = train(config, workdir, mesh, inputs['train'], splits['train'], grid,
                           codebooks)
  trained = time.time() - started - prepared
  shape = list(views.crop(inputs['test'][:1], np.zeros((1, 3)), config.data.clip_frames,
                          config.data.crop, grid).shape[1:])
  if codebooks is not None:  # S3D reads each code's N codebook vectors, concatenated
    shape[-1] = codebooks.shape[0] * codebooks.shape[2]
  results = dict(info, level=config.data.level, classes=len(splits['test'].classes),
                 input_shape=shape,
                 test=evaluate(config, model, variables, inputs['test'], splits['test'], grid,
                               codebooks),
                 seconds=dict(prepare=round(prepared), train=round(trained)))
  results['seconds']['total'] = round(time.time() - started)
  atomic_files.write_json(os.path.join(workdir, 'results.json'), results)
  table = results_table([results])
  confusion = confusion_table(results['test']['confusion'], splits['test'].classes)
  atomic_files.write_text(os.path.join(workdir, 'results.md'), f'{table}\n\n{confusion}\n')
  writer = loop.make_writer(workdir)
  writer.write_scalars(config.train.steps, {f'test/{k}': v for k, v in results['test'].items()
                                            if k != 'confusion'})
  writer.write_texts(config.train.steps, {'classify_results': table,
                                          'classify_confusion': confusion})
  writer.flush()
  print(table)


def results_table(rows: list[dict]) -> str:
  """Markdown: one row per run (input, CR, input shape, top-1/top-5 on the test set)."""
  lines = ['| input | CR | S3D input | test top-1 (%) | test top-5 (%) | test videos |',
           '|---|---|---|---|---|---|']
  for r in rows:
    t = r['test']
    std = lambda k: f" ± {t[k + '_std']:.1f}" if k + '_std' in t else ''
    lines.append(f"| {r['input']} | {r['cr']:.0f} | {'x'.join(map(str, r['input_shape']))} | "
                 f"{t['top1']:.1f}{std('top1')} | {t['top5']:.1f}{std('top5')} | "
                 f"{t['videos']} |")
  return '\n'.join(lines)


def confusion_table(counts: list, classes) -> str:
  """Markdown confusion counts: a row per true class, a column per predicted class
  (numbered; the header names them), with each class's recall."""
  names = ' '.join(f'{i}={name}' for i, name in enumerate(classes))
  lines = [f'Confusion (rows: true class, columns: predicted; {names})', '',
           '| true | ' + ' | '.join(map(str, range(len(classes)))) + ' | recall (%) |',
           '|---' * (len(classes) + 2) + '|']
  for i, row in enumerate(counts):
    recall = 100 * row[i] / max(sum(row), 1)
    lines.append(f'| {i} | ' + ' | '.join(map(str, row)) + f' | {recall:.1f} |')
  return '\n'.join(lines)
