"""The latent augmenter: θ, pixel references, the network, its stage and its use in classify."""
import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvision import configs, errors, trained_augmenter
from cvision.data import classify_inputs, views
from cvision.models import augmenter as augmenter_lib
from cvision.models import vqvae
from cvision.tasks import augment
from cvision.tasks import classify as classify_task
from cvision.train_lib import sharding, state as state_lib
from cvision.trainers import augmenter as augmenter_trainer
from cvision.trainers import classify as classify_trainer
from cvision.trainers import codec as codec_trainer
from conftest import tiny_config


def _video(batch=2, frames=4, size=32, seed=0):
  return np.random.default_rng(seed).uniform(size=(batch, frames, size, size, 3)).astype(
      np.float32)


def test_pixel_references_identity_flip_and_crop():
  video = _video()
  same = augment.augment_pixels(video, np.stack([augmenter_lib.IDENTITY] * 2))
  np.testing.assert_allclose(same, video, atol=1e-5)
  flipped = augment.augment_pixels(video, np.stack([augmenter_lib.theta(flip=True)] * 2))
  np.testing.assert_allclose(flipped, video[:, :, :, ::-1], atol=1e-6)
  # A box of rows [8, 24) of 32 resized to 32 rows: output row i samples 8 + (i + 0.5) / 2.
  rows = np.arange(32, dtype=np.float32) / 32  # pixel value: its row / 32
  ramp = np.broadcast_to(rows[:, None, None], (1, 1, 32, 32, 3))
  out = augment.augment_pixels(ramp, augmenter_lib.theta(crop=(0.25, 0, 0.75, 1))[None])
  np.testing.assert_allclose(out[0, 0, :, 5, 0] * 32, 7.75 + np.arange(32) / 2, atol=1e-4)


def test_ranges_refuse_out_of_range_theta():
  ranges = augment.Ranges()
  ranges.check(augment.sample(jax.random.key(0), 64, ranges))  # samples stay inside
  bad = {'outside the frame': augmenter_lib.theta(crop=(0.2, 0.2, 1.1, 1.0)),
         'smaller than': augmenter_lib.theta(crop=(0.0, 0.0, 0.3, 0.3)),
         'brightness': augmenter_lib.theta(brightness=-0.5),
         'saturation': augmenter_lib.theta(saturation=-1.0),
         'rotation': augmenter_lib.theta(rotation=np.radians(45)),
         'flip': np.asarray([0, 0, 1, 1, 0.5, 0, 1, 0], np.float32)}
  for message, theta in bad.items():
    with pytest.raises(errors.InputError, match=message):
      ranges.check(np.stack([augmenter_lib.IDENTITY, theta]))


def test_nn_crop_of_codes():
  codes = np.arange(16).reshape(1, 4, 4, 1)
  np.testing.assert_array_equal(augment.nn_crop_codes(codes, (0, 0, 1, 1)), codes)
  half = augment.nn_crop_codes(codes, (0, 0, 0.5, 0.5))[0, ..., 0]
  np.testing.assert_array_equal(half, [[0, 0, 1, 1], [0, 0, 1, 1], [4, 4, 5, 5], [4, 4, 5, 5]])


def test_prewarp_is_the_nn_crop_and_flip_of_the_code_grid():
  codes = np.random.default_rng(0).integers(0, 64, (1, 2, 8, 8, 2))
  for theta in (augmenter_lib.IDENTITY, augmenter_lib.theta(crop=(0.1, 0.2, 0.7, 0.8)),
                augmenter_lib.theta(crop=(0, 0.25, 0.75, 1), flip=True)):
    warped, inside, _ = augmenter_lib.warp_codes(jnp.asarray(codes), jnp.asarray(theta[None]))
    expected = augment.nn_crop_codes(codes[0], theta[:4])
    expected = expected[:, :, ::-1] if theta[4] else expected
    np.testing.assert_array_equal(warped[0], expected)
    assert float(inside.min()) == 1.0
  _, inside, _ = augmenter_lib.warp_codes(jnp.asarray(codes),
                                          jnp.asarray(augmenter_lib.theta(rotation=0.5)[None]))
  assert inside[0, 0, 0] == 0 and inside[0, 4, 4] == 1  # corners come from beyond the frame
  # Offsets: cell i of a half-frame crop samples the source at (i + 0.5) / 2 cells (cell
  # 0's point lies before the first centre, where the ramp holds its edge value).
  _, _, offsets = augmenter_lib.warp_codes(
      jnp.asarray(np.concatenate([codes, codes])), jnp.asarray(np.stack([augmenter_lib.IDENTITY,
                                                augmenter_lib.theta(crop=(0, 0, 0.5, 0.5))])))
  np.testing.assert_allclose(offsets[0], 0.0, atol=1e-5)
  np.testing.assert_allclose(offsets[1, 1:, 0, 0], ([-0.25, 0.25] * 4)[1:], atol=1e-5)
  np.testing.assert_allclose(offsets[1, 0, 1:, 1], ([-0.25, 0.25] * 4)[1:], atol=1e-5)


