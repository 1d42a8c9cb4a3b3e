#!/usr/bin/env python3
"""Finite-width convergence to the mean-field answer (issue 6), and strong scaling of a wide network.

  finite_width.py --exe build/drivers/absrep [--ranks 2] [--out docs/finite-width]

Trains networks of growing width N on one problem (every width under mpirun with --ranks ranks,
the neurons split between them) and compares energy and PS with `absrep meanfield`. Writes
OUT.csv and OUT.png (energy gap E_N - E_mf and |PS_N - PS_mf| against N, log-log) and prints the
table. --scaling N additionally times L-BFGS iterations of a width-N network on 1 and --ranks
ranks (difference of a 100- and a 400-iteration run, so set-up and report are not counted).
"""
import argparse
import csv
import json
import os
import subprocess
import sys


def absrep(args, ranks, *cmd):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    line = [args.exe, *cmd, "--json"]
    if ranks > 1:
        line = ["mpirun", "-n", str(ranks), "--oversubscribe", *line]
    out = subprocess.run(line, capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exe", required=True)
    p.add_argument("--ranks", type=int, default=2)
    p.add_argument("--out", default="docs/finite-width")
    p.add_argument("--activation", default="tanh")
    p.add_argument("--widths", default="6,12,24,48,96,192,384,768,1536,3072,6144")
    p.add_argument("--problem", default="--labels 3 --alpha 1 --beta 1 --lam 0.01")
    p.add_argument("--scaling", type=int, default=0, help="also time L-BFGS iterations at this width")
    p.add_argument("--replot", action="store_true", help="only redraw OUT.png from OUT.csv")
    args = p.parse_args()
    if args.replot:
        with open(args.out + ".csv") as f:
            rows = [{k: (float(v) if k not in ("status",) else v) for k, v in r.items()} for r in csv.DictReader(f)]
        plot(args, rows, None)
        return
    problem = args.problem.split() + ["--activation", args.activation]

    if args.scaling:
        wide = problem + ["--width", str(args.scaling), "--grad-tol", "0"]
        per_iter = {}
        for ranks in (1, args.ranks):
            t = {k: absrep(args, ranks, "train", *wide, "--max-iter", str(k), "--no-polish")["seconds"] for k in (100, 400)}
            per_iter[ranks] = (t[400] - t[100]) / 300
            print(f"N={args.scaling}: {per_iter[ranks] * 1e3:.2f} ms per L-BFGS iteration on {ranks} rank(s)")
        print(f"strong scaling 1 -> {args.ranks} ranks: {per_iter[1] / per_iter[args.ranks]:.2f}x")

    mf = absrep(args, 1, "meanfield", *problem)
    print(f"mean field: E = {mf['energy']:.12g}, PS = {mf['ps']}, atoms {mf.get('atoms')}, status {mf['status']}")
    rows = []
    for n in (int(w) for w in args.widths.split(",")):
        r = absrep(args, args.ranks, "train", *problem, "--width", str(n))
        rows.append(dict(width=n, energy=r["energy"], gap=r["energy"] - mf["energy"], ps=r["ps"],
                         ps_gap=abs(r["ps"] - mf["ps"]), status=r["status"], stationarity=r["stationarity"],
                         seconds=r["seconds"]))
        print(f"N={n:6d}: E = {r['energy']:.12g}  E-E_mf = {rows[-1]['gap']:.3e}  PS = {r['ps']:.9f}  "
              f"{r['status']} ({r['seconds']:.1f} s)", flush=True)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    plot(args, rows, mf["ps"])


def plot(args, rows, mf_ps):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib missing: no plot", file=sys.stderr)
        return
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    N = [r["width"] for r in rows]
    ax[0].loglog(N, [max(r["gap"], 1e-16) for r in rows], "o-")
    ax[0].loglog(N, [rows[0]["gap"] * N[0] / n for n in N], "k--", lw=0.8, label="1/N")
    ax[0].set(xlabel="width N", ylabel="E_N - E_meanfield", title=f"{args.activation}: energy")
    ax[0].legend()
    ax[1].semilogx(N, [r["ps"] for r in rows], "o-", label="trained")
    if mf_ps is not None:
        ax[1].axhline(mf_ps, color="k", ls="--", lw=0.8, label="mean field")
    ax[1].set_ylim(0.0, 1.05)
    ax[1].ticklabel_format(axis="y", useOffset=False)
    worst = max(r["ps_gap"] for r in rows)
    ax[1].set(xlabel="width N", ylabel="PS", title=f"parallelism score (|PS_N - PS_mf| <= {worst:.0e})")
    ax[1].legend(loc="lower right")
    fig.suptitle(f"finite width -> mean field ({args.problem})", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out + ".png", dpi=110)
    print(f"wrote {args.out}.csv and {args.out}.png")


if __name__ == "__main__":
    main()
