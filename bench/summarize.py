#!/usr/bin/python3
"""The GFLOP/s table of README's "Benchmarks" from Google Benchmark JSON files (run_benchmarks.sh
writes absrep_bench.json and absrep_bench_eigenblas.json): each matrix-bound benchmark's rate
next to the DGEMM rates measured in the same binary, at the shapes of its products where it has
them (the loss's two big products) and at n = 1024.

    bench/summarize.py BUILD/bench-results/absrep_bench.json [BUILD/bench-results/absrep_bench_eigenblas.json]
"""
import json
import sys


def load(path):
    with open(path) as f:
        data = json.load(f)
    rows = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name", "median") != "median":
            continue
        name = b.get("run_name", b["name"]).replace("_median", "")
        rows[name] = b
    return data["context"], rows


# Benchmarks whose flops are the loss's two big products (and the m-row ones): compared with DGEMM at
# exactly those shapes (harmonic mean of the two for loss + gradient). The rest against n = 1024;
# e(h) and the KKT ratio are matrix-vector products (GEMV: bound by memory, not by the FMA units).
SAME_SHAPES = ("LossGrad", "LossGradFused", "Loss")


def gflops(row):
    return row["FLOPS"] / 1e9 if row and "FLOPS" in row else None


def hmean(a, b):
    return 2 / (1 / a + 1 / b)


def table(path, label):
    ctx, rows = load(path)
    print(f"{label} ({ctx.get('eigen_products', '?')}; load average {ctx.get('load_avg', ['?'])[0]:.2f})")
    print("| benchmark | CPU time | GFLOP/s | Eigen product DGEMM (as built), same shapes | OpenBLAS DGEMM, same shapes | "
          "% of OpenBLAS | % of Eigen |")
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        if name.startswith("DGEMM") or gflops(row) is None:
            continue
        kind, _, size = name.partition("/")
        g = gflops(row)
        ref_e = ref_o = None
        if kind in SAME_SHAPES and f"DGEMM_eigen/{size}_fwd(NxDxP)" in rows:
            fe, ge = (gflops(rows[f"DGEMM_eigen/{size}_{s}"]) for s in ("fwd(NxDxP)", "grad(NxPxD)"))
            ref_e = fe if kind == "Loss" else hmean(fe, ge)
            fo = rows.get(f"DGEMM_openblas/{size}_fwd(NxDxP)")
            go = rows.get(f"DGEMM_openblas/{size}_grad(NxPxD)")
            if fo and go:
                ref_o = gflops(fo) if kind == "Loss" else hmean(gflops(fo), gflops(go))
        else:
            ref_e = gflops(rows.get("DGEMM_eigen/n=1024"))
            ref_o = gflops(rows.get("DGEMM_openblas/n=1024"))
        unit = row.get("time_unit", "ns")
        pct_o = f"{100 * g / ref_o:.0f}%" if ref_o else "-"
        pct_e = f"{100 * g / ref_e:.0f}%" if ref_e else "-"
        where = "" if kind in SAME_SHAPES else " (n=1024)"
        print(f"| {name} | {row['cpu_time']:.3g} {unit} | {g:.1f} | {ref_e:.1f}{where} | "
              f"{(f'{ref_o:.1f}' if ref_o else '-')}{where} | {pct_o} | {pct_e} |")
    print()
    print("| DGEMM | Eigen GFLOP/s | OpenBLAS GFLOP/s | OpenBLAS / Eigen |")
    print("|---|---|---|---|")
    for name, row in rows.items():
        if name.startswith("DGEMM_eigen/"):
            shape = name.split("/", 1)[1]
            o = rows.get(f"DGEMM_openblas/{shape}")
            e = gflops(row)
            print(f"| {shape} | {e:.1f} | {gflops(o):.1f} | {gflops(o) / e:.2f} |" if o else f"| {shape} | {e:.1f} | - | - |")
    print()


def main():
    for i, path in enumerate(sys.argv[1:]):
        table(path, ["absrep_bench", "absrep_bench_eigenblas"][min(i, 1)])


if __name__ == "__main__":
    main()