def test_bilinear_prewarp_samples_between_cells_and_keeps_flips_exact(tiny_codec):
  codes = jnp.asarray(tiny_codec.encode(np.uint8(_video(1) * 255)))
  books = jnp.asarray(tiny_codec.codebooks)
  embedded = vqvae.lookup(books, codes)
  thetas = jnp.asarray(np.stack([augmenter_lib.IDENTITY, augmenter_lib.theta(flip=True),
                                 augmenter_lib.theta(crop=(0, 0, 0.5, 0.5)),
                                 augmenter_lib.theta(rotation=0.4)]))
  warped, inside, _ = augmenter_lib.warp_embeddings(jnp.repeat(embedded, 4, 0), thetas)
  np.testing.assert_allclose(warped[0], embedded[0], atol=1e-5)
  np.testing.assert_allclose(warped[1], embedded[0, :, :, ::-1], atol=1e-5)
  # Cell 1 of a half-frame crop samples the source at 0.25 cells: 3/4 of cell 0, 1/4 of 1.
  np.testing.assert_allclose(warped[2, :, 1, 1],
                             0.5625 * embedded[0, :, 0, 0] + 0.1875 * embedded[0, :, 0, 1]
                             + 0.1875 * embedded[0, :, 1, 0] + 0.0625 * embedded[0, :, 1, 1],
                             atol=1e-5)
  # Under a rotation the cells inside are blends of their neighbours, not of the zeros
  # beyond the frame: their norms stay those of code vectors.
  norms = np.linalg.norm(np.asarray(warped[3]), axis=-1)[:, np.asarray(inside[3]) > 0]
  assert norms.min() > 0.5 * np.linalg.norm(np.asarray(embedded), axis=-1).min()
  snapped = augmenter_lib.nearest_codes(warped, books)
  np.testing.assert_array_equal(snapped[0], codes[0])
  np.testing.assert_array_equal(snapped[1], codes[0, :, :, ::-1])
  # Untrained, the augmenter gives the snapped samples: the pre-warp is where it starts.
  model = augmenter_lib.Augmenter(grid=codes.shape[2:4], width=32, heads=2,
                                  prewarp='bilinear')
  batch = jnp.repeat(codes, 4, 0)
  params = model.init(jax.random.key(0), batch, thetas, books)['params']
  np.testing.assert_array_equal(augment.augment_codes(params, batch, thetas, books,
                                                      model=model), snapped)
  np.testing.assert_array_equal(augment.bilinear_warp_codes(batch, thetas, books), snapped)
  # An augmenter of vectors starts from the unsnapped samples; its codes are the snapped ones.
  vectors = augmenter_lib.Augmenter(grid=codes.shape[2:4], width=32, heads=2,
                                    prewarp='bilinear', output='embeddings')
  params = vectors.init(jax.random.key(0), batch, thetas, books)['params']
  np.testing.assert_allclose(augment.augment_embeddings(params, batch, thetas, books,
                                                        model=vectors), warped, atol=1e-6)
  np.testing.assert_array_equal(augment.augment_codes(params, batch, thetas, books,
                                                      model=vectors), snapped)
  # Its cross-entropy reads distances: the nearest entry is the most likely.
  np.testing.assert_array_equal(
      jnp.argmax(vectors.code_logits(warped, books), -1), snapped)


