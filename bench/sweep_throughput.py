#!/usr/bin/python3
"""Sweep throughput of `absrep sweep` (issue 7): units per second with 1 and 2 MPI ranks for a
study config (default: jobs/configs/phase-diagram.yaml), and the scheduler's overhead per unit.

Overhead: a config of trivial units (closed-form theory at m = 2, P = 4: tens of microseconds of
work each) is run at two sizes; the marginal wall time per unit that is not spent inside units,
  ((wall_b - wall_a) * ranks - (work_b - work_a)) / (units_b - units_a),
is the per-unit cost of scheduling, MPI messages, journalling and the archive (the fixed start-up
cost cancels; each size runs --repeats times and the fastest counts). `work` is the sum of the
archive's per-unit `seconds`.

The unit seconds of a run (summed over the archive) against ranks x wall give the busy fraction:
below 1 the ranks waited (start-up, scheduling, the tail of the queue); if the sum of unit seconds
itself grows with the ranks, the units ran slower (other load on the cores), not the scheduler.

Needs Debian's python3 with h5py (the archive is read back for units and seconds).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

TRIVIAL = """study: overhead
seed: 1
problem:
  labels: 2
  alpha: 1.0
  beta: {{geomspace: [0.0625, 16, {points}]}}
model:
  activation: relu
  width: 8
  lam: 0.01
solvers:
  theory: {{}}
output:
  kernels: false
"""


def run(absrep, config, ranks, workdir, tag):
    out = os.path.join(workdir, f"{tag}-{ranks}.h5")
    for f in (out, out + ".journal"):
        if os.path.exists(f):
            os.remove(f)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = ["mpirun", "-n", str(ranks), "--oversubscribe", absrep, "sweep", config, "--output", out,
           "--progress-seconds", "1000"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    units, work = 0, 0.0
    with h5py.File(out, "r") as f:
        for group in ("theory", "meanfield", "train"):
            if group in f and "seconds" in f[group]:
                s = f[group]["seconds"][()]
                st = f[group]["status"][()]
                units += int(np.count_nonzero(st != 0))
                work += float(np.nansum(s))
    return {"ranks": ranks, "wall": wall, "units": units, "work": work, "units_per_s": units / wall}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--absrep", required=True, help="the absrep executable")
    ap.add_argument("--config", default=os.path.join(here, "..", "jobs", "configs", "phase-diagram.yaml"))
    ap.add_argument("--ranks", default="1,2")
    ap.add_argument("--trivial-points", default="1000,20000", help="two sizes of the trivial-unit config")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each trivial config (the fastest counts)")
    ap.add_argument("--config-repeats", type=int, default=3, help="runs of the study config (the fastest counts)")
    ap.add_argument("--skip-config", action="store_true", help="only measure the overhead")
    args = ap.parse_args()
    ranks = [int(r) for r in args.ranks.split(",")]
    small, large = (int(p) for p in args.trivial_points.split(","))
    print(f"# load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="absrep-sweep-") as tmp:
        if not args.skip_config:
            base = None
            print("| config | ranks | units | wall (fastest of %d) | units/s | speed-up | sum of unit seconds | "
                  "busy fraction | load average |" % args.config_repeats)
            print("|---|---|---|---|---|---|---|---|---|")
            # Interleaved (1, 2, 1, 2, ...) so that both rank counts see the same background load.
            runs = {r: [] for r in ranks}
            for _ in range(args.config_repeats):
                for r in ranks:
                    load = os.getloadavg()[0]
                    runs[r].append((run(args.absrep, args.config, r, tmp, "config"), load))
            for r in ranks:
                res, load = min(runs[r], key=lambda x: x[0]["wall"])
                base = base or res["units_per_s"]
                # busy fraction: the share of the ranks' wall time spent inside units (1 = no idle rank).
                busy = res["work"] / (r * res["wall"])
                print(f"| {os.path.basename(args.config)} | {r} | {res['units']} | {res['wall']:.2f} s | "
                      f"{res['units_per_s']:.1f} | {res['units_per_s'] / base:.2f}x | {res['work']:.2f} s | "
                      f"{busy:.2f} | {load:.2f} |", flush=True)
        configs = {}
        for points in (small, large):
            path = os.path.join(tmp, f"trivial-{points}.yaml")
            with open(path, "w") as f:
                f.write(TRIVIAL.format(points=points))
            configs[points] = path
        print()
        print("| ranks | trivial units | wall | units/s | overhead per unit |")
        print("|---|---|---|---|---|")
        for r in ranks:
            a = min((run(args.absrep, configs[small], r, tmp, f"trivial{small}") for _ in range(args.repeats)),
                    key=lambda x: x["wall"])
            b = min((run(args.absrep, configs[large], r, tmp, f"trivial{large}") for _ in range(args.repeats)),
                    key=lambda x: x["wall"])
            overhead = ((b["wall"] - a["wall"]) * r - (b["work"] - a["work"])) / (b["units"] - a["units"])
            print(f"| {r} | {a['units']} / {b['units']} | {a['wall']:.2f} s / {b['wall']:.2f} s | "
                  f"{b['units_per_s']:.0f} | {overhead * 1e3:.3f} ms rank-time "
                  f"(units' own work {b['work'] / b['units'] * 1e3:.3f} ms) |", flush=True)


if __name__ == "__main__":
    main()
