#!/usr/bin/env python3
"""End-to-end tests of `absrep sweep` and `absrep inspect` (issue 4).

Each test is one ctest entry: e2e_sweep.py --exe ABSREP --mpiexec MPIEXEC --workdir DIR TEST.
  serial_vs_mpi   1 rank and 2 ranks give bit-identical archives (timings aside), readable by
                  h5py and by xarray (h5netcdf) with named dims and coordinates
  direct_calls    archive values equal direct `absrep theory/train/meanfield --json` calls
  kill_resume     SIGKILL mid-run, then --resume: nothing lost, nothing repeated, the archive
                  equals an uninterrupted run's; resuming a finished run is a no-op
  sigterm         SIGTERM: exit 143, a resume hint, a consistent archive; --resume finishes it
  max_hours       the --max-hours budget (PBS) stops cleanly: exit 143, a consistent archive;
                  --resume finishes it and the archive equals an uninterrupted run's
  slab_merge      --slab i/k runs a disjoint share of the points (the others stay pending,
                  @slab recorded); `absrep merge` of the slabs equals the unsliced run (also
                  when slabs size the label/kernel axes differently); merging refuses other
                  configs, overlapping slabs, missing journals and an existing output; a merge
                  of some slabs is completed by `sweep --resume` on the merged archive
  refuse          --resume with another config is refused; an existing archive is not overwritten
  bad_config      syntax error, unknown key, wrong type, out of range: exit 2, one line naming
                  file:line:column and the field, no archive written
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import xarray as xr

SMALL = """study: e2e
seed: 11
problem:
  labels: 3
  alpha: 1.0
  beta: {geomspace: [0.25, 4, 3]}
model:
  activation: [relu, tanh]
  width: 24
  lam: 0.01
solvers:
  theory: {}
  meanfield: {tol: 1.0e-9}
  train: {replicates: 2}
output:
  kernels: true
"""

# Enough units that a kill lands mid-run (about 120 units of ~20-50 ms).
LONG = """study: resume
seed: 5
problem:
  labels: 3
  alpha: {geomspace: [0.5, 8, 10]}
  beta: 1.0
model:
  activation: relu
  width: 32
  lam: [0.003, 0.01, 0.03]
solvers:
  theory: {}
  train: {replicates: 3}
"""

TIMING = {"seconds"}


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def same_archives(a, b, skip=TIMING):
    """Every solver group's variables equal, NaN-aware, bit for bit (timings aside)."""
    with h5py.File(a) as fa, h5py.File(b) as fb:
        for g in ("theory", "meanfield", "train"):
            assert (g in fa) == (g in fb), g
            if g not in fa:
                continue
            assert sorted(fa[g]) == sorted(fb[g]), (g, sorted(fa[g]), sorted(fb[g]))
            for k in fa[g]:
                if k in skip:
                    continue
                x, y = fa[g][k][()], fb[g][k][()]
                if x.dtype.kind == "f":
                    ok = np.array_equal(x, y, equal_nan=True)
                else:
                    ok = np.array_equal(x, y)
                assert ok, f"{g}/{k} differs between {a} and {b}"
        assert fa["config"][()] == fb["config"][()]


