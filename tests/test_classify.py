"""Classification: procedural data, views on RGB and code grids, multi-view and per-frame
metrics, label alignment, labelled folders and TFDS, codes-store refusal, paper shapes."""
import csv

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvision import configs
from cvision.data import actions, classify_inputs, codes_store, labeled, video_io, views
from cvision.evaluators import classification
from cvision.models import s3d
from cvision.tasks import classify


def test_procedural_videos_are_deterministic_and_labelled():
  scenes = actions.Scenes(seed=3, size=32)
  video, label = scenes.clip(5, frames=12)
  again, label_again = actions.Scenes(seed=3, size=32).clip(5, frames=12)
  assert video.shape == (12, 32, 32, 3) and video.dtype == np.uint8
  np.testing.assert_array_equal(video, again)
  assert label == label_again and 0 <= label < len(actions.MOTIONS)
  assert not np.array_equal(video[0], video[-1])  # it moves


@pytest.mark.parametrize('motion', ['pan_left', 'tilt_down', 'zoom_in', 'roll'])
def test_camera_motions_are_visible_in_every_scene(motion):
  # Photo discs over every scene: no view is so smooth that the camera's motion vanishes
  # (before them, a pan over a sky or a gradient looked like a still shot).
  scenes = actions.Scenes(seed=7, size=64)
  for index in range(12):
    rng = np.random.default_rng([7, 1, index])
    shot, scene = scenes._start(rng)
    video = scenes._play(rng, shot, scene, [(motion, 8)]).astype(np.float32)
    changed = np.abs(video[-1] - video[0]).mean(-1) > 8  # pixels visibly changed
    # Measured: 0.22-0.55 with the discs; a zoom over a plain photo changed 0.05.
    assert changed.mean() > 0.15, (motion, index, changed.mean())


def test_frame_level_steps():
  scenes = actions.Scenes(seed=3, size=32)
  frames, labels = scenes.steps(2, frames=40, steps=3, min_step=8)
  assert frames.shape[0] == labels.shape[0] == 40
  changes = np.flatnonzero(np.diff(labels)) + 1
  assert len(changes) == 2  # three steps, each unlike the one before
  assert np.diff(np.concatenate([[0], changes, [40]])).min() >= 8
  with pytest.raises(ValueError, match='do not fit'):
    scenes.steps(0, frames=20, steps=3, min_step=8)


