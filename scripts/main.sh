#!/usr/bin/env bash
# The main job: install what is missing, build, and solve the default problem (m = 3 labels,
# whitened inputs, relu, N = 64, λ = 0.01) by theory and by training.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build/drivers/absrep theory
echo
build/drivers/absrep train
