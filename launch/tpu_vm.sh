#!/usr/bin/env bash
# Cloud TPU VM (single host or pod slice): runs the same command on every worker.
#   bash launch/tpu_vm.sh TPU_NAME ZONE experiments/codec_cr236.py --workdir=gs://bucket/run
# jax.distributed.initialize() (from --multihost) finds the other workers by itself: worker
# 0 coordinates, each worker's number is its process id. REPO_DIR: the checkout on the
# workers (default cvision, in the home directory). DRY_RUN=1 prints the gcloud command
# and what each of TPU_WORKERS workers (default 1) runs, and runs nothing.
set -euo pipefail
tpu=$1; zone=$2; config=$3; shift 3

source "$(dirname "${BASH_SOURCE[0]}")/quoting.sh"

python_command=$(quoted python -m cvision.main --multihost --config="$config" "$@")
worker_command="cd ${REPO_DIR:-cvision} && pip install -q -r requirements.txt \
'jax[tpu]==0.10.2' -e . && $python_command"
ssh=(gcloud compute tpus tpu-vm ssh "$tpu" --zone="$zone" --worker=all
     --command="$worker_command")
if [[ ${DRY_RUN:-0} == 1 ]]; then
  quoted "${ssh[@]}"
  for ((worker = 0; worker < ${TPU_WORKERS:-1}; worker++)); do
    echo "worker $worker (process $worker, coordinator: worker 0): $worker_command"
  done
  exit 0
fi
exec "${ssh[@]}"