def test_s3d_reads_the_augmenters_vectors_unsnapped_and_its_codes_as_looked_up(tiny_codec):
  codes = jnp.asarray(tiny_codec.encode(np.uint8(_video(1) * 255)))
  books = jnp.asarray(tiny_codec.codebooks)
  table = classify_task.input_codebooks(tiny_codec, 'vectors')
  thetas = jnp.asarray(np.stack([augmenter_lib.IDENTITY,
                                 augmenter_lib.theta(crop=(0, 0, 0.5, 0.5), flip=True)]))
  batch = jnp.repeat(codes, 2, 0)
  made = {}
  for output in augmenter_lib.OUTPUTS:
    model = augmenter_lib.Augmenter(grid=codes.shape[2:4], width=32, heads=2,
                                    prewarp='bilinear', output=output)
    params = model.init(jax.random.key(0), batch, thetas, books)['params']
    view = functools.partial(augment.augment_views, params, batch, thetas, books, model=model)
    made[output] = view(as_vectors=False), view(as_vectors=True)
    # Floats are S3D's input already: model_input passes them through.
    np.testing.assert_array_equal(classify_task.model_input(made[output][1], table),
                                  made[output][1])
  snapped, vectors = made['codes']
  # A 'codes' augmenter's vectors are the standardised entries S3D looks its codes up in.
  np.testing.assert_allclose(vectors, classify_task.model_input(snapped, table), atol=1e-4)
  # An 'embeddings' augmenter's are its unsnapped samples, standardised alike: the
  # identity view is the codes' entries, the half-frame crop lies between them.
  snapped_e, vectors_e = made['embeddings']
  np.testing.assert_array_equal(snapped_e, snapped)
  warped = augmenter_lib.warp_embeddings(vqvae.lookup(books, batch), thetas)[0]
  np.testing.assert_allclose(vectors_e, vqvae.standardise(warped, books), atol=1e-4)
  np.testing.assert_allclose(vectors_e[0], vectors[0], atol=1e-4)
  assert np.abs(vectors_e[1] - vectors[1]).max() > 0.1


def test_quick_variants_keep_nearest_cells_for_classification():
  for variant, prewarp, output in (
      ('', 'nearest', 'codes'), (':cr30', 'nearest', 'codes'),
      (':bilinear', 'bilinear', 'codes'), (':cr30_bilinear', 'bilinear', 'codes'),
      (':embeddings', 'bilinear', 'embeddings'), (':cr30_embeddings', 'bilinear', 'embeddings')):
    config = configs.load(f'experiments/augmenter_quick.py{variant}')
    assert config.model.prewarp == prewarp and config.model.offsets == (prewarp == 'bilinear')
    assert config.model.output == output
  assert configs.load('experiments/augmenter_quick.py:cr30_bilinear').data.frames == 2
  with pytest.raises(ValueError, match='unknown variant'):
    configs.load('experiments/augmenter_quick.py:bilinaer')


def test_output_is_a_valid_code_tensor_of_the_input_shape(tiny_codec):
  codes = tiny_codec.encode(np.uint8(_video(3) * 255))
  books = jnp.asarray(tiny_codec.codebooks)
  model = augmenter_lib.Augmenter(grid=codes.shape[2:4], width=32, heads=2, offsets=True)
  thetas = augment.sample(jax.random.key(1), 3, augment.Ranges())
  params = model.init(jax.random.key(0), jnp.asarray(codes), thetas, books)['params']
  params = jax.tree_util.tree_map(lambda p: p + 0.5, params)  # away from the identity init
  out = np.asarray(augment.augment_codes(params, jnp.asarray(codes), thetas, books,
                                         model=model))
  assert out.shape == codes.shape and out.dtype == np.int32
  assert out.min() >= 0 and out.max() < tiny_codec.model.codebook_size
  # The straight-through vectors are exactly the snapped codes' vectors.
  logits = model.apply({'params': params}, jnp.asarray(codes), thetas, books)
  np.testing.assert_allclose(augmenter_lib.embeddings(logits, books),
                             np.asarray(jax.vmap(lambda c: tiny_codec.model.apply(
                                 tiny_codec.weights, c[None], method='embed')[0])(out)),
                             atol=1e-5)
  with pytest.raises(ValueError, match='code frames of'):
    model.apply({'params': params}, jnp.asarray(codes[:, :, :2]), thetas, books)


