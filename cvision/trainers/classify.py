"""The `classify` stage: S3D on RGB clips, on neural codes, or on their reconstructions.

CV §4.3 (video level, Kinetics-style top-1/top-5) and §4.4 (frame level, COIN-style
per-frame top-1/top-5, mean ± std over test videos), with the inputs of Table 6:
`input.kind` 'rgb' (the baseline), 'codes' (each code one-hot or as its codebook
vectors, `input.codes_as`, through S3D's code stem) or 'recon' (the codes decoded back
to pixels). Training takes one random view (clip in time, crop in space) per video;
testing averages the logits of `eval.clips` x `eval.crops` views.
"""
import functools
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from cvision import atomic_files, errors, progress
from cvision.data import classify_inputs, labeled, views
from cvision.evaluators import classification
from cvision.models import augmenter as augmenter_lib
from cvision.tasks import augment
from cvision.tasks import classify as task
from cvision.train_lib import checkpoint, multihost, scaffold, sharding, state as state_lib


def _view_args(augmenter, mesh=None):
  """What the jitted steps take of the augmenter: its weights and the codec's codebooks
  (replicated over `mesh` when given)."""
  if augmenter is None:
    return None
  args = dict(params=augmenter.params, codebooks=augmenter.codebooks)
  return args if mesh is None else jax.device_put(args, sharding.replicated(mesh))


def build(config, workdir: str, mesh, prepared: classify_inputs.Inputs, codebooks,
          augmenter=None):
  """`(run, state, step_fn, model)`: S3D's state made or restored, and its jitted step;
  with `augmenter`, the step makes its views of the codes (`input.learned_kinds`)."""
  data = prepared.splits['train']
  model = task.make_model(config, prepared.grid, len(data.classes))
  example = classify_inputs.sample_batch(prepared.inputs['train'], data, prepared.grid,
                                         config, 0)['x'][:1]
  make_views = None if augmenter is None else functools.partial(
      augment.random_views, model=augmenter.model, side=config.data.crop / config.data.size,
      kinds=tuple(config.input.learned_kinds), as_vectors=_as_vectors(config))
  example = jnp.asarray(example)
  if make_views is not None:  # S3D is built for the views it will see
    example, _ = make_views(_view_args(augmenter), example, jax.random.key(0))
  init = task.init_fn(model, state_lib.make_optimizer(config.train), example, codebooks)
  run = scaffold.TrainRun(workdir, mesh, config.shard_rules)
  state, shardings = run.initial_state(init, jax.random.key(config.seed))
  whole = sharding.replicated(mesh)
  step = jax.jit(functools.partial(task.train_step, model=model,
                                   frames=config.data.clip_frames, make_views=make_views,
                                   mirror=tuple(labeled.mirrored_classes(data.classes))),
                 in_shardings=(shardings, sharding.batch_sharding(mesh), whole, whole, whole),
                 out_shardings=(shardings, whole), donate_argnums=(0,))
  rng = jax.random.key(config.seed + 1)
  view_args = _view_args(augmenter, mesh)
  return run, state, lambda state, batch: step(state, batch, codebooks, view_args, rng), model


def train(config, workdir: str, mesh, prepared: classify_inputs.Inputs, codebooks,
          augmenter=None):
  """Trains (or resumes) the classifier; returns `(model, variables)`."""
  run, state, step_fn, model = build(config, workdir, mesh, prepared, codebooks, augmenter)
  data, grid = prepared.splits['train'], prepared.grid
  batches = classify_inputs.train_batches(prepared.inputs['train'], data, grid, config,
                                         run.start, config.train.steps)
  state = run.loop(state, step_fn, batches, config.train, name='train S3D',
                   examples_per_step=config.data.batch_size,
                   schedule=state_lib.make_schedule(config.train))
  run.close()
  return model, {'params': state.params, **state.variables}


def _as_vectors(config) -> bool:
  """Whether S3D reads the augmenter's views as vectors (`augment.augment_views`)."""
  return config.input.codes_as == 'vectors'


def _apply(model, variables, x, codebooks, view_args=None, theta=None, corners=None, *,
           augmenter_model=None, cells=None, mirror=None, as_vectors=False):
  if theta is not None:  # the augmenter's view of the codes
    x = augment.augment_views(view_args['params'], x, theta, view_args['codebooks'],
                              model=augmenter_model, as_vectors=as_vectors)
  if corners is not None:  # then cut to its nearest-cell crop
    x = augment.cell_crops(x, corners, cells)
  logits = model.apply(variables, task.model_input(x, codebooks))[0]
  if theta is None:
    return logits
  # A flipped view's pan_right is the video's pan_left: back to the video's classes.
  flipped = augment.flipped(theta).reshape((-1,) + (1,) * (logits.ndim - 1))
  return jnp.where(flipped, logits[..., jnp.asarray(mirror)], logits)


