#!/usr/bin/env python3
"""Draw the phase diagram of a sweep archive: parallelism score (PS) versus input alignment α/β.

    python3 scripts/plot_phase_diagram.py run.h5 [-o phase-diagram.png]

One panel per activation: PS from the closed-form theory (where one exists), from the certified
mean-field optimum, and from trained networks (mean over replicates, with their range). For 2-D
grids (a second numeric axis such as lam, or several label counts) it also draws heat maps of the
mean-field PS over α/β and that axis, one per activation (file name suffix -heatmap).
Needs Debian's python3-h5py, python3-numpy and python3-matplotlib.
"""
import argparse
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def text(values):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


def load(f, group):
    """Arrays of one solver group with its dims: {name: (dims, array)} plus coordinates."""
    g = f[group]
    dims = [d[0].name.rsplit("/", 1)[-1] for d in g["ps"].dims]  # the attached dimension scales
    coords = {d: g[d][()] for d in dims}
    if "activation" in coords:
        coords["activation"] = np.array(text(coords["activation"]))
    get = lambda name: g[name][()] if name in g else None  # noqa: E731
    ratio = get("point_alpha") / get("point_beta")
    return dims, coords, {"ps": get("ps"), "status": get("status"), "ratio": ratio}


def take(arr, dims, fixed):
    """Index arr (over dims) at fixed {dim: index}, keeping the other dims."""
    index = tuple(fixed.get(d, slice(None)) for d in dims[: arr.ndim])
    return arr[index]


def line_plot(f, out):
    groups = [g for g in ("theory", "meanfield", "train") if g in f]
    dims, coords, _ = load(f, groups[0])
    acts = list(coords.get("activation", ["?"]))
    others = [d for d in dims if d not in ("activation", "replicate") and d not in ("beta", "alpha")]
    fixed = {d: 0 for d in others}  # extra axes: their first value (see the heat maps)
    fig, axes = plt.subplots(1, len(acts), figsize=(4.2 * len(acts), 3.6), sharey=True, squeeze=False)
    style = {"theory": dict(color="k", ls="--", lw=1.2, label="closed form"),
             "meanfield": dict(color="C0", marker="o", ms=3.5, lw=1.5, label="mean-field (certified)"),
             "train": dict(color="C3", marker="s", ms=3, lw=1, label="trained N=64, mean")}
    for ai, act in enumerate(acts):
        ax = axes[0][ai]
        for group in groups:
            gdims, gc, v = load(f, group)
            sel = dict(fixed)
            if "activation" in gdims:
                sel["activation"] = ai
            ps = take(v["ps"], gdims, sel)
            status = take(v["status"], gdims, sel)
            ratio = take(v["ratio"], gdims, {k: s for k, s in sel.items() if k != "replicate"})
            order = np.argsort(ratio)
            if group == "train":
                ok = np.where(status == 1, ps, np.nan)
                mean, lo, hi = (np.nanmean(ok, axis=-1), np.nanmin(ok, axis=-1), np.nanmax(ok, axis=-1))
                ax.fill_between(ratio[order], lo[order], hi[order], color="C3", alpha=0.2, lw=0)
                ax.plot(ratio[order], mean[order], **style[group])
            else:
                y = np.where(status == 1, ps, np.nan)
                ax.plot(ratio[order], y[order], **style[group])
        ax.set_xscale("log", base=2)
        ax.axvline(1.0, color="0.7", lw=0.8)
        ax.set_title(act)
        ax.set_xlabel("input alignment α/β")
        ax.set_ylim(-0.25, 1.05)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("parallelism score")
    axes[0][-1].legend(loc="lower right", fontsize=8)
    note = ", ".join(f"{d}={coords[d][0]:g}" for d in others)
    fig.suptitle(f"{f.attrs.get('study', '')}: PS vs α/β" + (f" ({note})" if note else ""))
    fig.tight_layout()
    fig.savefig(out, dpi=130)
    print("wrote", out)


def heat_maps(f, out):
    if "meanfield" not in f:
        return
    dims, coords, v = load(f, "meanfield")
    grid = [d for d in dims if d not in ("activation", "beta", "alpha")]
    if not grid:
        return
    y_dim = grid[0]
    acts = list(coords.get("activation", ["?"]))
    fig, axes = plt.subplots(1, len(acts), figsize=(4.2 * len(acts), 3.6), squeeze=False)
    for ai, act in enumerate(acts):
        sel = {d: 0 for d in grid[1:]}
        if "activation" in dims:
            sel["activation"] = ai
        ps = np.where(take(v["status"], dims, sel) == 1, take(v["ps"], dims, sel), np.nan)
        ratio = take(v["ratio"], dims, sel)
        rdims = [d for d in dims if d not in sel]
        if rdims.index(y_dim) == 0:
            ps, ratio = ps.T, ratio.T
        ax = axes[0][ai]
        x = ratio[:, 0]
        order = np.argsort(x)
        im = ax.pcolormesh(x[order], coords[y_dim], ps[order].T, vmin=-0.2, vmax=1.0, cmap="viridis", shading="nearest")
        ax.set_xscale("log", base=2)
        if y_dim.startswith("lam"):
            ax.set_yscale("log")
        ax.set_title(f"{act} (mean-field PS)")
        ax.set_xlabel("α/β")
        ax.set_ylabel(y_dim)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.9)
    root, ext = os.path.splitext(out)
    path = f"{root}-heatmap{ext}"
    fig.savefig(path, dpi=130)
    print("wrote", path)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("archive")
    p.add_argument("-o", "--output", default="phase-diagram.png")
    a = p.parse_args()
    with h5py.File(a.archive, "r") as f:
        line_plot(f, a.output)
        heat_maps(f, a.output)


if __name__ == "__main__":
    main()
