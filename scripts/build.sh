#!/usr/bin/env bash
# Configure and build absrep (Release, -O3 -march=native) into ./build, using every core.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build build -j "$(nproc)"
