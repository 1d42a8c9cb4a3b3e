#!/usr/bin/env bash
# Every benchmark of issue 7 in one go (README, "Benchmarks"):
#   1. the micro-benchmarks (absrep_bench, and absrep_bench_eigenblas: the library with Eigen's
#      products sent to OpenBLAS), with the DGEMM reference rates measured in the same binaries;
#   2. absrep against the PyTorch peer (bench/peer/compare.py): per-iteration ratios, time to
#      solution, the mean-field target;
#   3. sweep throughput with 1 and 2 ranks and the scheduler's overhead per unit.
# The peer step needs Debian's PyTorch on OpenBLAS: apt install python3-torch libopenblas0-pthread
# (the step is skipped, with a message, when torch is missing). One thread everywhere. Timings
# taken while the machine is busy are unreliable: the scripts print the load average; rerun when
# it is low, and trust side-by-side ratios from one run over absolute times.
#
#   bench/run_benchmarks.sh [BUILD_DIR] [OUT_DIR]        (defaults: build-bench, BUILD_DIR/bench-results)
#   STEPS="micro peer sweep" selects steps; BENCH_MIN_TIME (default 0.5) and
#   BENCH_FILTER (a regex, default all) are Google Benchmark's.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-bench}"
out="${2:-$build/bench-results}"
steps="${STEPS:-micro peer sweep}"
mkdir -p "$out"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DABSREP_BENCH_EIGENBLAS=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target absrep absrep_bench absrep_bench_eigenblas absrep_peer
uptime

if [[ " $steps " == *" micro "* ]]; then
  for exe in absrep_bench absrep_bench_eigenblas; do
    "$build/bench/$exe" --benchmark_min_time="${BENCH_MIN_TIME:-0.5}" --benchmark_repetitions=3 \
      --benchmark_filter="${BENCH_FILTER:-.}" \
      --benchmark_report_aggregates_only=true --benchmark_out="$out/$exe.json" --benchmark_out_format=json \
      | tee "$out/$exe.txt"
  done
  /usr/bin/python3 "$root/bench/summarize.py" "$out/absrep_bench.json" "$out/absrep_bench_eigenblas.json" \
    | tee "$out/summary.md"
fi
if [[ " $steps " == *" peer "* ]]; then
  if /usr/bin/python3 -c "import torch" 2>/dev/null; then
    /usr/bin/python3 "$root/bench/peer/compare.py" --peer "$build/bench/absrep_peer" --json "$out/compare.json" \
      | tee "$out/compare.txt"
  else
    echo "run_benchmarks: PyTorch missing (apt install python3-torch): peer comparison skipped" >&2
  fi
fi
if [[ " $steps " == *" sweep "* ]]; then
  /usr/bin/python3 "$root/bench/sweep_throughput.py" --absrep "$build/drivers/absrep" --config "$root/jobs/configs/phase-diagram.yaml" \
    | tee "$out/sweep.txt"
fi
uptime
