#!/usr/bin/env python3
"""End-to-end tests of `absrep sweep` and `absrep inspect` (issue 4).

Each test is one ctest entry: e2e_sweep.py --exe ABSREP --mpiexec MPIEXEC --workdir DIR TEST.
  serial_vs_mpi   1 rank and 2 ranks give bit-identical archives (timings aside), readable by
                  h5py and by xarray (h5netcdf) with named dims and coordinates
  direct_calls    archive values equal direct `absrep theory/train/meanfield --json` calls
  kill_resume     SIGKILL mid-run, then --resume: nothing lost, nothing repeated, the archive
                  equals an uninterrupted run's; resuming a finished run is a no-op
  sigterm         SIGTERM: exit 143, a resume hint, a consistent archive; --resume finishes it
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


def test_kill_resume(args):
    cfg = write("long.yaml", LONG)
    sweep(args, cfg, "reference.h5")
    for attempt, delay in enumerate((0.7, 1.5)):
        out = f"killed{attempt}.h5"
        proc = subprocess.Popen([args.exe, "sweep", cfg, "--output", out, "--snapshot-seconds", "0.3"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
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
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, (proc.returncode, out, err)
    assert "--resume" in out, out
    with h5py.File("term.h5") as f:  # consistent and partial
        status = f["train/status"][()]
        assert (status == 0).any() and (status == 1).any()
    sweep(args, cfg, "term.h5", "--resume")
    same_archives("reference.h5", "term.h5")


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