def _cut_after(config) -> bool:
  """Whether learned views are cut to their crop after the augmenter (which then makes
  no crop, only the other kinds of the whole frame)."""
  return config.input.augment == 'learned' and 'crop' not in config.input.learned_kinds


def test_views(config, length: int, clips: int, grid=views.Grid()):
  """`(boxes, thetas, corners)` of the views each test video is pooled over: `clips`
  (or, for `clips` None, clips covering every frame) x `eval.crops` crops, each box
  `(t, y, x)` with, for learned views, the augmenter's θ (`eval.flips` per crop; the box
  then spans the frame) and, when the crop is cut after it, each crop's first cells
  `(row, column)` on `grid` (the same cells as `nn_crop`'s test crops). thetas and
  corners are None where they do not apply."""
  d, e = config.data, config.eval
  learned = config.input.augment == 'learned'
  size = classify_inputs.view_size(config)
  if clips is None:
    times = np.asarray(views.covering_starts(length, d.clip_frames), np.float64)
  else:
    times = views.eval_boxes(length, d.size, d.clip_frames, size, clips, 1)[:, 0]
  if learned:
    thetas = augment.test_thetas(e.crops, e.flips, d.crop / d.size)
    boxes = np.asarray([(t, 0, 0) for t in times for _ in thetas], np.float64)
    corners = None
    if _cut_after(config):
      thetas[:, augment.SLOTS['crop']] = augmenter_lib.IDENTITY[augment.SLOTS['crop']]
      cells, span = d.size // grid.space, augment.crop_cells(d.crop / d.size, d.size // grid.space)
      starts = views.eval_boxes(d.clip_frames, d.size, d.clip_frames, d.crop, 1, e.crops)[:, 1]
      firsts = [views.first_cell(c, grid.space, cells, span) for c in starts]
      corners = np.tile(np.repeat([(c, c) for c in firsts], e.flips, 0), (len(times), 1))
    return boxes, np.tile(thetas, (len(times), 1)), corners
  if e.flips != 1:
    raise errors.ConfigError('eval.flips pools over the latent augmenter\'s flips: it needs '
                             "input.augment='learned'")
  crops = 1 if config.input.augment == 'none' else e.crops
  corners = views.eval_boxes(d.clip_frames, d.size, d.clip_frames, size, 1, crops)[:, 1:]
  return np.asarray([(t, y, x) for t in times for y, x in corners], np.float64), None, None


