#!/usr/bin/python3
"""absrep against the PyTorch script a researcher would write (bench/peer/torch_peer.py).

Both sides train the same two-layer relu network (float64, full batch, the loss of THEORY.md)
on the same problem from the same initial weights (exported by absrep_peer), for the same number
of iterations, on one thread each (OMP/OpenBLAS threads = 1, torch.set_num_threads(1)); PyTorch
must run on OpenBLAS (checked in its process maps). Times are process CPU time by default (both
sides single-threaded; robust to other load on the machine), wall time with --clock wall. For
each case:

  * seconds per iteration of GD, Adam and L-BFGS (PyTorch: strong Wolfe; absrep: its own
    L-BFGS with an approximate-Wolfe line search, core/lbfgs.hpp; PyTorch's evaluations per
    iteration are shown), as (t(K) - t(1)) / (K - 1) so one-time setup is not charged, best of
    --repeats after an untimed warm-up run; the losses after K GD / Adam steps must agree (the
    same arithmetic up to rounding).
  * time to solution: absrep train() with its defaults (L-BFGS + active-set polish, until the
    Clarke stationarity is <= 1e-8) against torch L-BFGS until |grad| <= 1e-8, or the best it
    reaches in the same wall time and in --budget seconds.
  * the mean-field target: absrep's certified mean-field optimum at m = 3 against the time torch
    needs to train one network (N = 64) to the same energy.

Prints the tables (and writes --json). Exit 77 when torch is not installed.
"""
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse
import json
import math
import platform
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import torch
except ImportError:
    print("compare.py: torch is not installed (apt install python3-torch): skipped", file=sys.stderr)
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_peer  # noqa: E402

# name, m, n, d (0: P), N, GD/Adam iterations, L-BFGS iterations, time-to-solution?
CASES = [
    ("paper N=64", 3, 1, 0, 64, 3000, 300, True),
    ("small", 3, 1, 0, 512, 2000, 200, True),
    ("P=32", 3, 4, 0, 512, 1000, 100, True),
    ("medium", 5, 4, 0, 4096, 30, 15, False),
    ("large", 6, 16, 1024, 1024, 6, 4, False),
]
SMOKE = [("smoke", 3, 1, 0, 16, 4, 3, True)]


def blas_in_use():
    """The BLAS libraries mapped into this process after a float64 matmul."""
    a = torch.ones(64, 64, dtype=torch.float64)
    (a @ a).sum().item()
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if "blas" in path or "lapack" in path:
                libs.add(os.path.realpath(path))
    return sorted(libs)


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


class Peer:
    def __init__(self, exe, clock, lam=0.01):
        self.exe, self.clock, self.lam = exe, clock, lam

    def __call__(self, mode, case, *extra):
        _, m, n, d, N = case[:5]
        cmd = [self.exe, mode, "--labels", str(m), "--per-class", str(n), "--input-dim", str(d),
               "--width", str(N), "--lam", str(self.lam), "--seed", "1", "--clock", self.clock, *map(str, extra)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {out.stderr.strip()}")
        return json.loads(out.stdout)


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def gd_lr(P, N):
    # Stable for every case here over the iteration counts used (the W2 block's curvature ~ |phi(Z)|^2).
    return 0.5 / (P * N)


def per_iter_torch(pb, optimizer, lr, iters, repeats):
    best = math.inf
    final = None
    evals = None
    if optimizer == "lbfgs":  # warm-up, not timed
        torch_peer.run_lbfgs(pb, iters)
    else:
        torch_peer.run_first_order(pb, optimizer, lr, iters)
    for _ in range(repeats):
        if optimizer == "lbfgs":
            t1, _, n1, _ = torch_peer.run_lbfgs(pb, 1)
            tk, final, nk, ek = torch_peer.run_lbfgs(pb, iters)
            if nk > n1:
                best = min(best, (tk - t1) / (nk - n1))
            evals = ek / max(nk, 1)
            done = nk
        else:
            t1, _ = torch_peer.run_first_order(pb, optimizer, lr, 1)
            tk, final = torch_peer.run_first_order(pb, optimizer, lr, iters)
            best = min(best, (tk - t1) / (iters - 1))
            done = iters
    return {"seconds_per_iter": best, "loss": final, "iterations": done, "evals_per_iter": evals}


def first_reach(traj, ok):
    for t, loss, g in traj:
        if ok(loss, g):
            return t
    return None


def best_within(traj, seconds):
    pts = [p for p in traj if p[0] <= seconds] or traj[:1]
    return min(p[1] for p in pts), min(p[2] for p in pts)


def fmt_s(x):
    if x is None:
        return "-"
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.3g} ms"
    return f"{x * 1e6:.3g} us"

