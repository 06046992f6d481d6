#!/usr/bin/env bash
# One machine, all its local devices: bash launch/local.sh experiments/codec_quick.py [flags]
set -euo pipefail
config=$1; shift
exec python -m cvision.main --config="$config" "$@"