def _augmenter_config(codec_workdir: str, steps: int = 40):
  config = configs.base('augmenter')
  config.codec.workdir = codec_workdir
  config.data.update(num_tours=2, tour_seconds=8.0, frames=2, batch_size=8, workers=1)
  config.model.update(width=32, heads=2, mlp_hidden=(16, 16, 16))
  config.train.update(steps=steps, log_every=10, ckpt_every=20)
  config.eval.update(held_out_tours=1, frames=2, crop_sides=(0.75,), brightness=(0.3,),
                     saturation=(0.5,), rotation_degrees=(15.0,))
  return config


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
  """A tiny codec, and an augmenter trained on it by the stage (with its evaluation)."""
  root = tmp_path_factory.mktemp('augmenter')
  mesh = sharding.make_mesh((('data', -1),), jax.devices()[:1])
  codec = codec_trainer.train(tiny_config(20), str(root / 'codec'), mesh)
  config = _augmenter_config(str(root / 'codec'))
  augmenter_trainer.run(config, str(root / 'aug'), mesh, lambda: codec)
  return root, codec, config, mesh


def test_the_stage_trains_evaluates_and_keeps_the_identity(trained):
  root, codec, _, _ = trained
  augmenter = trained_augmenter.load(str(root / 'aug'), codec)
  assert augmenter.step == 40
  results = json.loads((root / 'aug' / 'eval' / 'augmentation.json').read_text())
  assert set(results['kinds']) == set(augmenter_lib.KINDS)
  for way in ('nn', 'bilinear'):  # the crops made without training, for crops only
    assert f'{way}_ssim' in results['kinds']['crop'] and f'{way}_ssim' not in results['kinds'][
        'flip']
  for row in results['kinds'].values():
    assert 0 <= row['code_agreement'] <= 1 and -1 <= row['learned_ssim'] <= 1
  # Decoding the identity view costs at most 0.5 dB against decoding the codes themselves.
  assert results['identity_psnr_gap_db'] >= -0.5
  for kind in augmenter_lib.KINDS:
    assert (root / 'aug' / 'eval' / f'{kind}.png').stat().st_size > 1000
  # The same check here, on a clip the stage never saw.
  clip = np.uint8(_video(1, 2, 32, seed=5) * 255)
  codes = codec.encode(clip)
  same = codec.decode(augmenter.augment(codes, augmenter_lib.IDENTITY[None]))
  psnr = lambda y: float(10 * np.log10(1 / np.mean((y - clip / 255.0) ** 2)))
  assert psnr(same) >= psnr(codec.decode(codes)) - 0.5


def test_another_codecs_augmenter_and_out_of_range_theta_are_refused(trained, tiny_codec):
  root, codec, config, mesh = trained
  with pytest.raises(errors.InputError, match='codes of codec'):
    trained_augmenter.load(str(root / 'aug'), tiny_codec)
  # A rerun of the same augmenter finds it finished (its tuples were written as lists);
  # one for another codec is refused.
  assert augmenter_trainer.train(config, str(root / 'aug'), mesh, codec).step == 40
  # So does one recorded before `prewarp` was a name and `offsets` existed.
  info_path = root / 'aug' / trained_augmenter.INFO_FILE
  info = json.loads(info_path.read_text())
  del info['model']['offsets'], info['model']['output']
  info['model']['prewarp'] = True
  info_path.write_text(json.dumps(info))
  assert augmenter_trainer.train(config, str(root / 'aug'), mesh, codec).step == 40
  assert json.loads(info_path.read_text())['model']['prewarp'] == 'nearest'
  with pytest.raises(errors.ConfigError, match=r'another augmenter \(codec differ'):
    augmenter_trainer.train(config, str(root / 'aug'), mesh, tiny_codec)
  augmenter = trained_augmenter.load(str(root / 'aug'), codec)
  codes = codec.encode(np.uint8(_video(1, 2) * 255))
  with pytest.raises(errors.InputError, match='brightness'):
    augmenter.augment(codes, augmenter_lib.theta(brightness=-0.6)[None])
  bad = _augmenter_config(str(root / 'codec'))
  bad.augment.mixes = ('crop', 'flop')
  with pytest.raises(errors.ConfigError, match='flop'):
    augmenter_trainer.check(bad, codec)
  bad = _augmenter_config(str(root / 'codec'))
  bad.model.output = 'vectors'
  with pytest.raises(errors.ConfigError, match='model.output'):
    augmenter_trainer.check(bad, codec)


@pytest.fixture(scope='module')
def trained_vectors(trained):
  """An augmenter of vectors trained by the stage on `trained`'s codec, in its root."""
  root, codec, _, mesh = trained
  config = _augmenter_config(str(root / 'codec'), steps=20)
  config.model.update(prewarp='bilinear', output='embeddings')
  augmenter_trainer.run(config, str(root / 'vectors'), mesh, lambda: codec)
  return root / 'vectors'


