#!/usr/bin/env python3
"""Learning trajectories of an anisotropic task (issue 6): loss and PS along training.

  trajectory.py --exe build/drivers/absrep [--out docs/trajectory]

Trains one network per initial-weight scale with full-batch GD (`absrep train --record-every`)
on labels of unequal output scales s = (4, 1, 0.25) and plots loss and PS against the
iteration. With small initial weights the labels are learned one after another (plateaus in
the loss, the strongest label first); at the default scale the network starts in the lazy
regime and drifts. Writes OUT.png and prints the plateaus' levels.
"""
import argparse
import json
import subprocess


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exe", required=True)
    p.add_argument("--out", default="docs/trajectory")
    p.add_argument("--problem", default="--labels 3 --label-scales 4,1,0.25 --width 64 --lam 0.01")
    p.add_argument("--scales", default="1,0.001")
    p.add_argument("--iterations", type=int, default=4000)
    args = p.parse_args()
    runs = {}
    for scale in args.scales.split(","):
        cmd = [args.exe, "train", *args.problem.split(), "--optimizer", "gd", "--lr", "0.005", "--init-scale", scale,
               "--max-iter", str(args.iterations), "--record-every", "10", "--no-polish", "--json"]
        runs[scale] = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)["trajectory"]
        t = runs[scale]
        print(f"init scale {scale}: loss " + ", ".join(f"{e:.3g}@{i}" for i, e in
                                                       list(zip(t["iteration"], t["energy"]))[::len(t["energy"]) // 12]))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    for scale, t in runs.items():
        ax[0].semilogy(t["iteration"], t["energy"], label=f"init scale {scale}")
        ax[1].plot(t["iteration"], t["ps"], label=f"init scale {scale}")
    ax[0].set(xlabel="GD iteration", ylabel="loss", title="loss (labels with s = 4, 1, 0.25)")
    ax[1].set(xlabel="GD iteration", ylabel="PS", title="parallelism score", ylim=(0, 1.05))
    for a in ax:
        a.legend()
    fig.suptitle(f"learning trajectories ({args.problem}, GD lr 0.005)", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.out + ".png", dpi=110)
    print(f"wrote {args.out}.png")


if __name__ == "__main__":
    main()