def sweep(args, config, out, *extra, ranks=0, check=True):
    cmd = [args.exe, "sweep", config, "--output", out, "--progress-seconds", "0.5", "--snapshot-seconds", "0.5", *extra]
    if ranks:
        cmd = [args.mpiexec, "-n", str(ranks), "--oversubscribe"] + cmd
    r = run(cmd)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_serial_vs_mpi(args):
    cfg = write("small.yaml", SMALL)
    sweep(args, cfg, "one.h5")
    sweep(args, cfg, "two.h5", ranks=2)
    same_archives("one.h5", "two.h5")
    with h5py.File("two.h5") as f:
        assert f.attrs["schema"] == "absrep/1"
        assert f.attrs["mpi_ranks"] == 2
        assert len(f.attrs["config_sha256"]) == 64
        assert f["train/status"].shape == (3, 2, 2)
        assert (f["train/status"][()] == 1).all(), f["train/status"][()]
        assert f["train/kernel"].shape == (3, 2, 2, 8, 8)
        assert f["provenance/runs/ranks"][()].tolist() == [2]
    for group in ("theory", "meanfield", "train"):
        ds = xr.open_dataset("two.h5", group=group, engine="h5netcdf")
        assert list(ds["ps"].dims)[:2] == ["beta", "activation"], ds["ps"].dims
        assert list(ds["activation"].values) == ["relu", "tanh"]
        np.testing.assert_allclose(ds["beta"].values, [0.25, 1.0, 4.0])
        assert ds["ps"].sel(activation="relu", beta=1.0).notnull().all()
    ds = xr.open_dataset("two.h5", group="train", engine="h5netcdf")
    assert ds["ps"].dims == ("beta", "activation", "replicate")
    # The theory's relu closed form holds only for alpha >= beta: beta = 4 has none.
    th = xr.open_dataset("two.h5", group="theory", engine="h5netcdf")
    assert int(th["status"].sel(activation="relu", beta=4.0)) == 4
    assert int(th["status"].sel(activation="relu", beta=1.0)) == 1
    inspect = run([args.exe, "inspect", "two.h5", "--json"])
    assert inspect.returncode == 0, inspect.stderr
    summary = json.loads(inspect.stdout)
    assert summary["groups"]["train"]["status"]["ok"] == 12
    assert len(summary["groups"]["meanfield"]["ps_along_beta"]) == 3
    text = run([args.exe, "inspect", "two.h5"]).stdout
    assert "PS mean" in text and "[train]" in text, text


def test_direct_calls(args):
    cfg = write("small.yaml", SMALL)
    sweep(args, cfg, "direct.h5")
    with h5py.File("direct.h5") as f:
        betas = f["train/beta"][()]
        acts = [a.decode() if isinstance(a, bytes) else a for a in f["train/activation"][()]]
        for bi, beta in enumerate(betas):
            for ai, act in enumerate(acts):
                problem = ["--labels", "3", "--alpha", "1.0", "--beta", repr(float(beta)), "--activation", act,
                           "--width", "24", "--lam", "0.01"]
                seed = int(f["train/seed"][bi, ai, 1])
                tr = json.loads(run([args.exe, "train", *problem, "--seed", str(seed), "--json"]).stdout)
                assert tr["energy"] == f["train/energy"][bi, ai, 1], (beta, act, tr["energy"], f["train/energy"][bi, ai, 1])
                assert tr["ps"] == f["train/ps"][bi, ai, 1]
                th = json.loads(run([args.exe, "theory", *problem, "--json"]).stdout)
                if th["applicable"]:
                    assert th["energy"] == f["theory/energy"][bi, ai]
                mf_seed = str(int(f["meanfield/seed"][bi, ai]))
                mf = json.loads(run([args.exe, "meanfield", *problem, "--seed", mf_seed, "--json"]).stdout)
                assert mf["energy"] == f["meanfield/energy"][bi, ai], (beta, act)
                assert mf["ps"] == f["meanfield/ps"][bi, ai] or (np.isnan(f["meanfield/ps"][bi, ai]) and mf["ps"] is None)


def journal_units(path):
    """Count the unit records in a journal (length + CRC framing; payload JSON)."""
    import struct
    import zlib
    units = 0
    with open(path, "rb") as f:
        data = f.read()
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack_from("<I", data, pos)
        payload = data[pos + 8: pos + 8 + length]
        if len(payload) < length:
            break
        units += b'"type":"unit"' in payload
        pos += 8 + length
    return units


def signal_after(proc, journal, units, sig, timeout=60.0):
    """Send sig to proc once its journal holds at least `units` unit records. Polling the journal
    instead of sleeping a fixed delay keeps the signal inside the run on fast and slow machines
    alike; the caller's config must be long enough that the run cannot end in one poll (10 ms)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, f"the run ended before {units} units were journalled: lengthen the config"
        if os.path.exists(journal) and journal_units(journal) >= units:
            proc.send_signal(sig)
            return
        time.sleep(0.01)
    raise AssertionError(f"{units} units not journalled within {timeout} s")


# Wide networks split over groups of ranks (solvers.train.ranks_per_unit), beside single-rank
# theory and mean-field units.
GROUPED = """study: grouped
seed: 3
problem:
  labels: 3
  alpha: 1.0
  beta: [0.5, 2.0]
model:
  activation: [relu, tanh]
  width: 700
  lam: 0.01
solvers:
  theory: {}
  meanfield: {}
  train: {replicates: 2, ranks_per_unit: 2, record_every: 100, max_iter: 3000}