def test_an_augmenter_of_vectors_is_scored_on_them_and_snaps_to_codes(trained,
                                                                       trained_vectors):
  root, codec, _, _ = trained
  augmenter = trained_augmenter.load(str(trained_vectors), codec)
  assert augmenter.model.output == 'embeddings' and augmenter.step == 20
  results = json.loads((root / 'vectors' / 'eval' / 'augmentation.json').read_text())
  for row in results['kinds'].values():
    assert -1 <= row['snapped_ssim'] <= 1 and -1 <= row['learned_ssim'] <= 1
  assert results['identity_psnr_gap_db'] >= -0.5
  # Its codes are the entries nearest to its vectors, and the vectors of the identity
  # view decode as closely as the codes themselves.
  clip = np.uint8(_video(1, 2, 32, seed=5) * 255)
  codes = codec.encode(clip)
  snapped, vectors = augmenter.codes_and_embeddings(codes, augmenter_lib.IDENTITY[None])
  assert vectors.shape == (*codes.shape[:-1], codec.codebooks.shape[0] * codec.codebooks.shape[2])
  np.testing.assert_array_equal(augmenter.augment(codes, augmenter_lib.IDENTITY[None]), snapped)
  np.testing.assert_array_equal(snapped, augmenter_lib.nearest_codes(jnp.asarray(vectors),
                                                                     augmenter.codebooks))
  psnr = lambda y: float(10 * np.log10(1 / np.mean((y - clip / 255.0) ** 2)))
  assert psnr(codec.decode_embeddings(vectors)) >= psnr(codec.decode(codes)) - 0.5


