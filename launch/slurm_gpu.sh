#!/usr/bin/env bash
# Multi-node GPU with SLURM: one process per GPU; jax.distributed.initialize() reads the
# SLURM environment (coordinator, process count and id) by itself.
#   sbatch --nodes=2 --gpus-per-node=8 --ntasks-per-node=8 launch/slurm_gpu.sh \
#       experiments/codec_cr236.py --workdir=/shared/runs/cr236
#SBATCH --job-name=cvision
#SBATCH --cpus-per-task=8
set -euo pipefail
config=$1; shift
srun python -m cvision.main --multihost --config="$config" "$@"
