#!/usr/bin/env bash
# Several machines without a scheduler (GPU hosts, or CPU ones): run this on each of them,
# with the same coordinator (host:port of process 0's machine) and its own process id.
#   bash launch/multi_host.sh 10.0.0.1:8476 2 0 experiments/codec_cr236.py --workdir=/shared/r
#   bash launch/multi_host.sh 10.0.0.1:8476 2 1 experiments/codec_cr236.py --workdir=/shared/r
# Each process uses every device of its machine; the workdir is shared by all of them.
# DRY_RUN=1 prints the command and runs nothing.
set -euo pipefail
coordinator=$1; processes=$2; process_id=$3; config=$4; shift 4

source "$(dirname "${BASH_SOURCE[0]}")/quoting.sh"

command=(python -m cvision.main --multihost --coordinator_address="$coordinator"
         --num_processes="$processes" --process_id="$process_id" --config="$config" "$@")
if [[ ${DRY_RUN:-0} == 1 ]]; then
  quoted "${command[@]}"
  exit 0
fi
exec "${command[@]}"
