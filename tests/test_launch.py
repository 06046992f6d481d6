"""The launch scripts' dry runs: the exact command each host (TPU worker, SLURM task,
machine) would run, with its coordinator, process count and process id."""
import os
import shlex
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = 'experiments/codec_quick.py'
# A flag the remote shells must pass on whole: spaces, quotes and brackets.
MESH = "--config.mesh=(('data', -1), ('model', 2))"


def _dry_run(script: str, *args: str, **env: str) -> list[str]:
  """The lines a script prints with DRY_RUN=1 (no scontrol: the node list is parsed)."""
  result = subprocess.run(['bash', os.path.join(ROOT, 'launch', script), *args],
                          env=dict(PATH='/usr/bin:/bin', DRY_RUN='1', **env), cwd=ROOT,
                          capture_output=True, text=True, timeout=30, check=True)
  return result.stdout.splitlines()


def _main_command(*flags: str) -> list[str]:
  return ['python', '-m', 'cvision.main', '--multihost', *flags]


def test_tpu_vm_runs_the_same_command_on_every_worker():
  ssh, *workers = _dry_run('tpu_vm.sh', 'my-tpu', 'us-central2-b', CONFIG, '--workdir=gs://b/r',
                           MESH, TPU_WORKERS='4')
  *gcloud, command = shlex.split(ssh)
  assert gcloud == ['gcloud', 'compute', 'tpus', 'tpu-vm', 'ssh', 'my-tpu',
                    '--zone=us-central2-b', '--worker=all']
  assert command.startswith('--command=cd cvision && pip install ')
  on_worker = command[len('--command='):]
  expected = _main_command(f'--config={CONFIG}', '--workdir=gs://b/r', MESH)
  assert shlex.split(on_worker.split(' && ')[-1]) == expected
  assert len(workers) == 4
  for i, line in enumerate(workers):
    assert line == f'worker {i} (process {i}, coordinator: worker 0): {on_worker}'


@pytest.mark.parametrize('nodes, first', [('gpu[07-08]', 'gpu07'), ('gpu[12,3-4]', 'gpu12'),
                                          ('alpha,beta', 'alpha'), ('solo', 'solo')])
def test_slurm_gives_each_task_its_process_id_and_the_first_node_as_coordinator(nodes, first):
  lines = _dry_run('slurm_gpu.sh', CONFIG, '--workdir=/shared/r', MESH, SLURM_JOB_ID='1234',
                   SLURM_JOB_NODELIST=nodes, SLURM_NNODES='2', SLURM_NTASKS='6')
  assert len(lines) == 6
  for task, line in enumerate(lines):
    where, command = line.split(': ', 1)
    assert where == f'task {task} (node {task // 3}, SLURM_LOCALID={task % 3})'
    # The port jax's own SLURM detection takes: 1234 % 4096 + 61440.
    assert shlex.split(command) == _main_command(
        f'--coordinator_address={first}:62674', '--num_processes=6', f'--config={CONFIG}',
        '--workdir=/shared/r', MESH, f'--process_id={task}')


def test_slurm_takes_the_coordinator_port_jax_is_told():
  lines = _dry_run('slurm_gpu.sh', CONFIG, SLURM_JOB_ID='1', SLURM_JOB_NODELIST='n[1-2]',
                   SLURM_NNODES='2', SLURM_NTASKS='2', JAX_COORDINATOR_PORT='7000')
  assert [shlex.split(line.split(': ', 1)[1])[4] for line in lines] == [
      '--coordinator_address=n1:7000'] * 2


def test_multi_host_passes_the_coordinator_and_process_on():
  hosts = [_dry_run('multi_host.sh', '10.0.0.1:8476', '2', str(i), CONFIG, '--workdir=/s/r',
                    MESH) for i in range(2)]
  for i, lines in enumerate(hosts):
    assert [shlex.split(line) for line in lines] == [_main_command(
        '--coordinator_address=10.0.0.1:8476', '--num_processes=2', f'--process_id={i}',
        f'--config={CONFIG}', '--workdir=/s/r', MESH)]
