"""Training: a killed-and-restarted run equals an uninterrupted one (also when a later
stage finishes it); a step sharded over 8 simulated CPU devices equals the 1-device step;
the NaN guard keeps the checkpoint."""
import json

import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P
from conftest import tiny_config

from cvision import errors, provision
from cvision.data import pipeline
from cvision.train_lib import checkpoint, scaffold, sharding
from cvision.trainers import codec


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_killed_run_resumes_to_same_parameters(tmp_path, monkeypatch):
  config = tiny_config(workdir_steps=4)
  mesh = sharding.make_mesh((('data', -1),), jax.devices()[:1])
  straight = codec.train(config, str(tmp_path / 'straight'), mesh)

  real_check = scaffold.check_finite

  def crash_at_step_3(step, loss):
    if step == 3:
      raise KeyboardInterrupt('killed')  # after the step-2 checkpoint was written
    real_check(step, loss)

  monkeypatch.setattr(scaffold, 'check_finite', crash_at_step_3)
  with pytest.raises(KeyboardInterrupt):
    codec.train(config, str(tmp_path / 'killed'), mesh)
  monkeypatch.setattr(scaffold, 'check_finite', real_check)
  # A later stage that needs this codec finishes its training instead of using it half
  # trained, given the codec's config; without one it says what is wrong.
  killed = str(tmp_path / 'killed')
  with pytest.raises(errors.MissingInput, match=r'stopped at step 2 of 4'):
    provision.ensure_codec(killed, '', mesh)
  experiment = tmp_path / 'tiny_codec.py'
  experiment.write_text('from conftest import tiny_config\n\n\n'
                        'def get_config(arg=None):\n  return tiny_config(workdir_steps=4)\n')
  resumed = provision.ensure_codec(killed, str(experiment), mesh)
  assert resumed.step == straight.step == 4
  for a, b in zip(_leaves((straight.params, straight.variables)),
                  _leaves((resumed.params, resumed.variables))):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _one_step(workdir, devices, axes=(('data', -1),), rules=()):
  config = tiny_config()
  config.shard_rules = rules
  mesh = sharding.make_mesh(axes, devices)
  _, state, step_fn, _ = codec.build(config, str(workdir), mesh)
  batch = {'video': pipeline.host_batch(config.data, 0, 0, 8, 0)}
  return step_fn(state, sharding.put_batch(batch, mesh))


def test_sharded_step_equals_single_device(tmp_path):
  """Data parallel over 8 devices, and 4 x 2 with the kernels' last axis on `model`."""
  assert jax.device_count() == 8, 'conftest sets 8 simulated CPU devices'
  one_state, one_metrics = _one_step(tmp_path / 'one', jax.devices()[:1])
  for name, axes, rules in (('data', (('data', -1),), ()),
                            ('model', (('data', 4), ('model', 2)), ((r'.*/kernel', 'model'),))):
    eight_state, eight_metrics = _one_step(tmp_path / name, jax.devices(), axes, rules)
    if rules:
      specs = [x.sharding.spec for x in jax.tree.leaves(eight_state.params)]
      assert P(None, None, None, None, 'model') in specs  # a conv kernel, split
    np.testing.assert_allclose(one_metrics['loss'], eight_metrics['loss'], rtol=1e-5)
    for a, b in zip(_leaves(one_state), _leaves(eight_state)):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_nan_guard_names_the_step():
  with pytest.raises(FloatingPointError, match='step 7'):
    scaffold.check_finite(7, float('nan'))
  scaffold.check_finite(7, 1.0)


def test_mesh_errors_are_clear():
  with pytest.raises(ValueError, match='does not divide'):
    sharding.make_mesh((('data', 3), ('model', -1)), jax.devices())
  mesh = sharding.make_mesh((('data', 4), ('model', 2)), jax.devices())
  assert mesh.shape == {'data': 4, 'model': 2}
  with pytest.raises(ValueError, match="batch of 6 does not split over the mesh's 4-way"):
    sharding.put_batch({'x': np.zeros((6, 3))}, mesh)
  single = sharding.make_mesh((('data', 1), ('model', -1)), jax.devices())
  assert sharding.put_batch({'x': np.zeros((1, 3))}, single)['x'].shape == (1, 3)


def test_initial_state_is_made_then_restored(tmp_path):
  """No checkpoint: `init` runs; with one: the checkpoint comes back, `init` unused."""
  mesh = sharding.make_mesh((('data', -1),), jax.devices()[:1])
  run = scaffold.TrainRun(str(tmp_path), mesh)
  state, _ = run.initial_state(lambda rng: {'w': jax.random.normal(rng, (3,))},
                               jax.random.key(0))
  assert run.start == 0
  checkpoint.save(run.manager, 5, {'w': state['w'] + 1})
  run.close()
  again = scaffold.TrainRun(str(tmp_path), mesh)
  restored, _ = again.initial_state(lambda rng: {'w': jax.random.normal(rng, (3,))},
                                    jax.random.key(1))
  assert again.start == 5
  np.testing.assert_allclose(restored['w'], np.asarray(state['w']) + 1)
  again.close()


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
    codec.run(config, str(tmp_path), mesh, load_codec=None)
  assert not list(tmp_path.iterdir())  # nothing trained, nothing written


def test_prefetch_keeps_order_raises_where_it_failed_and_stops_when_closed():
  import itertools  # pylint: disable=g-import-not-at-top
  import threading  # pylint: disable=g-import-not-at-top
  import time  # pylint: disable=g-import-not-at-top
  from cvision.train_lib import prefetch  # pylint: disable=g-import-not-at-top
  assert list(prefetch.prefetch(iter(range(5)), lambda x: x * 10)) == [0, 10, 20, 30, 40]

  def broken():
    yield 1
    raise errors.InputError('bad.mp4 is truncated')

  items = prefetch.prefetch(broken())
  assert next(items) == 1
  with pytest.raises(errors.InputError, match='bad.mp4'):
    next(items)
  endless = prefetch.prefetch(itertools.count())
  assert next(endless) == 0
  endless.close()
  deadline = time.time() + 5
  while any(t.name == 'prefetch' for t in threading.enumerate()) and time.time() < deadline:
    time.sleep(0.05)
  assert not any(t.name == 'prefetch' for t in threading.enumerate())