def target_of(P, N):
    """Issue 7's per-iteration target for a case: the ratio PyTorch time / absrep time to reach."""
    if P <= 32 and N <= 512:
        return 20.0
    if P < 1024:
        return 2.0
    return 1.0


def print_table(title, header, rows):
    print()
    print(title)
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def verdict(value, target, le=False):
    ok = value <= target if le else value >= target
    return f"{'met' if ok else 'MISSED'} ({'<=' if le else '>='} {target:g})"


def print_tables(results):
    rows = []
    for r in results["iterations"]:
        diff = "-" if r["loss_rel_diff"] is None else f"{r['loss_rel_diff']:.1e}"
        note = ""
        if r["optimizer"] == "lbfgs" and r["torch"]["evals_per_iter"]:
            note = f" ({r['torch']['evals_per_iter']:.2f} evals/it)"
        ratio = r["ratio"]
        rows.append([r["case"], str(r["P"]), str(r["N"]), str(r["D"]), r["optimizer"],
                     fmt_s(r["absrep"]["seconds_per_iter"]), fmt_s(r["torch"]["seconds_per_iter"]) + note,
                     (f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x") if ratio else "-",
                     verdict(ratio, target_of(r["P"], r["N"])) if ratio and r["optimizer"] != "lbfgs" else "-",
                     diff])
    print_table("Per iteration (1 thread each; ratio = PyTorch time / absrep time, > 1: absrep faster; "
                "issue 7's targets are for GD/Adam)",
                ["case", "P", "N", "D", "optimizer", "absrep / iter", "PyTorch / iter", "ratio", "target",
                 "final-loss rel. diff"], rows)
    rows = []
    for r in results["solution"]:
        a = r["absrep"]
        reach = fmt_s(r["torch_reach_seconds"]) if r["torch_reach_seconds"] is not None else \
            f"no (in {r['torch_seconds']:.1f} s)"
        s, b = r["torch_at_absrep_time"], r["torch_best"]
        rows.append([r["case"], f"{fmt_s(a['seconds'])} ({a['status']})", f"{a['loss']:.12g}, {a['stationarity']:.1e}",
                     reach, f"{(s['loss'] - a['loss']) / abs(a['loss']):.1e}, {s['gnorm']:.1e}",
                     f"{(b['loss'] - a['loss']) / abs(a['loss']):.1e}, {b['gnorm']:.1e}"])
    if rows:
        print_table("Time to solution (absrep: train() defaults, Clarke stationarity <= 1e-8; "
                    "PyTorch: L-BFGS strong Wolfe until |grad| <= 1e-8 or the budget)",
                    ["case", "absrep", "absrep loss, stationarity", "PyTorch reaches 1e-8",
                     "PyTorch at absrep's time: rel. gap, abs grad", "PyTorch best in budget: rel. gap, abs grad"], rows)
    rows = []
    for r in results["meanfield"]:
        mf = r["meanfield"]
        # PyTorch's time to the certified energy (1e-6 relative), or a lower bound: its whole budget.
        t6 = r["torch_reach_1e-06"]
        ratio = mf["seconds"] / (t6 if t6 else r["torch_seconds"])
        rows.append([r["point"], f"{fmt_s(mf['seconds'])} ({mf['kkt_method']}, {mf['status']})",
                     f"{mf['gap_bound']:.1e}", f"{fmt_s(r['absrep_train']['seconds'])} (N = {r['N']})",
                     fmt_s(r["torch_reach_0.001"]), fmt_s(t6) if t6 else f"no (in {r['torch_seconds']:.1f} s)",
                     f"{r['torch_best_rel_gap']:.1e}", ("" if t6 else "< ") + f"{ratio:.4f}",
                     verdict(ratio, 0.1, le=True)])
    print_table("Mean-field target (m = 3, relu, lambda = 0.01): absrep's certified optimum against "
                "PyTorch training one network to the same energy",
                ["point", "absrep meanfield", "gap bound", "absrep train (N)", "PyTorch to 1e-3", "PyTorch to 1e-6",
                 "PyTorch best rel. gap", "time ratio", "target"], rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", required=True, help="path to the absrep_peer executable")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--budget", type=float, default=20.0, help="PyTorch's wall-time budget for time to solution (s)")
    ap.add_argument("--cases", default="", help="comma-separated case names (default: all)")
    ap.add_argument("--smoke", action="store_true", help="one tiny case, one repeat (the ctest smoke run)")
    ap.add_argument("--json", help="write every number here")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="process CPU time (default; robust to other load on the machine) or wall time")
    ap.add_argument("--allow-reference-blas", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    blas = blas_in_use()
    info = {"cpu": cpu_model(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "blas": blas, "load_average": os.getloadavg()}
    print(f"# machine: {info['cpu']}, {os.cpu_count()} cores; load average {info['load_average'][0]:.2f}")
    info["clock"] = args.clock
    print(f"# clock: {args.clock}; torch {info['torch']}, threads {info['torch_threads']}, BLAS: {', '.join(blas) or 'none mapped'}")
    if not any("openblas" in b for b in blas) and not args.allow_reference_blas:
        print("compare.py: PyTorch is not on OpenBLAS (apt install libopenblas0-pthread); "
              "the comparison would flatter absrep" + (": skipped" if args.smoke else ""), file=sys.stderr)
        return 77 if args.smoke else 1
    cases = SMOKE if args.smoke else [c for c in CASES if not args.cases or c[0] in args.cases.split(",")]
    repeats = 1 if args.smoke else args.repeats
    budget = 0.5 if args.smoke else args.budget
    peer = Peer(args.peer, args.clock)
    if args.clock == "cpu":
        torch_peer.CLOCK = time.process_time
    results = {"info": info, "iterations": [], "solution": [], "meanfield": []}
    tmp = tempfile.mkdtemp(prefix="absrep-peer-")
    try:
        for case in cases:
            name, m, n, d, N, k_first, k_lbfgs, tts = case
            os.makedirs(f"{tmp}/{name}", exist_ok=True)
            shape = peer("export", case, "--out", f"{tmp}/{name}")
            pb = torch_peer.Problem(f"{tmp}/{name}")
            P, D = shape["P"], shape["D"]
            for opt, lr, k in (("gd", gd_lr(P, N), k_first), ("adam", 1e-3, k_first), ("lbfgs", 0, k_lbfgs)):
                a = peer("time", case, "--optimizer", opt, "--lr", lr, "--iters", k, "--repeats", repeats)
                t = per_iter_torch(pb, opt, lr, k, repeats)
                row = {"case": name, "P": P, "D": D, "N": N, "m": m, "optimizer": opt, "iters": k,
                       "absrep": a, "torch": t,
                       "ratio": t["seconds_per_iter"] / a["seconds_per_iter"] if a["seconds_per_iter"] else None,
                       "loss_rel_diff": rel(t["loss"], a["loss"]) if opt != "lbfgs" else None}
                results["iterations"].append(row)
                print(f"  {name:<11} {opt:<5} absrep {fmt_s(a['seconds_per_iter']):>9}/it  "
                      f"torch {fmt_s(t['seconds_per_iter']):>9}/it  x{row['ratio']:.2f}", flush=True)
            if tts:
                a = peer("solve", case, "--repeats", repeats)
                traj = torch_peer.lbfgs_trajectory(pb, budget)
                reach = first_reach(traj, lambda loss, g: g <= 1e-8)
                same_t = best_within(traj, a["seconds"])
                end = best_within(traj, math.inf)
                results["solution"].append({
                    "case": name, "P": P, "N": N, "absrep": a, "torch_reach_seconds": reach,
                    "torch_budget": budget, "torch_seconds": traj[-1][0],
                    "torch_at_absrep_time": {"loss": same_t[0], "gnorm": same_t[1]},
                    "torch_best": {"loss": end[0], "gnorm": end[1]}})
        # The mean-field target: a certified optimum at m = 3 against training one network (N = 64).
        mf_points = [("whitened", []), ("alpha=0.25", ["--alpha", 0.25, "--beta", 1])]
        for label, geo in (mf_points[:1] if args.smoke else mf_points):
            case = ("mf " + label, 3, 1, 0, 16 if args.smoke else 64)
            mf = peer("meanfield", case, *geo, "--repeats", repeats)
            a = peer("solve", case, *geo, "--repeats", repeats)
            os.makedirs(f"{tmp}/mf", exist_ok=True)
            peer("export", case, *geo, "--out", f"{tmp}/mf")
            pb = torch_peer.Problem(f"{tmp}/mf")
            E = mf["energy"]
            traj = torch_peer.lbfgs_trajectory(pb, budget, stop=lambda loss, g: rel(loss, E) <= 1e-6 and loss >= E)
            row = {"point": label, "N": case[4], "meanfield": mf, "absrep_train": a,
                   "torch_seconds": traj[-1][0], "torch_budget": budget,
                   "torch_best_rel_gap": (min(p[1] for p in traj) - E) / abs(E)}
            for tol in (1e-3, 1e-6):
                row[f"torch_reach_{tol:g}"] = first_reach(traj, lambda loss, g, tol=tol: (loss - E) / abs(E) <= tol)
            results["meanfield"].append(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print_tables(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    bad = [r for r in results["iterations"] if r["loss_rel_diff"] is not None and not r["loss_rel_diff"] < 1e-6]
    if bad:
        print("compare.py: the two sides disagree on the loss after K steps (not the same work):",
              [(r["case"], r["optimizer"], r["loss_rel_diff"]) for r in bad], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
