#!/usr/bin/env bash
# Cloud TPU VM (single host or pod slice): runs the same command on every worker.
#   bash launch/tpu_vm.sh TPU_NAME ZONE experiments/codec_cr236.py --workdir=gs://bucket/run
# jax.distributed.initialize() (from --multihost) finds the other workers by itself on TPU.
set -euo pipefail
tpu=$1; zone=$2; config=$3; shift 3
repo=${REPO_DIR:-~/cvision}
gcloud compute tpus tpu-vm ssh "$tpu" --zone="$zone" --worker=all --command="
  cd $repo && pip install -q -r requirements.txt 'jax[tpu]==0.10.2' -e . &&
  python -m cvision.main --multihost --config=$config $*"
