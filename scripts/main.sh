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
# jobs/local.sh: mpirun over every core, --resume when the archive exists, log next to it.
ABSREP=build/drivers/absrep jobs/local.sh jobs/configs/phase-diagram.yaml "$archive"
build/drivers/absrep inspect "$archive"
# Debian's python3 has h5py and matplotlib even where another python3 comes first on PATH.
python=/usr/bin/python3
[ -x "$python" ] || python=python3
"$python" scripts/plot_phase_diagram.py "$archive" -o "$out/phase-diagram.png"