"""


def test_grouped(args):
    cfg = write("grouped.yaml", GROUPED)
    sweep(args, cfg, "one.h5")
    r = sweep(args, cfg, "two.h5", ranks=2)
    same_archives("one.h5", "two.h5")  # bit for bit: the split does not change a result
    with h5py.File("two.h5") as f:
        assert f["provenance/runs/ranks"][()].tolist() == [2]
        assert (f["train/status"][()] != 0).all()
    # And the units equal `absrep train` of the same point and seed, serial and split.
    with h5py.File("two.h5") as f:
        seed = str(int(f["train/seed"][0, 0, 1]))
        energy = f["train/energy"][0, 0, 1]
    problem = ["--labels", "3", "--alpha", "1.0", "--beta", "0.5", "--activation", "relu", "--width", "700",
               "--lam", "0.01", "--seed", seed, "--max-iter", "3000", "--record-every", "100", "--json"]
    # Learning trajectories along the archive's iteration axis: those of `absrep train`.
    ds = xr.open_dataset("two.h5", group="train", engine="h5netcdf")
    assert ds["trajectory_energy"].dims == ("beta", "activation", "replicate", "iteration"), ds["trajectory_energy"].dims
    np.testing.assert_array_equal(ds["iteration"].values, np.arange(0, 3001, 100))
    recorded = ds["trajectory_energy"].isel(beta=0, activation=0, replicate=1).values
    for cmd in ([args.exe, "train", *problem], [args.mpiexec, "-n", "2", "--oversubscribe", args.exe, "train", *problem]):
        out = run(cmd)
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        assert report["energy"] == energy, (cmd, out.stdout)
        t = report["trajectory"]
        assert t["iteration"][0] == 0 and t["energy"][0] > t["energy"][-1]
        np.testing.assert_array_equal(recorded[: len(t["energy"])], t["energy"])
        assert np.isnan(recorded[len(t["energy"]):]).all()


def test_kill_resume(args):
    cfg = write("long.yaml", LONG)
    sweep(args, cfg, "reference.h5")
    for attempt, after in enumerate((3, 40)):
        out = f"killed{attempt}.h5"
        proc = subprocess.Popen([args.exe, "sweep", cfg, "--output", out, "--snapshot-seconds", "0.3"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        signal_after(proc, out + ".journal", after, signal.SIGKILL)
        proc.wait()
        done = journal_units(out + ".journal")
        assert 0 < done < 120, f"kill landed at {done} units: adjust LONG"
        r = sweep(args, cfg, out, "--resume")
        assert f"{120 - done} of 120 units to run" in r.stdout, r.stdout
        same_archives("reference.h5", out)
        with h5py.File(out) as f:
            assert f["provenance/runs/units_done"][()].tolist() == [done, 120 - done]
        assert journal_units(out + ".journal") == 120  # nothing repeated
        again = sweep(args, cfg, out, "--resume")
        assert "nothing to do" in again.stdout, again.stdout
        same_archives("reference.h5", out)


def test_sigterm(args):
    cfg = write("long.yaml", LONG)
    sweep(args, cfg, "reference.h5")
    proc = subprocess.Popen([args.exe, "sweep", cfg, "--output", "term.h5"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    signal_after(proc, "term.h5.journal", 10, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, (proc.returncode, out, err)
    assert "--resume" in out, out
    with h5py.File("term.h5") as f:  # consistent and partial
        status = f["train/status"][()]
        assert (status == 0).any() and (status == 1).any()
    sweep(args, cfg, "term.h5", "--resume")
    same_archives("reference.h5", "term.h5")


def test_max_hours(args):
    cfg = write("long.yaml", LONG.replace("[0.5, 8, 10]", "[0.5, 8, 40]"))  # 480 units, 3-15 s
    total = 480
    sweep(args, cfg, "reference.h5")
    # About a second of a run that takes several: the budget is checked before each hand-out.
    r = sweep(args, cfg, "budget.h5", "--max-hours", "0.0003", check=False)
    assert r.returncode == 143, (r.returncode, r.stdout, r.stderr)
    assert "--max-hours budget" in r.stdout and "--resume" in r.stdout, r.stdout
    done = journal_units("budget.h5.journal")
    assert 0 < done < total, f"budget stop at {done} units: adjust the config or the budget"
    with h5py.File("budget.h5") as f:  # the final snapshot holds every journalled unit
        assert int(f.attrs["units_done"]) == done
        assert int((f["train/status"][()] != 0).sum() + (f["theory/status"][()] != 0).sum()) == done
    r = sweep(args, cfg, "budget.h5", "--resume")
    assert f"{total - done} of {total} units to run" in r.stdout, r.stdout
    same_archives("reference.h5", "budget.h5")


# A labels axis: the slab holding only m = 2 points has smaller label and kernel axes than the grid.
LABELS = """study: slabs
seed: 3
problem:
  beta: [0.5, 2.0]
  labels: [2, 3]
  alpha: 1.0