def test_sharded_augmenter_equals_one_device(tiny_codec):
  """The forward pass and one training step on 8 devices (batch split) equal one device's."""
  books = jnp.asarray(tiny_codec.codebooks)
  model = augmenter_lib.Augmenter(grid=(8, 8), width=32, heads=2)
  video = np.uint8(_video(8, 2) * 255)
  codes = jnp.asarray(tiny_codec.encode(video))
  thetas = augment.sample(jax.random.key(1), 8, augment.Ranges())
  tx = state_lib.make_optimizer(configs.base('augmenter').train)
  state = state_lib.TrainState.create(
      model.init(jax.random.key(0), codes, thetas, books)['params'], tx)
  step = functools.partial(augment.train_step, model=model, codec_model=tiny_codec.model,
                           ranges=augment.Ranges(), mixes=augment.MIXES, ce_weight=1.0)
  args = ({'video': video}, tiny_codec.weights, books, jax.random.key(2))
  one_state, one_stats = jax.jit(step)(state, *args)
  one_codes = augment.augment_codes(state.params, codes, thetas, books, model=model)
  mesh = sharding.make_mesh((('data', -1),))
  assert mesh.size == 8
  whole, rows = sharding.replicated(mesh), sharding.batch_sharding(mesh)
  placed = jax.device_put(state, whole)
  many_state, many_stats = jax.jit(step, in_shardings=(whole, rows, whole, whole, whole),
                                   out_shardings=(whole, whole))(placed, *args)
  many_codes = jax.jit(functools.partial(augment.augment_codes, model=model),
                       in_shardings=(whole, rows, rows, whole))(
                           placed.params, codes, thetas, books)
  np.testing.assert_array_equal(np.asarray(many_codes), np.asarray(one_codes))
  np.testing.assert_allclose(many_stats['loss'], one_stats['loss'], rtol=1e-5)
  for a, b in zip(jax.tree_util.tree_leaves(many_state.params),
                  jax.tree_util.tree_leaves(one_state.params)):
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_paper_config_traces_at_256():
  """augmenter_k600: 256x256 clips against the CR-30 codec; one train step traces to the
  right shapes (abstractly: nothing of that size is compiled or allocated on CPU)."""
  config = configs.load('experiments/augmenter_k600.py')
  codec_config = configs.load(config.codec.config)
  codec_model = vqvae.make_vqvae(codec_config.model)
  size = codec_config.data.size
  assert size == 256
  grid = (size // codec_model.space_factor,) * 2
  model = trained_augmenter.make_model(dict(model=config.model.to_dict(), grid=grid))
  n, dim = codec_model.codebooks, codec_model.code_dim
  books = jax.ShapeDtypeStruct((n, codec_model.codebook_size, dim), jnp.float32)
  code_frames = config.data.frames // codec_model.time_factor
  codes = jax.ShapeDtypeStruct((2, code_frames, *grid, n), jnp.int32)
  theta = jax.ShapeDtypeStruct((2, augmenter_lib.THETA_SIZE), jnp.float32)
  params = jax.eval_shape(lambda c, t, b: model.init(jax.random.key(0), c, t, b), codes, theta,
                          books)
  logits = jax.eval_shape(model.apply, params, codes, theta, books)
  assert logits.shape == (2, code_frames, *grid, n, codec_model.codebook_size)
  video = jax.ShapeDtypeStruct((2, config.data.frames, size, size, 3), jnp.uint8)
  weights = jax.eval_shape(lambda v: codec_model.init({'params': jax.random.key(0)}, v),
                           jax.ShapeDtypeStruct((1, 4, size, size, 3), jnp.float32))
  state = jax.eval_shape(lambda p: state_lib.TrainState.create(
      p['params'], state_lib.make_optimizer(config.train)), params)
  step = functools.partial(augment.train_step, model=model, codec_model=codec_model,
                           ranges=augment.Ranges(), mixes=augment.MIXES, ce_weight=1.0)
  _, stats = jax.eval_shape(step, state, {'video': video}, weights, books, jax.random.key(0))
  assert stats['loss'].shape == ()


def test_classify_learned_views_config_and_test_views():
  config = configs.load('experiments/classify_codes_cr256_quick.py:learned_flip_train_test')
  assert config.input.augment == 'learned' and config.eval.flips == 2
  assert config.augmenter.workdir == 'runs/augmenter_cr256'
  assert classify_inputs.view_size(config) == config.data.size
  boxes, thetas, corners = classify_trainer.test_views(config, config.data.frames, 2)
  assert len(boxes) == len(thetas) == 2 * config.eval.crops * 2 and corners is None
  side = config.data.crop / config.data.size
  np.testing.assert_allclose(thetas[:, 2] - thetas[:, 0], side, atol=1e-6)
  assert set(thetas[:, 4]) == {0.0, 1.0}
  central = configs.load('experiments/classify_codes_cr256_quick.py:central')
  boxes, thetas, corners = classify_trainer.test_views(central, central.data.frames, 2)
  assert thetas is None and corners is None and len(boxes) == 2
  rgb = configs.load('experiments/classify_rgb_quick.py:smoke')
  rgb.input.augment = 'learned'
  with pytest.raises(errors.ConfigError, match='learned'):
    classify_inputs.prepare(rgb, '/nonexistent', None)
  config.input.learned_kinds = ('crop', 'rotation')
  with pytest.raises(errors.ConfigError, match='learned_kinds'):
    classify_inputs.prepare(config, '/nonexistent', None)


def test_flipped_views_take_the_mirrored_class():
  """A flipped pan_left clip is a pan_right clip: training labels and test logits of
  flipped views are mapped through the mirrored classes."""
  from cvision.data import actions, labeled  # pylint: disable=g-import-not-at-top
  mirror = labeled.mirrored_classes(actions.MOTIONS)
  assert [actions.MOTIONS[i] for i in mirror[:3]] == ['pan_right', 'pan_left', 'tilt_up']
  assert list(labeled.mirrored_classes(['pushing left to right', 'pushing right to left',
                                        'tearing'])) == [1, 0, 2]
  theta = np.stack([augmenter_lib.theta(flip=True), augmenter_lib.theta()])
  flipped = augment.flipped(jnp.asarray(theta))
  assert list(flipped) == [True, False]
  assert list(classify_task.mirrored_labels(jnp.asarray([0, 0]), flipped, mirror)) == [1, 0]
  per_frame = classify_task.mirrored_labels(jnp.asarray([[0, 1, 2], [0, 1, 2]]), flipped, mirror)
  np.testing.assert_array_equal(per_frame, [[1, 0, 2], [0, 1, 2]])


def test_flip_then_cut_views_test_the_cells_nn_crop_tests():
  """Views flipped by the augmenter and then cut are tested on nn_crop's cells: the two
  rows differ in the flip alone."""
  grid = views.Grid(time=4, space=8)
  flipped = configs.load('experiments/classify_codes_cr256_quick.py:nn_crop_learned_flip_test')
  assert flipped.input.learned_kinds == ('flip',) and flipped.eval.flips == 2
  _, thetas, corners = classify_trainer.test_views(flipped, flipped.data.frames, 1, grid)
  np.testing.assert_array_equal(thetas[:, :4], [[0, 0, 1, 1]] * len(thetas))
  assert list(thetas[:, 4]) == [0.0, 1.0] * flipped.eval.crops
  nn = configs.load('experiments/classify_codes_cr256_quick.py:nn_crop')
  boxes, _, _ = classify_trainer.test_views(nn, nn.data.frames, 1, grid)
  span = nn.data.crop // grid.space
  cells = [views.first_cell(y, grid.space, nn.data.size // grid.space, span)
           for _, y, _ in boxes]
  np.testing.assert_array_equal(corners[::2], [(c, c) for c in cells])
  codes = np.arange(2 * 3 * 8 * 8).reshape(2, 3, 8, 8, 1)
  cut = augment.cell_crops(jnp.asarray(codes), jnp.asarray([[0, 1], [1, 0]]), 7)
  np.testing.assert_array_equal(cut, np.stack([codes[0, :, 0:7, 1:8], codes[1, :, 1:8, 0:7]]))


@pytest.mark.parametrize('row, kinds, cells, augmenter_dir, codes_as', [
    ('learned_flip_train_test', ['crop', 'flip'], 8, 'aug', 'onehot'),
    ('nn_crop_learned_flip_test', ['flip'], 6, 'aug', 'onehot'),
    ('learned_flip_train_test', ['crop', 'flip'], 8, 'vectors', 'vectors')])
def test_classify_trains_and_tests_on_learned_views(trained, trained_vectors, tmp_path, row,
                                                   kinds, cells, augmenter_dir, codes_as):
  """The classify stage with the augmenter's views inside its jitted step, pooled over
  crops x flips at test: crops made by the augmenter span the whole code frame (8 x 8
  cells of the 32-pixel frame); flips of the whole frame are then cut to the crop's 6.
  S3D on codebook vectors reads an augmenter of vectors' output unsnapped."""
  root, codec, _, mesh = trained
  config = configs.load(f'experiments/classify_codes_cr256_quick.py:smoke,{row}')
  config.data.update(size=32, crop=24, cache_dir='')
  config.input.codes_as = codes_as
  config.codec.update(workdir=str(root / 'codec'), config='')
  config.augmenter.update(workdir=str(root / augmenter_dir), config='')
  load = lambda: trained_augmenter.load(str(root / augmenter_dir), codec)
  classify_trainer.run(config, str(tmp_path), mesh, lambda: codec, load)
  results = json.loads((tmp_path / 'results.json').read_text())
  assert results['views'] == dict(augment='learned', crops=4, flips=2, learned_kinds=kinds)
  books = codec.codebooks.shape
  depth = books[0] * (books[1] if codes_as == 'onehot' else books[2])
  assert results['input_shape'][1:] == [cells, cells, depth]
  assert results['augmenter'] == load().fingerprint
  assert 0 <= results['test']['top1'] <= 100


@pytest.mark.parametrize('codes_as', ['onehot', 'vectors'])
def test_benchmark_times_every_path_on_the_same_batch(trained, codes_as):
  """Every path timed; S3D reads the codes as classify's `input.codes_as` would."""
  _, codec, _, _ = trained
  from cvision.trainers import augmenter_benchmark  # pylint: disable=g-import-not-at-top
  config = configs.base('augmenter_benchmark')
  config.benchmark.update(batch_size=2, frames=16, repeats=1, s3d_width=0.125,
                          codes_as=codes_as)
  root = trained[0]
  results = augmenter_benchmark.measure(config, codec,
                                        trained_augmenter.load(str(root / 'aug'), codec))
  assert set(results['seconds']) == {'augment_codes', 'decode_augment_encode',
                                     'augment_and_infer_codes', 'decode_augment_infer_rgb',
                                     'infer_codes', 'infer_rgb'}
  assert all(s > 0 for s in results['seconds'].values())
  assert results['code_shape'] == [8, 8, 8, 2]  # 16 frames / 2, 32 px / 4, 2 codebooks
  books = codec.codebooks.shape  # [N, K, D]: one-hot K or vectors D per codebook
  assert results['s3d_input_shape'] == [8, 8, 8, 2 * books[1 if codes_as == 'onehot' else 2]]
  assert results['speedup_vs_decode_augment_encode'] == pytest.approx(
      results['seconds']['decode_augment_encode'] / results['seconds']['augment_codes'])
  assert 'faster' in augmenter_benchmark.markdown_table(results)