def evaluate(config, model, variables, inputs, data, grid, codebooks, augmenter=None) -> dict:
  """Multi-view test metrics: video level averages `eval.clips x eval.crops` views per
  video (x `eval.flips` for learned views); frame level tiles each video with clips and
  averages the views of each."""
  d, e = config.data, config.eval
  size = classify_inputs.view_size(config)
  apply = jax.jit(functools.partial(
      _apply, model, augmenter_model=augmenter.model if augmenter else None,
      cells=augment.crop_cells(d.crop / d.size, d.size // grid.space),
      mirror=tuple(labeled.mirrored_classes(data.classes)), as_vectors=_as_vectors(config)))
  view_args = _view_args(augmenter)

  def logits_of(videos, rows, boxes, thetas, corners):  # view i: videos[rows[i]] at boxes[i]
    out = []
    for i in range(0, len(boxes), e.batch_size):
      x = views.crop(videos[rows[i:i + e.batch_size]], boxes[i:i + e.batch_size],
                     d.clip_frames, size, grid)
      theta, corner = (None if a is None else jnp.asarray(a[i:i + e.batch_size])
                       for a in (thetas, corners))
      out.append(np.asarray(apply(variables, x, codebooks, view_args, theta, corner)))
    return np.concatenate(out)

  inputs = classify_inputs.as_videos(inputs)
  length = data.frames
  if not data.frame_level:
    boxes, thetas, corners = test_views(config, length, e.clips, grid)
    per_video = len(boxes)
    group = max(1, e.batch_size // per_video)  # videos read at a time: memory stays bounded
    logits = []
    for first in range(0, len(inputs), group):
      videos = np.stack([inputs.video(i) for i in range(first, min(first + group, len(inputs)))])
      logits.append(logits_of(videos, np.repeat(np.arange(len(videos)), per_video),
                              *(None if a is None else np.tile(a, (len(videos), 1))
                                for a in (boxes, thetas, corners))))
    return classification.video_level(
        classification.average_views(np.concatenate(logits), per_video), data.labels)
  boxes, thetas, corners = test_views(config, length, None, grid)
  frame_logits, labels = [], []
  for index, label in enumerate(progress.bar(data.labels, 'test', 'video')):
    logits = logits_of(inputs.video(index)[None], np.zeros(len(boxes), int), boxes, thetas,
                       corners)
    logits = classification.frame_logits(logits, d.clip_frames)  # [views, clip, C]
    total = np.zeros((length, logits.shape[-1]))
    count = np.zeros((length, 1))
    for (t, _, _), clip_logits in zip(boxes, logits):
      total[int(t):int(t) + d.clip_frames] += clip_logits
      count[int(t):int(t) + d.clip_frames] += 1
    frame_logits.append(total / count)
    labels.append(label)
  return classification.frame_level(frame_logits, labels)


def run_identity(config, info: dict, splits: dict) -> dict:
  """What makes a run's checkpoints and results its own."""
  identity = {block: config[block].to_dict() for block in ('data', 'input', 'model')}
  identity['train'] = {k: v for k, v in config.train.to_dict().items()
                       if k not in ('log_every', 'ckpt_every')}
  identity.update(seed=config.seed, codec=info.get('codec'),
                  generator=labeled.generator_version(config.data),
                  videos={s: len(d.ids) for s, d in splits.items()})
  return json.loads(json.dumps(identity))


def run(config, workdir: str, mesh, load_codec, load_augmenter=None):
  started = time.time()
  d, learned = config.data, config.input.augment == 'learned'
  print(f'classify: S3D on {config.input.kind} ({d.level} level, {d.source}), '
        f'{config.input.augment} views'
        + (f' ({"+".join(config.input.learned_kinds)})' if learned else '')
        + f'; {config.train.steps} steps in {workdir}')
  prepared = classify_inputs.prepare(config, workdir, load_codec)
  codebooks = (task.input_codebooks(prepared.codec, config.input.codes_as)
               if config.input.kind == 'codes' else None)
  _, test_thetas, _ = test_views(config, d.frames, 1)  # a bad eval block fails now
  augmenter = load_augmenter() if learned else None
  if augmenter is not None:  # every view within what it was trained on, before training
    augmenter.ranges.check(test_thetas)
    prepared.info['augmenter'] = augmenter.fingerprint
  checkpoint.claim_workdir(workdir, run_identity(config, prepared.info, prepared.splits))
  prepared_s = time.time() - started
  model, variables = train(config, workdir, mesh, prepared, codebooks, augmenter)
  trained_s = time.time() - started - prepared_s
  test, grid = prepared.splits['test'], prepared.grid
  shape = list(classify_inputs.read_view(classify_inputs.as_videos(prepared.inputs['test']), 0,
                                         np.zeros(3), config, grid).shape)
  if _cut_after(config):
    shape[1] = shape[2] = augment.crop_cells(d.crop / d.size, shape[1])
  if codebooks is not None:  # S3D reads each code's N codebook vectors, concatenated
    shape[-1] = codebooks.shape[0] * codebooks.shape[2]
  results = dict(prepared.info, level=d.level, classes=len(test.classes), input_shape=shape,
                 test=evaluate(config, model, variables, prepared.inputs['test'], test, grid,
                               codebooks, augmenter),
                 views=dict(augment=config.input.augment, crops=config.eval.crops,
                            flips=config.eval.flips,
                            learned_kinds=list(config.input.learned_kinds) if learned else []),
                 seconds=dict(prepare=round(prepared_s), train=round(trained_s)))
  results['seconds']['total'] = round(time.time() - started)
  _write_results(config, workdir, results, test.classes)


def _write_results(config, workdir, results, classes):
  table = classification.results_table([results])
  confusion = classification.confusion_table(results['test']['confusion'], classes)
  if multihost.is_primary():  # every host tests alike; its timings are its own
    atomic_files.write_json(os.path.join(workdir, 'results.json'), results)
    atomic_files.write_text(os.path.join(workdir, 'results.md'), f'{table}\n\n{confusion}\n')
  writer = scaffold.make_writer(workdir)
  writer.write_scalars(config.train.steps, {f'test/{k}': v for k, v in results['test'].items()
                                            if k != 'confusion'})
  writer.write_texts(config.train.steps, {'classify_results': table,
                                          'classify_confusion': confusion})
  writer.close()
  print(table)
