#!/usr/bin/env bash
# The test command: install what is missing, build, run the whole suite (unit, MPI with two
# ranks, end-to-end, job scripts). Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
# Open MPI refuses to run as root unless told it is fine (CI runs as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