def _block_codes(video, t, s):
  """A stand-in 'codec': the mean of each t x s x s block (cells of the code grid)."""
  n, f, h, w, c = video.shape
  return video.reshape(n, f // t, t, h // s, s, w // s, s, c).mean((2, 4, 6))


def test_a_box_cuts_rgb_and_code_grids_alike():
  rng = np.random.default_rng(0)
  video = rng.random((2, 16, 32, 32, 3))
  grid = views.Grid(time=4, space=8)
  codes = _block_codes(video, 4, 8)
  boxes = views.random_boxes(rng, 2, 16, 32, frames=8, size=16, grid=grid)
  assert (boxes[:, 0] % 4 == 0).all() and (boxes[:, 1:] % 8 == 0).all()
  rgb_views = views.crop(video, boxes, 8, 16)
  code_views = views.crop(codes, boxes, 8, 16, grid)
  assert code_views.shape == (2, 2, 2, 2, 3)
  np.testing.assert_allclose(code_views, _block_codes(rgb_views, 4, 8))
  # Off the grid, the code crop takes the nearest cells: 11 pixels -> cell 1 (8..16).
  off = views.crop(codes, np.asarray([[1, 11, 3], [3, 3, 13]]), 8, 16, grid)
  np.testing.assert_array_equal(off[0], codes[0, 0:2, 1:3, 0:2])
  np.testing.assert_array_equal(off[1], codes[1, 1:3, 0:2, 2:4])
  with pytest.raises(ValueError, match='grid'):
    views.crop(codes, boxes, 6, 16, grid)


def test_eval_boxes_and_covering_windows():
  boxes = views.eval_boxes(length=24, side=64, frames=16, size=56, clips=2, crops=3)
  assert boxes.tolist() == [[0, 0, 0], [0, 4, 4], [0, 8, 8], [8, 0, 0], [8, 4, 4], [8, 8, 8]]
  assert views.eval_boxes(24, 64, 16, 56, 1, 1).tolist() == [[4, 4, 4]]
  assert views.covering_starts(64, 16) == [0, 16, 32, 48]
  assert views.covering_starts(40, 16) == [0, 16, 24]


def test_multi_view_averaging_and_topk():
  # Video 0: two views that disagree, the mean favours class 2; video 1: class 0.
  logits = np.asarray([[0, 1, 3], [0, 2, 0.5], [5, 0, 0], [1, 2, 0]], np.float64)
  mean = classification.average_views(logits, 2)
  np.testing.assert_allclose(mean, [[0, 1.5, 1.75], [3, 1, 0]])
  result = classification.video_level(mean, np.asarray([2, 1]))
  assert result['top1'] == 50 and result['top5'] == 100
  assert result['confusion'] == [[0, 0, 0], [1, 0, 0], [0, 0, 1]]  # true 1 read as 0
  table = classification.confusion_table(result['confusion'], ('a', 'b', 'c'))
  assert '0=a 1=b 2=c' in table and '| 1 | 1 | 0 | 0 | 0.0 |' in table
  assert '| 2 | 0 | 0 | 1 | 100.0 |' in table
  assert classification.topk_correct(mean, np.asarray([1, 1]), 2).tolist() == [True, True]
  with pytest.raises(ValueError):
    classification.average_views(logits, 3)


def test_frame_level_label_alignment_after_temporal_striding():
  # A clip of 16 frames, S3D's per-frame head gives 2 steps (stride 8 in time) for RGB
  # and for codes (time factor 4: stem strides removed). Step i covers frames 8i..8i+7.
  for grid, shape in ((views.Grid(), (1, 16, 32, 32, 3)), (views.Grid(4, 8), (1, 4, 4, 4, 8))):
    model = s3d.S3D(classes=5, time_factor=grid.time, space_factor=grid.space,
                    per_frame=True, width=0.125, stem_features=(8, 8))
    x = jnp.zeros(shape)
    variables = model.init(jax.random.key(0), x)
    assert model.apply(variables, x)[0].shape == (1, 2, 5)
  steps = np.asarray([[[9, 0, 0], [0, 0, 9]]], np.float64)  # step 0 -> class 0, 1 -> 2
  per_frame = classification.frame_logits(steps, 16)
  assert per_frame.argmax(-1).tolist() == [[0] * 8 + [2] * 8]
  np.testing.assert_array_equal(classify.per_frame_logits(jnp.asarray(steps), 16), per_frame)
  labels = [np.asarray([0] * 8 + [2] * 6 + [1] * 2)]
  result = classification.frame_level([per_frame[0]], labels)
  assert result['top1'] == pytest.approx(100 * 14 / 16) and result['top1_std'] == 0
  assert result['confusion'] == [[8, 0, 0], [0, 0, 2], [0, 0, 6]]  # frames, not clips


def test_training_batches_take_labels_of_the_frames_they_show():
  """For codes (4 frames a cell), a batch's code crop starts at t / 4 and its per-frame
  labels are those of frames t .. t + clip_frames."""
  config = configs.classify.quick('codes', None, 'frames,smoke')
  config.data.update(frames=32, clip_frames=16, size=32, crop=16, batch_size=4)
  rng = np.random.default_rng(1)
  n = 5
  codes = rng.integers(0, 64, size=(n, 8, 4, 4, 2)).astype(np.uint8)
  labels = rng.integers(0, 10, size=(n, 32)).astype(np.int32)
  data = labeled.in_memory([str(i) for i in range(n)], np.zeros((n, 32, 32, 32, 3), np.uint8),
                           labels, actions.MOTIONS)
  grid = views.Grid(4, 8)
  batch = classify_inputs.sample_batch(codes, data, grid, config, step=3)
  again = classify_inputs.sample_batch(codes, data, grid, config, step=3)
  np.testing.assert_array_equal(batch['x'], again['x'])
  assert batch['x'].shape == (4, 4, 2, 2, 2) and batch['label'].shape == (4, 16)
  matched = 0
  for x, y in zip(batch['x'], batch['label']):
    for r in range(n):
      for t in range(0, 17, 4):
        for cy in range(3):
          for cx in range(3):
            if (np.array_equal(x, codes[r, t // 4:t // 4 + 4, cy:cy + 2, cx:cx + 2])
                and np.array_equal(y, labels[r, t:t + 16])):
              matched += 1
              break
  assert matched >= 4


def test_shifted_copies_give_training_crops_between_the_code_cells():
  """Each pixel holds its own (t, y, x); a stand-in codec keeps each cell's first pixel,
  so a code crop says exactly which part of the video it shows."""
  n, grid = 3, views.Grid(2, 4)
  t, y, x = np.meshgrid(np.arange(8), np.arange(16), np.arange(16), indexing='ij')
  video = np.stack([t, y, x], -1).astype(np.int64)
  shifted = views.shift(video, (1, 2, 3))
  np.testing.assert_array_equal(shifted[:7, :14, :13], video[1:, 2:, 3:])
  assert (shifted[7:] == shifted[6:7]).all() and (shifted[:, 14:] == shifted[:, 13:14]).all()
  assert (shifted[:, :, 13:] == shifted[:, :, 12:13]).all()  # the far edges repeated
  offsets = views.sub_cell_offsets(np.random.default_rng(0), n, 3, grid)
  assert offsets.shape == (n, 4, 3) and (offsets[:, 0] == 0).all()
  assert (offsets < [2, 4, 4]).all() and (offsets >= 0).all()
  assert all(len({tuple(o) for o in offs}) == 4 for offs in offsets)
  with pytest.raises(ValueError, match='31 other offsets'):
    views.sub_cell_offsets(np.random.default_rng(0), n, 32, grid)
  codes = np.stack([[views.shift(video, o)[::2, ::4, ::4] for o in offs] for offs in offsets])
  inputs = classify_inputs.ShiftedCodes(codes, offsets)
  config = configs.classify.quick('codes', None, 'frames,smoke')
  config.data.update(frames=8, clip_frames=4, size=16, crop=8, batch_size=8)
  labels = np.arange(n)[:, None] * 100 + np.arange(8)  # video r, frame t: 100 r + t
  data = labeled.in_memory(list('abc'), np.zeros((n, 8, 16, 16, 3), np.uint8), labels,
                           actions.MOTIONS)
  starts = []
  for step in range(20):
    batch = classify_inputs.sample_batch(inputs, data, grid, config, step)
    assert batch['x'].shape == (8, 2, 2, 2, 3)
    for view, label in zip(batch['x'], batch['label']):
      t0, y0, x0 = view[0, 0, 0]
      np.testing.assert_array_equal(label, labels[label[0] // 100, t0:t0 + 4])
      # The view is the box's own pixels on its grid, none of them a repeated edge.
      np.testing.assert_array_equal(view, video[t0:t0 + 4:2, y0:y0 + 8:4, x0:x0 + 8:4])
      starts.append((t0 % 2, y0 % 4, x0 % 4))
  assert len(set(starts)) > 4  # crops off the cell grid, several offsets
  config = configs.classify.quick('rgb', None, 'smoke')
  config.input.shifted_copies = 2
  with pytest.raises(ValueError, match='shifted_copies=2 is for codes'):
    classify_inputs.prepare(config, 'unused', None)


def _write_clip(path, frames=12, size=40, seed=0):
  rng = np.random.default_rng(seed)
  video_io.write_video(str(path), rng.integers(0, 255, (frames, size, size, 3), np.uint8))


def _folder_config(root, level='video', frames=8):
  config = configs.base('classify').data
  config.update(source=str(root), level=level, frames=frames, size=32, num_train=0,
                num_test=0)
  return config


def test_folder_with_labels_video_and_frame_level(tmp_path):
  for split in ('train', 'test'):
    (tmp_path / split).mkdir()
  _write_clip(tmp_path / 'train' / 'a.mp4')
  _write_clip(tmp_path / 'train' / 'b.mp4', seed=1)
  with open(tmp_path / 'labels.csv', 'w', newline='') as f:
    csv.writer(f).writerows([['video', 'label'], ['a.mp4', 'jump'], ['b.mp4', 'run']])
  train = labeled.load_split(_folder_config(tmp_path), 'train', str(tmp_path / 'cache'))
  assert train.ids == ['train_a', 'train_b'] and train.classes == ('jump', 'run')
  assert train.labels.tolist() == [0, 1] and train.video(1).shape == (8, 32, 32, 3)
  # Frame level: segments in seconds at 25 fps; frames in no segment are background.
  with open(tmp_path / 'labels.csv', 'w', newline='') as f:
    csv.writer(f).writerows([['video', 'start', 'end', 'label'], ['a.mp4', 0.08, 0.2, 'cut'],
                             ['b.mp4', 0, 0.12, 'stir'], ['b.mp4', 0.2, 1, 'cut']])
  train = labeled.load_split(_folder_config(tmp_path, 'frame'), 'train', str(tmp_path / 'c'))
  assert train.classes == ('background', 'cut', 'stir')
  assert train.labels.tolist() == [[0, 0, 1, 1, 1, 0, 0, 0], [2, 2, 2, 0, 0, 1, 1, 1]]
  _write_clip(tmp_path / 'train' / 'c.mp4')
  with pytest.raises(ValueError, match='c.mp4 has no row'):
    labeled.load_split(_folder_config(tmp_path, 'frame'), 'train', str(tmp_path / 'c'))
  (tmp_path / 'train' / 'c.mp4').unlink()
  with pytest.raises(video_io.VideoError, match='fewer than data.frames'):
    labeled.load_split(_folder_config(tmp_path, 'frame', frames=20), 'train',
                       str(tmp_path / 'c'))


def test_tfds_source_reads_videos_and_class_names(tmp_path):
  import tensorflow_datasets as tfds
  config = configs.base('classify').data
  config.update(source='tfds:ucf101', level='video', frames=6, size=16, frame_stride=2,
                num_train=2, num_test=2)
  with tfds.testing.mock_data(num_examples=3):
    split = labeled.load_split(config, 'train', str(tmp_path))
    assert split.video(1).shape == (6, 16, 16, 3) and len(split.ids) == 2
  assert split.classes[0] == 'ApplyEyeMakeup' and (split.labels < 101).all()


def test_split_index_is_cached_videos_are_read_on_demand(tmp_path, monkeypatch):
  """The index is built once per settings; a video is rendered on first use, then read
  from its cached file; nothing else is rendered."""
  config = configs.classify.quick('rgb', None, 'smoke').data
  config.update(num_train=2, num_test=3, size=32, frames=8)
  first = labeled.load_split(config, 'test', str(tmp_path))
  scenes = actions.Scenes(6000, 32)
  assert first.labels.tolist() == [scenes.clip(i, 8)[1] for i in range(3)]
  rendered = []
  original = actions.Scenes.clip
  monkeypatch.setattr(actions.Scenes, 'clip',
                      lambda self, i, n: rendered.append(i) or original(self, i, n))
  again = labeled.load_split(config, 'test', str(tmp_path))
  assert again.ids == first.ids and again.classes == actions.MOTIONS
  video = again.video(2)
  np.testing.assert_array_equal(video, scenes.clip(2, 8)[0])
  np.testing.assert_array_equal(again.video(2), video)
  assert rendered == [2, 2]  # once by the split (then cached), once by this test
  config.seed_offset = 1
  other = labeled.load_split(config, 'test', str(tmp_path))
  assert not np.array_equal(other.video(2), video)
  assert len(list(tmp_path.glob('*.index.json'))) == 2
  monkeypatch.setattr(actions, 'VERSION', actions.VERSION + 1)  # the generator changed
  labeled.load_split(config, 'test', str(tmp_path))
  assert len(list(tmp_path.glob('*.index.json'))) == 3  # not the cached videos of the old one


def test_frame_level_index_labels_equal_the_rendered_ones(tmp_path):
  config = configs.classify.quick('rgb', None, 'frames,smoke').data
  config.update(num_train=2, num_test=2, size=32)
  split = labeled.load_split(config, 'train', str(tmp_path))
  scenes = actions.Scenes(5000, 32)
  for i in range(2):
    _, labels = scenes.steps(i, config.frames, config.steps, config.min_step_frames)
    np.testing.assert_array_equal(split.labels[i], labels)


def test_training_batches_through_tf_data_equal_sample_batch(tmp_path):
  config = configs.classify.quick('rgb', None, 'smoke')
  config.data.update(num_train=5, size=32, frames=8, clip_frames=4, crop=16, batch_size=4)
  split = labeled.load_split(config.data, 'train', str(tmp_path))
  streamed = list(classify_inputs.train_batches(split, split, views.Grid(), config, 2, 5))
  assert len(streamed) == 3
  for step, batch in zip(range(2, 5), streamed):
    expected = classify_inputs.sample_batch(split, split, views.Grid(), config, step)
    np.testing.assert_array_equal(batch['x'], expected['x'])
    np.testing.assert_array_equal(batch['label'], expected['label'])


def test_a_codes_store_of_another_codec_is_refused(tiny_codec, tmp_path):
  videos = np.random.default_rng(0).integers(0, 255, (2, 4, 32, 32, 3), np.uint8)
  data = labeled.in_memory(['v0', 'v1'], videos, np.asarray([0, 1]), ('a', 'b'))
  stored = classify_inputs.encode_split(tiny_codec, str(tmp_path / 'codes'), data)
  codes = np.stack([stored.video(i) for i in range(len(stored))])
  assert codes.shape == (2, 2, 8, 8, 2)
  np.testing.assert_array_equal(codes, tiny_codec.encode(videos))
  other = tiny_codec.__class__(tiny_codec.model, jax.tree.map(lambda p: p + 1, tiny_codec.params),
                               tiny_codec.variables, 32, 0, 'another-fingerprint')
  with pytest.raises(codes_store.CodesStoreError, match='codec'):
    classify_inputs.encode_split(other, str(tmp_path / 'codes'), data)
  offsets = np.asarray([[[0, 0, 0], [1, 2, 3]], [[0, 0, 0], [0, 3, 1]]])
  copies = classify_inputs.encode_split(tiny_codec, str(tmp_path / 'codes'), data, offsets)
  assert copies.shape == (2, 2, 2, 8, 8, 2)
  np.testing.assert_array_equal(copies[:, 0], codes)  # the unshifted entries, reused
  for i in range(2):
    np.testing.assert_array_equal(copies[i, 1],
                                  tiny_codec.encode(views.shift(videos[i], offsets[i, 1])[None])[0])


def test_codes_can_be_read_one_hot(tiny_codec):
  books = np.asarray(classify.input_codebooks(tiny_codec, 'onehot'))
  n, k = tiny_codec.codebooks.shape[:2]
  assert books.shape == (n, k, k)
  codes = np.random.default_rng(0).integers(0, k, (1, 2, 3, 3, n))
  x = np.asarray(classify.model_input(jnp.asarray(codes), jnp.asarray(books)))
  assert x.shape == (1, 2, 3, 3, n * k)
  for i in range(n):  # codebook i's entry is the one hot position of its block of k
    np.testing.assert_array_equal(x[..., i * k:(i + 1) * k].argmax(-1), codes[..., i])
  np.testing.assert_array_equal(x.sum(-1), n)
  with pytest.raises(ValueError, match='codes_as'):
    classify.input_codebooks(tiny_codec, 'one-hot')


def test_s3d_reads_standardised_codebook_vectors(tiny_codec):
  books = np.asarray(classify.input_codebooks(tiny_codec))
  raw = np.asarray(tiny_codec.codebooks)
  assert books.shape == raw.shape
  np.testing.assert_allclose(books.mean(1), 0, atol=1e-5)
  np.testing.assert_allclose(books.std(1), 1, atol=1e-3)
  # A fixed affine map per channel: the raw vectors come back from the standardised ones.
  scale, shift = raw.std(1, keepdims=True), raw.mean(1, keepdims=True)
  np.testing.assert_allclose(books * scale + shift, raw, atol=1e-5)
  codes = np.random.default_rng(0).integers(0, raw.shape[1], (1, 2, 3, 3, raw.shape[0]))
  x = np.asarray(classify.model_input(jnp.asarray(codes), jnp.asarray(books)))
  assert x.shape == (1, 2, 3, 3, raw.shape[0] * raw.shape[2])
  np.testing.assert_allclose(x[..., :raw.shape[2]], books[0][codes[..., 0]], atol=1e-6)


@pytest.mark.parametrize('name,variant,shape', [
    ('k600', 'rgb', (32, 224, 224, 3)),
    ('k600', 'cr30', (32, 56, 56, 256)),  # codec_cr30: 1/4 of the side, every frame
    ('k600', 'cr256', (8, 28, 28, 256)),  # codec_cr256: 1/8 of the side, 1/4 of the frames
    ('coin', 'rgb', (32, 224, 224, 3)),
])
def test_paper_size_configs_train_step_shapes(name, variant, shape):
  """The paper-size configs build S3D at full width; one train step traces to the right
  shapes (abstractly: no compilation or memory of that size on CPU)."""
  config = configs.classify.paper(name, variant)
  if variant == 'rgb':
    grid = views.Grid()
  else:
    codec = configs.load(config.codec.config).model
    grid = views.Grid(2 ** codec.temporal_downsamples, 2 ** codec.down_blocks)
    assert shape[-1] == codec.codebooks * codec.code_dim
    assert config.input.codes_as == 'vectors'  # the paper's input at paper size
  classes = 600 if name == 'k600' else 700
  model = classify.make_model(config, grid, classes)
  assert model.width == 1.0
  x = jax.ShapeDtypeStruct((2, *shape), jnp.float32)
  variables = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros(x.shape)))
  (logits, ends) = jax.eval_shape(lambda v, x: model.apply(v, x), variables, x)
  expected = (2, 4, classes) if name == 'coin' else (2, classes)
  assert logits.shape == expected
  assert ends['Mixed_5c'].shape == (2, 4, 7, 7, 1024)  # the RGB network's (CV Figs. 13-14)


def test_sharded_step_equals_single_device(tmp_path):
  """One S3D step on 1 device, and on 4 x 2 devices with the conv kernels' output
  channels split over `model`: the same parameters and batch statistics."""
  from cvision.train_lib import sharding  # pylint: disable=g-import-not-at-top
  from cvision.trainers import classify as trainer  # pylint: disable=g-import-not-at-top
  config = configs.classify.quick('rgb', None, 'smoke')
  config.data.batch_size = 8
  rng = np.random.default_rng(0)
  videos = rng.integers(0, 255, (6, 24, 64, 64, 3), np.uint8)
  data = labeled.in_memory([str(i) for i in range(6)], videos,
                           rng.integers(0, 10, 6).astype(np.int32), actions.MOTIONS)
  prepared = classify_inputs.Inputs(dict(train=data, test=data), dict(train=videos, test=videos),
                                    views.Grid(), None, {})
  batch = classify_inputs.sample_batch(videos, data, views.Grid(), config, 0)
  results = []
  for name, devices, axes, rules in (
      ('one', jax.devices()[:1], (('data', 1),), ()),
      ('eight', jax.devices(), (('data', 4), ('model', 2)), ((r'.*/kernel', 'model'),))):
    config.shard_rules = rules
    mesh = sharding.make_mesh(axes, devices)
    run, state, step_fn, _ = trainer.build(config, str(tmp_path / name), mesh, prepared, None)
    state, metrics = step_fn(state, sharding.put_batch(batch, mesh))
    run.close()
    if rules:
      assert any('model' in tuple(x.sharding.spec) for x in jax.tree.leaves(state.params))
    results.append((jax.device_get((state.params, state.variables)), float(metrics['loss'])))
  (one, one_loss), (eight, eight_loss) = results
  assert one_loss == pytest.approx(eight_loss, rel=1e-5)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5), one, eight)


def test_a_large_split_renders_nothing_until_read(tmp_path, monkeypatch):
  """A split of 5,000 videos is an index: no video is made until a batch reads it, and a
  batch reads only its own rows."""
  config = configs.classify.quick('rgb', None, 'smoke')
  config.data.update(num_train=5000, size=32, frames=8, clip_frames=4, crop=16, batch_size=4)
  rendered = []
  original = actions.Scenes.clip
  monkeypatch.setattr(actions.Scenes, 'clip',
                      lambda self, i, n: rendered.append(i) or original(self, i, n))
  split = labeled.load_split(config.data, 'train', str(tmp_path))
  assert len(split) == 5000 and rendered == []
  batch = classify_inputs.sample_batch(split, split, views.Grid(), config, 7)
  rows = np.random.default_rng([config.seed, 7]).integers(5000, size=4)
  assert sorted(rendered) == sorted(rows.tolist())
  assert batch['label'].tolist() == split.labels[rows].tolist()