model:
  activation: relu
  width: 16
  lam: 0.01
solvers:
  theory: {}
  meanfield: {}
output:
  kernels: true
"""


def merge(args, out, *parts, check=True):
    r = run([args.exe, "merge", out, *parts])
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_slab_merge(args):
    cfg = write("small.yaml", SMALL)
    sweep(args, cfg, "whole.h5")
    dry = run([args.exe, "sweep", cfg, "--dry-run", "--slab", "1/3"])
    assert "slab 1/3: units 8" in dry.stdout, dry.stdout
    for i in range(3):  # 6 points (beta x activation, row-major): slab i holds points i and i + 3
        r = sweep(args, cfg, f"part_{i}.h5", "--slab", f"{i}/3", ranks=2 if i == 1 else 0)
        assert "8 of 8 units to run" in r.stdout, r.stdout
        with h5py.File(f"part_{i}.h5") as f:
            assert f.attrs["slab"] == f"{i}/3"
            assert int(f.attrs["units_total"]) == 8 and int(f.attrs["units_done"]) == 8
            assert int(f.attrs["grid_units"]) == 24
            status = f["train/status"][()].reshape(6, 2)
            for p in range(6):
                assert (status[p] != 0).all() if p % 3 == i else (status[p] == 0).all(), (i, p, status)
            assert np.isnan(f["meanfield/ps"][()].reshape(6)[[p for p in range(6) if p % 3 != i]]).all()
    # Another slab on the same output is refused; so is a slab for an unsliced archive.
    mixed = sweep(args, cfg, "part_0.h5", "--slab", "1/3", "--resume", check=False)
    assert mixed.returncode == 2 and "slab" in mixed.stderr, mixed.stderr
    r = merge(args, "merged.h5", "part_2.h5", "part_0.h5", "part_1.h5")
    assert "3 parts, 24 of 24 units" in r.stdout, r.stdout
    same_archives("whole.h5", "merged.h5")
    with h5py.File("merged.h5") as f:
        assert "slab" not in f.attrs
        assert int(f.attrs["units_done"]) == 24 and int(f.attrs["units_total"]) == 24
        assert "part_0.h5 (slab 0/3)" in f.attrs["merged_from"]
        assert len(f["provenance/runs/start_utc"]) == 3
    assert journal_units("merged.h5.journal") == 24
    again = sweep(args, cfg, "merged.h5", "--resume")  # a complete merge: nothing to do
    assert "nothing to do" in again.stdout, again.stdout
    inspect = run([args.exe, "inspect", "merged.h5", "--json"])
    assert json.loads(inspect.stdout)["groups"]["train"]["status"]["ok"] == 12, inspect.stdout

    # Refusals: nothing is written.
    other = write("other.yaml", SMALL.replace("seed: 11", "seed: 12"))
    sweep(args, other, "other_1.h5", "--slab", "1/3")
    cases = {
        "config": (["part_0.h5", "other_1.h5"], "different config"),
        "same slab": (["part_0.h5", "part_0.h5"], "overlap"),
        "other k": (["part_0.h5", "part_1.h5", "half_1.h5"], "overlap"),
        "whole": (["whole.h5", "part_1.h5"], "overlap"),
    }
    sweep(args, cfg, "half_1.h5", "--slab", "1/2")  # points 1, 3, 5: point 3 is also in part_0
    for name, (parts, expect) in cases.items():
        r = merge(args, "refused.h5", *parts, check=False)
        assert r.returncode == 2 and expect in r.stderr, (name, r.returncode, r.stderr)
        assert not os.path.exists("refused.h5") and not os.path.exists("refused.h5.journal"), name
    r = merge(args, "merged.h5", "part_0.h5", "part_1.h5", "part_2.h5", check=False)
    assert r.returncode == 2 and "exists" in r.stderr, r.stderr
    os.rename("part_2.h5.journal", "moved.journal")
    r = merge(args, "refused.h5", "part_0.h5", "part_1.h5", "part_2.h5", check=False)
    assert r.returncode == 2 and "part_2.h5.journal is missing" in r.stderr, r.stderr
    assert not os.path.exists("refused.h5")
    os.rename("moved.journal", "part_2.h5.journal")

    # Two slabs of three: a partial merge, then --resume on it runs the missing slab's units.
    r = merge(args, "partial.h5", "part_0.h5", "part_2.h5")
    assert "16 of 24 units" in r.stdout and "8 of 24 units are pending (no part for slab 1/3)" in r.stderr, r
    with h5py.File("partial.h5") as f:
        assert ((f["train/status"][()].reshape(6, 2) == 0).all(axis=1) == [p % 3 == 1 for p in range(6)]).all()
    r = sweep(args, cfg, "partial.h5", "--resume")
    assert "8 of 24 units to run" in r.stdout, r.stdout
    same_archives("whole.h5", "partial.h5")

    # Slabs whose tasks differ in size: part 0 holds only m = 2 points (P = 4), part 1 only m = 3.
    lab = write("labels.yaml", LABELS)
    sweep(args, lab, "lab_whole.h5")
    for i in range(2):
        sweep(args, lab, f"lab_{i}.h5", "--slab", f"{i}/2")
    with h5py.File("lab_0.h5") as f0, h5py.File("lab_whole.h5") as fw:
        assert f0["meanfield/kernel"].shape[-1] < fw["meanfield/kernel"].shape[-1], "the test needs unequal axes"
    merge(args, "lab_merged.h5", "lab_0.h5", "lab_1.h5")
    same_archives("lab_whole.h5", "lab_merged.h5")


def test_refuse(args):
    cfg = write("small.yaml", SMALL)
    sweep(args, cfg, "mine.h5")
    before = os.path.getmtime("mine.h5")
    again = sweep(args, cfg, "mine.h5", check=False)
    assert again.returncode == 2 and "--resume" in again.stderr, again.stderr
    other = write("other.yaml", SMALL.replace("seed: 11", "seed: 12"))
    mixed = sweep(args, other, "mine.h5", "--resume", check=False)
    assert mixed.returncode == 2 and "different config" in mixed.stderr, mixed.stderr
    assert os.path.getmtime("mine.h5") == before


def test_bad_config(args):
    cases = {
        "syntax": ("problem:\n  labels: [3, 4\nsolvers: {theory: {}}\n", "syntax.yaml:3:"),
        "unknown": ("problem:\n  lables: 3\nsolvers: {theory: {}}\n", "unknown.yaml:2:3: problem.lables: unknown key"),
        "type": ("model:\n  width: wide\nsolvers: {theory: {}}\n", "type.yaml:2:10: model.width: must be a number"),
        "range": ("problem:\n  beta: [1, -1]\nsolvers: {theory: {}}\n", "range.yaml:2:9: problem.beta: beta must be positive"),
    }
    for name, (text, expect) in cases.items():
        cfg = write(f"{name}.yaml", text)
        r = sweep(args, cfg, f"{name}.h5", check=False)
        assert r.returncode == 2, (name, r.returncode, r.stderr)
        assert r.stderr.count("\n") == 1 and expect in r.stderr, (name, r.stderr)
        assert not os.path.exists(f"{name}.h5") and not os.path.exists(f"{name}.h5.journal"), name
        dry = run([args.exe, "sweep", cfg, "--dry-run"])
        assert dry.returncode == 2, name
    dry = run([args.exe, "sweep", write("small.yaml", SMALL), "--dry-run"])
    assert dry.returncode == 0 and "points 6, units 24" in dry.stdout, dry.stdout


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exe", required=True)
    p.add_argument("--mpiexec", default="mpiexec")
    p.add_argument("--workdir", required=True)
    p.add_argument("test")
    args = p.parse_args()
    args.exe = os.path.abspath(args.exe)
    os.makedirs(args.workdir, exist_ok=True)
    os.chdir(args.workdir)
    for f in os.listdir("."):
        os.remove(f)
    globals()["test_" + args.test](args)
    print("ok", args.test)


if __name__ == "__main__":
    sys.exit(main())
