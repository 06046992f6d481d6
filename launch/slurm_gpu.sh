#!/usr/bin/env bash
# Multi-node GPU with SLURM: one process per GPU, the allocation's first node coordinates.
#   sbatch --nodes=2 --gpus-per-node=8 --ntasks-per-node=8 launch/slurm_gpu.sh \
#       experiments/codec_cr236.py --workdir=/shared/runs/cr236
# Task i is process i; jax gives it the GPU numbered SLURM_LOCALID. The port is the one
# jax itself would take (JAX_COORDINATOR_PORT, or one from the job id). DRY_RUN=1 prints
# each task's command for the allocation in SLURM_JOB_ID, SLURM_JOB_NODELIST, SLURM_NNODES
# and SLURM_NTASKS (as sbatch sets them, or given by hand), and runs nothing.
#SBATCH --job-name=cvision
#SBATCH --cpus-per-task=8
set -euo pipefail
config=$1; shift

# sbatch runs a copy of this script from its spool folder: then quoting.sh is found
# under the folder the job was submitted from.
quoting=$(dirname "${BASH_SOURCE[0]}")/quoting.sh
[[ -f $quoting ]] || quoting=${SLURM_SUBMIT_DIR:-.}/launch/quoting.sh
source "$quoting"

first_node() {  # the first host of a node list: 'gpu[07-09,12],cpu1' -> gpu07
  if command -v scontrol > /dev/null; then
    scontrol show hostnames "$1" | head -n 1
    return
  fi
  local prefix=${1%%[\[,]*}
  local rest=${1:${#prefix}}
  if [[ $rest == \[* ]]; then rest=${rest:1}; echo "$prefix${rest%%[],-]*}"; else echo "$prefix"; fi
}

port=${JAX_COORDINATOR_PORT:-$((SLURM_JOB_ID % 4096 + 61440))}
flags=(--multihost --coordinator_address="$(first_node "$SLURM_JOB_NODELIST"):$port"
       --num_processes="$SLURM_NTASKS" --config="$config" "$@")
if [[ ${DRY_RUN:-0} == 1 ]]; then
  per_node=$((SLURM_NTASKS / SLURM_NNODES))  # srun's default block distribution
  for ((task = 0; task < SLURM_NTASKS; task++)); do
    echo "task $task (node $((task / per_node)), SLURM_LOCALID=$((task % per_node))):" \
      "$(quoted python -m cvision.main "${flags[@]}" --process_id="$task")"
  done
  exit 0
fi
srun bash -c 'exec python -m cvision.main "$@" --process_id="$SLURM_PROCID"' task "${flags[@]}"
