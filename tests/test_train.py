"""Training: a killed-and-restarted run equals an uninterrupted one (also when a later
stage finishes it); a step sharded over 8 simulated CPU devices equals the 1-device step;
the NaN guard keeps the checkpoint."""
import functools
import json

import jax
import ml_collections
import numpy as np
import pytest
from conftest import tiny_config

from cvision.data import pipeline
from cvision.models import vqvae
from cvision.train_lib import checkpoint, loop, sharding, state as state_lib
from cvision.trainers import codec, encode


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_killed_run_resumes_to_same_parameters(tmp_path, monkeypatch):
  config = tiny_config(workdir_steps=4)
  mesh = sharding.make_mesh((('data', -1),), jax.devices()[:1])
  straight = codec.train(config, str(tmp_path / 'straight'), mesh)

  real_check = loop.check_finite

  def crash_at_step_3(step, metrics):
    if step == 3:
      raise KeyboardInterrupt('killed')  # after the step-2 checkpoint was written
    real_check(step, metrics)

  monkeypatch.setattr(loop, 'check_finite', crash_at_step_3)
  with pytest.raises(KeyboardInterrupt):
    codec.train(config, str(tmp_path / 'killed'), mesh)
  monkeypatch.setattr(loop, 'check_finite', real_check)
  # A later stage that needs this codec finishes its training instead of using it half
  # trained, given the codec's config; without one it says what is wrong.
  # (The step-2 checkpoint is written asynchronously, so the kill may have beaten it.)
  killed = ml_collections.ConfigDict(dict(codec_workdir=str(tmp_path / 'killed')))
  with pytest.raises(ValueError, match=r'stopped at step [12] of 4'):
    encode.ensure_codec(killed, mesh)
  experiment = tmp_path / 'tiny_codec.py'
  experiment.write_text('from conftest import tiny_config\n\n\n'
                        'def get_config(arg=None):\n  return tiny_config(workdir_steps=4)\n')
  killed.codec_config = str(experiment)
  resumed = encode.ensure_codec(killed, mesh)
  assert resumed.step == straight.step == 4
  for a, b in zip(_leaves((straight.params, straight.variables)),
                  _leaves((resumed.params, resumed.variables))):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _one_step(devices):
  config = tiny_config()
  mesh = sharding.make_mesh((('data', -1),), devices)
  model = vqvae.make_vqvae(config.model)
  tx = state_lib.make_optimizer(config.train)
  state, shardings = codec.init_state(config, model, tx, mesh)
  step = jax.jit(functools.partial(codec.train_step, model=model, tx=tx),
                 in_shardings=(shardings, sharding.batch_sharding(mesh), None),
                 out_shardings=(shardings, None))
  batch = {'video': pipeline.host_batch(config.data, 0, 0, 8, 0)}
  state, metrics = step(state, sharding.put_batch(batch, mesh), jax.random.key(1))
  return state, metrics


def test_sharded_step_equals_single_device():
  assert jax.device_count() == 8, 'conftest sets 8 simulated CPU devices'
  one_state, one_metrics = _one_step(jax.devices()[:1])
  eight_state, eight_metrics = _one_step(jax.devices())
  np.testing.assert_allclose(one_metrics['loss'], eight_metrics['loss'], rtol=1e-5)
  for a, b in zip(_leaves(one_state), _leaves(eight_state)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_nan_guard_names_the_step():
  with pytest.raises(FloatingPointError, match='step 7'):
    loop.check_finite(7, {'loss': np.float32('nan')})
  loop.check_finite(7, {'loss': np.float32(1.0)})


def test_mesh_errors_are_clear():
  with pytest.raises(ValueError, match='does not divide'):
    sharding.make_mesh((('data', 3), ('model', -1)), jax.devices())
  mesh = sharding.make_mesh((('data', 4), ('model', 2)), jax.devices())
  assert mesh.shape == {'data': 4, 'model': 2}
  with pytest.raises(ValueError, match="batch of 6 does not split over the mesh's 4-way"):
    sharding.put_batch({'x': np.zeros((6, 3))}, mesh)
  single = sharding.make_mesh((('data', 1), ('model', -1)), jax.devices())
  assert sharding.put_batch({'x': np.zeros((1, 3))}, single)['x'].shape == (1, 3)


def test_restore_without_checkpoint_returns_given_state(tmp_path):
  manager = checkpoint.make_manager(str(tmp_path), every=1)
  assert checkpoint.restore_or(manager, {'a': np.zeros(2)})['a'].shape == (2,)


def test_codec_workdir_of_another_codec_is_refused(tmp_path):
  from cvision import trained_codec
  config = tiny_config()
  config.model.shortcuts = False
  trained_codec.write_info(str(tmp_path), config)
  trained_codec.write_info(str(tmp_path), config)  # the same codec: resumes
  other = tiny_config()
  other.model.shortcuts = True  # same parameter shapes, another function
  with pytest.raises(ValueError, match='shortcuts'):
    trained_codec.write_info(str(tmp_path), other)
  # A codec.json written before a field existed compares by the field's default.
  info = json.loads((tmp_path / 'codec.json').read_text())
  del info['model']['shortcuts']
  (tmp_path / 'codec.json').write_text(json.dumps(info))
  trained_codec.write_info(str(tmp_path), config)
  bigger = tiny_config()
  bigger.model.shortcuts = False
  bigger.data.size *= 2
  with pytest.raises(ValueError, match='size'):
    trained_codec.write_info(str(tmp_path), bigger)


def test_misspelt_classic_codec_fails_before_training(tmp_path):
  config = tiny_config()
  config.eval.after_training = True
  config.eval.classic_codecs = ('jpeg', 'h246')
  mesh = sharding.make_mesh((('data', -1),), jax.devices()[:1])
  with pytest.raises(ValueError, match="'h246'"):
    codec.run(config, str(tmp_path), mesh)
  assert not list(tmp_path.iterdir())  # nothing trained, nothing written
