#!/usr/bin/env bash
# The main job: install what is missing, build, run the default phase diagram
# (jobs/configs/phase-diagram.yaml) on this machine's cores, and draw it.
#   scripts/main.sh [OUTPUT_DIR]      (default: runs/)
# Running it again resumes the same archive (a finished one is left as it is).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
out=${1:-runs}
mkdir -p "$out"
archive="$out/phase-diagram.h5"
resume=()
[ -e "$archive.journal" ] && resume=(--resume)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun -n "$(nproc)" --oversubscribe build/drivers/absrep sweep jobs/configs/phase-diagram.yaml \
  --output "$archive" "${resume[@]}"
build/drivers/absrep inspect "$archive"
# Debian's python3 has h5py and matplotlib even where another python3 comes first on PATH.
python=/usr/bin/python3
[ -x "$python" ] || python=python3
"$python" scripts/plot_phase_diagram.py "$archive" -o "$out/phase-diagram.png"
