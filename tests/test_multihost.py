"""Two processes on localhost as one run (JAX's distributed runtime, gloo collectives):
each host reads its own rows of every batch, training on 2 hosts x 4 devices equals one
process with 8 devices, and a checkpoint written on either topology resumes on the other.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest

import conftest
import multihost_probe
from cvision.data import codes_store

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOSTS, DEVICES = 2, 8
TIMEOUT_S = 300  # for one launch, all its processes together
# One thread per simulated device: more would only contend for the test machine's cores.
SERIAL = '--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1'

CLASSIFY = [
    f'--config={ROOT}/experiments/classify_rgb_quick.py:smoke', '--config.data.cache_dir=',
    '--config.data.batch_size=8', '--config.data.size=32', '--config.data.crop=28',
    '--config.data.frames=16', '--config.data.clip_frames=8', '--config.eval.clips=1',
    '--config.eval.crops=1', '--config.train.steps=2', '--config.train.ckpt_every=1',
    '--config.train.warmup_steps=0',
    # S3D's gradients at initialisation are large and its BatchNorm statistics sensitive,
    # so the order in which 8 devices' gradients are summed (it differs between one
    # process and gloo's) moves an Adam step by a fraction of the learning rate. A small
    # rate keeps the parameters within the tolerance; the optimizer's moments and the
    # BatchNorm statistics compared with them still depend on every row of both hosts.
    '--config.train.lr=1e-5']
PASTFUTURE = [
    f'--config={ROOT}/experiments/walkingtours_pastfuture.py:smoke',
    '--config.data.tour_seconds=6', '--config.data.chunk_seconds=1',
    '--config.task.batch_tours=8', "--config.task.memories=('slot',)",
    '--config.task.queries_per_update=4', '--config.train.warmup_steps=0']  # 2 steps
# The codec the past-future runs read: trained by the two hosts on their way.
TINY_CODEC = '''from cvision import configs


def get_config(arg=None):
  c = configs.base('codec')
  for block, fields in {blocks!r}.items():
    c[block].update(fields)
  return c
'''


@pytest.fixture(scope='module')
def compile_cache(tmp_path_factory):
  """A persistent compilation cache shared by this module's runs: a run that resumes on a
  topology that already ran compiles nothing again."""
  return str(tmp_path_factory.mktemp('compile_cache'))


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _env(devices: int, cache: str) -> dict:
  return dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL='2',
              XLA_FLAGS=f'--xla_force_host_platform_device_count={devices} '
                        f'{conftest.FAST_COMPILE} {SERIAL}',
              JAX_COMPILATION_CACHE_DIR=cache, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='0',
              JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES='-1')


def _run_together(commands: list[list[str]], env: dict, logs: str):
  """Runs the commands at once; fails, showing a stderr tail, if one fails or they take
  over TIMEOUT_S. On failure the others are killed (they would wait for it)."""
  os.makedirs(logs, exist_ok=True)
  procs, err_paths = [], []
  for i, command in enumerate(commands):
    err_paths.append(os.path.join(logs, f'stderr.{i}.txt'))
    with open(os.path.join(logs, f'stdout.{i}.txt'), 'w') as out, \
         open(err_paths[-1], 'w') as err:
      procs.append(subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=err,
                                    start_new_session=True))  # a group: killed with children
  deadline = time.monotonic() + TIMEOUT_S
  failed = []
  try:
    while not failed and any(p.poll() is None for p in procs):
      failed = [i for i, p in enumerate(procs) if p.poll() not in (None, 0)]
      if time.monotonic() > deadline:
        failed = [i for i, p in enumerate(procs) if p.poll() is None]
      time.sleep(0.2)
  finally:
    for p in procs:
      if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
      p.wait()
  failed = failed or [i for i, p in enumerate(procs) if p.returncode != 0]
  if failed:
    i = failed[0]
    with open(err_paths[i], errors='replace') as f:
      tail = f.read()[-3000:]
    pytest.fail(f'process {i} of {len(procs)} ended with {procs[i].returncode} (-9: still '
                f'running after {TIMEOUT_S} s): {" ".join(commands[i])}\n'
                f'--- its stderr, last lines:\n{tail}')


def _on_two_hosts(args: list[str], workdir, cache: str):
  """`cvision.main` as 2 processes x 4 devices, coordinated over a localhost port."""
  coordinator = f'localhost:{_free_port()}'
  commands = [[sys.executable, '-m', 'cvision.main', '--multihost',
               f'--coordinator_address={coordinator}', f'--num_processes={HOSTS}',
               f'--process_id={i}', f'--workdir={workdir}', *args] for i in range(HOSTS)]
  _run_together(commands, _env(DEVICES // HOSTS, cache), f'{workdir}.logs')


def _on_one_host(args: list[str], workdir, cache: str):
  command = [sys.executable, '-m', 'cvision.main', f'--workdir={workdir}', *args]
  _run_together([command], _env(DEVICES, cache), f'{workdir}.logs')


def _state(checkpoints: str, step: int) -> dict:
  """A saved train state as numpy arrays, whatever devices wrote it."""
  path = os.path.join(checkpoints, str(step), 'default')
  reader = ocp.PyTreeCheckpointer()
  as_numpy = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray),
                          reader.metadata(path).item_metadata.tree)
  return reader.restore(path, args=ocp.args.PyTreeRestore(restore_args=as_numpy))


def _assert_same_states(checkpoints_a: str, checkpoints_b: str, steps, atol: float = 1e-5):
  for step in steps:
    a, b = _state(checkpoints_a, step), _state(checkpoints_b, step)
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for (path, x), y in zip(jax.tree_util.tree_leaves_with_path(a), jax.tree.leaves(b)):
      np.testing.assert_allclose(x, y, atol=atol, rtol=0,
                                 err_msg=f'step {step} {jax.tree_util.keystr(path)}')


def _stopped_after(source, destination, checkpoints: str, step: int, results=()):
  """A copy of workdir `source` as if its run had stopped after saving `step`."""
  shutil.copytree(source, destination)
  for name in os.listdir(os.path.join(destination, checkpoints)):
    if name.isdigit() and int(name) > step:
      shutil.rmtree(os.path.join(destination, checkpoints, name))
  for name in results:  # what a finished run records so that a rerun skips it
    os.remove(os.path.join(destination, name))


def test_each_host_reads_its_own_rows_and_loads_models_the_mesh_takes(tmp_path,
                                                                     compile_cache):
  coordinator = f'localhost:{_free_port()}'
  script = os.path.join(ROOT, 'tests', 'multihost_probe.py')
  _run_together([[sys.executable, script, coordinator, str(HOSTS), str(i), str(tmp_path)]
                 for i in range(HOSTS)], _env(DEVICES // HOSTS, compile_cache),
                str(tmp_path / 'logs'))
  hosts = [np.load(tmp_path / f'found.{i}.npz') for i in range(HOSTS)]
  for found in hosts:
    assert found['model/sum'] == 15
  for stage, whole in (('classify', multihost_probe.classify_batch()),
                       ('pastfuture', multihost_probe.pastfuture_batch())):
    for key, rows in whole.items():  # one process: the whole global batch
      per_host = len(rows) // HOSTS
      for i, found in enumerate(hosts):
        mine = slice(i * per_host, (i + 1) * per_host)
        np.testing.assert_array_equal(found[f'{stage}/{key}/local'], rows[mine])
        np.testing.assert_array_equal(found[f'{stage}/{key}/gathered'], rows)
        assert list(found[f'{stage}/{key}/on_my_devices']) == list(range(len(rows))[mine])


def test_classify_step_on_one_process_from_two_hosts_checkpoint_equals_theirs(tmp_path,
                                                                            compile_cache):
  """The pair's step 1 resumed on one process: its step 2 is the pair's step 2. (That a run
  from scratch on one process equals the pair is shown by the past-future test; here it
  would only add a third compilation of S3D.)"""
  pair, resumed = tmp_path / 'pair', tmp_path / 'resumed'
  _on_two_hosts(CLASSIFY, pair, compile_cache)
  _stopped_after(pair, resumed, 'checkpoints', step=1)
  _on_one_host(CLASSIFY, resumed, compile_cache)
  _assert_same_states(pair / 'checkpoints', resumed / 'checkpoints', steps=(2,))
  for workdir in (pair, resumed):
    assert json.loads((workdir / 'results.json').read_text())['test']['videos'] == 4
  assert sorted(n for n in os.listdir(pair) if n.startswith('log')) == ['log.1.txt', 'log.txt']


def test_pastfuture_on_two_hosts_equals_one_and_checkpoints_resume_across(tmp_path,
                                                                          compile_cache):
  blocks = {k: conftest.tiny_config(2)[k].to_dict() for k in ('data', 'model', 'train', 'eval')}
  (tmp_path / 'tiny_codec.py').write_text(TINY_CODEC.format(blocks=blocks))
  pair, single, resumed = tmp_path / 'pair', tmp_path / 'single', tmp_path / 'resumed'
  # The pair trains the codec and encodes the tours on its way; later runs read those.
  _on_two_hosts(PASTFUTURE + [f'--config.codec.config={tmp_path}/tiny_codec.py'], pair,
                compile_cache)
  store = codes_store.CodesStore.open(str(pair / 'codes'))
  for vid in store.videos():  # each written whole by one host: no other attempt's chunks
    listed = {chunk['file'] for chunk in store.info(vid)['chunks']}
    assert set(os.listdir(pair / 'codes' / 'videos' / vid)) == listed | {'video.json'}
  assert len(store.videos()) == 4
  reuse = PASTFUTURE + [f'--config.codec.workdir={pair}/codec',
                        f'--config.data.store={pair}/codes']
  _on_one_host(reuse, single, compile_cache)
  _assert_same_states(pair / 'slot' / 'checkpoints', single / 'slot' / 'checkpoints',
                      steps=(1, 2))
  _stopped_after(single, resumed, 'slot/checkpoints', step=1, results=['results.json'])
  _on_two_hosts(reuse, resumed, compile_cache)  # one process's step 1 on two
  _assert_same_states(single / 'slot' / 'checkpoints', resumed / 'slot' / 'checkpoints',
                      steps=(2,))
  for workdir in (pair, single, resumed):
    results = json.loads((workdir / 'results.json').read_text())
    assert results['slot']['test']['tours'] == 1
  assert json.loads((single / 'results.json').read_text()) == json.loads(
      (pair / 'results.json').read_text())
