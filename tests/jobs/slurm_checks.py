#!/usr/bin/env python3
"""Jobs on a real (one-node) Slurm: run by slurm_e2e.sh once the cluster is up (issue 5).

  A  jobs/submit.sh with a site file submits jobs/slurm/sweep.sbatch on a small config (2 tasks,
     srun): the job completes, its run directory holds the archive (2 MPI ranks, the job id in
     the provenance), the log and the config, and the archive equals a direct serial sweep's.
  B  jobs/submit.sh --slabs 2: a job array of two slabs; `absrep merge` of the parts equals the
     same direct sweep.
  C  sbatch --time=1 --signal=B:USR1@10 on a config sized (by a calibration run) to take about 75 s:
     longer than the latest first signal (Slurm checks limits every 30 s, so with this lead the
     signal comes 20-50 s into a run). Slurm signals the job, the sweep stops and flushes (exit 143),
     the job requeues itself, the restarted job resumes (--resume) and finishes; the archive is
     complete, nothing ran twice, Slurm's output file kept every start (--open-mode=append), and
     the archive equals an uninterrupted run's (computed meanwhile outside Slurm).
"""
import argparse
import math
import os
import re
import subprocess
import sys
import time

import h5py
import xarray as xr

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sweep"))
from e2e_sweep import SMALL, journal_units, same_archives, write  # noqa: E402

T0 = time.time()
TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE",
            "PREEMPTED"}

LONG = """study: slurm-requeue
seed: 7
problem:
  labels: 3
  alpha: {{geomspace: [0.5, 8, {n}]}}
  beta: 1.0
model:
  activation: [relu, tanh]
  width: 32
  lam: [0.003, 0.01, 0.03]
solvers:
  theory: {{}}
  train: {{replicates: 4}}
"""
UNITS_PER_ALPHA = 2 * 3 * (1 + 4)


def say(msg):
    print(f"[slurm-test {time.time() - T0:6.1f}s] {msg}", flush=True)


def run(cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check:
        assert r.returncode == 0, f"{cmd}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def jobs_of(jobid):
    """scontrol's view of a job (or of every task of an array): one dict per job."""
    out = run(["scontrol", "show", "job", "-o", str(jobid)], check=False).stdout
    return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in out.splitlines() if line.strip()]


def wait_for(jobid, timeout, name):
    """Polls until every job of `jobid` has ended; reports each state change with its time."""
    deadline, last, restarts = time.time() + timeout, None, 0
    while time.time() < deadline:
        infos = jobs_of(jobid)
        states = tuple((j.get("JobId"), j.get("JobState"), j.get("Restarts")) for j in infos)
        if states != last:
            say(f"job {name} {jobid}: " + ", ".join(f"{i} {s} (restarts {r})" for i, s, r in states))
            last = states
        restarts = max([restarts] + [int(j.get("Restarts", 0)) for j in infos])
        if infos and all(j.get("JobState") in TERMINAL for j in infos):
            return infos
        time.sleep(1)
    raise AssertionError(f"job {name} {jobid} did not end within {timeout} s: {last}")


def dump(path):
    if os.path.exists(path):
        with open(path) as f:
            return f"--- {path}\n{f.read()}"
    return f"--- {path}: missing"


def submit(cmd, env):
    r = run(cmd, env=env)
    return r.stdout.strip().split(";")[0].splitlines()[-1]


def check_job_a(args, env, direct):
    jobid = submit([os.path.join(args.root, "jobs/submit.sh"), "--site", "ci.env", "small.yaml", "--", "--parsable"],
                   env)
    [info] = wait_for(jobid, 120, "A", )
    rundir = f"runs/absrep-small-{jobid}"
    diag = dump(f"{rundir}/small.log") + dump(f"slurm-{jobid}.out")
    assert info["JobState"] == "COMPLETED" and info["ExitCode"] == "0:0", (info, diag)
    archive = f"{rundir}/small.h5"
    assert os.path.exists(f"{rundir}/config.yaml") and os.path.exists(f"{rundir}/small.h5.journal"), diag
    with h5py.File(archive) as f:
        assert int(f.attrs["mpi_ranks"]) == 2, (int(f.attrs["mpi_ranks"]), diag)  # srun gave one MPI world
        assert int(f.attrs["units_done"]) == int(f.attrs["units_total"]) == 24
        assert [j.decode() if isinstance(j, bytes) else j for j in f["provenance/runs/job_id"][()]] == [jobid]
        assert (f["train/status"][()] == 1).all()
    xr.open_dataset(archive, group="train", engine="h5netcdf").close()
    same_archives(direct, archive)
    say(f"job A {jobid}: complete archive from 2 ranks under srun, equal to the direct run")


def check_job_b(args, env, direct):
    jobid = submit([os.path.join(args.root, "jobs/submit.sh"), "--site", "ci.env", "--slabs", "2", "small.yaml",
                    "--", "--parsable", "--ntasks-per-node=1"], env)
    infos = wait_for(jobid, 120, "B")
    rundir = f"runs/absrep-small-{jobid}"
    diag = dump(f"{rundir}/part_0.log") + dump(f"{rundir}/part_1.log")
    assert len(infos) == 2 and all(j["JobState"] == "COMPLETED" for j in infos), (infos, diag)
    for i in range(2):
        with h5py.File(f"{rundir}/part_{i}.h5") as f:
            assert f.attrs["slab"] == f"{i}/2" and int(f.attrs["units_done"]) == 12, diag
    with open(f"{rundir}/part_1.log") as f:
        assert "when every slab is done" in f.read()
    r = run([args.exe, "merge", f"{rundir}/merged.h5", f"{rundir}/part_0.h5", f"{rundir}/part_1.h5"])
    assert "24 of 24 units" in r.stdout, r.stdout
    same_archives(direct, f"{rundir}/merged.h5")
    say(f"job B {jobid}: two slabs as an array, merged: equal to the direct run")


def calibrate(args):
    """Units per second of one rank on this machine, for the long config, measured as job C will
    run: two one-rank sweeps at once (the job and the reference beside it)."""
    write("calibrate.yaml", LONG.format(n=10))
    t = time.time()
    procs = [subprocess.Popen([args.exe, "sweep", "calibrate.yaml", "--output", f"calibrate{i}.h5"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(2)]
    assert all(p.wait() == 0 for p in procs), "calibration sweeps failed"
    rate = 10 * UNITS_PER_ALPHA / max(time.time() - t - 0.3, 0.1)
    n = min(3000, max(20, math.ceil(args.work_seconds * rate / UNITS_PER_ALPHA)))
    say(f"calibration: {rate:.0f} units/s on one rank; the long config gets {n} alpha values "
        f"({n * UNITS_PER_ALPHA} units, about {args.work_seconds} s)")
    return n


def check_job_c(args, env, partition):
    n = calibrate(args)
    total = n * UNITS_PER_ALPHA
    write("long.yaml", LONG.format(n=n))
    # Submitted by hand, as the README shows: the site file only through ABSREP_SITE (modules,
    # sweep flags, requeue limit), the project root found through scontrol.
    job_env = dict(env, ABSREP_SITE=os.path.abspath("ci.env"))
    job_env.pop("ABSREP_ROOT", None)
    jobid = submit(["sbatch", "--parsable", f"--partition={partition}", "--ntasks=1", "--time=1",
                    "--signal=B:USR1@10", os.path.join(args.root, "jobs/slurm/sweep.sbatch"), "long.yaml"], job_env)
    say(f"job C {jobid}: {total} units, --time=1 --signal=B:USR1@10; the reference runs meanwhile outside Slurm")
    reference = subprocess.Popen([args.exe, "sweep", "long.yaml", "--output", "reference.h5"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    [info] = wait_for(jobid, args.job_timeout, "C")
    _, err = reference.communicate(timeout=600)
    assert reference.returncode == 0, err
    rundir = f"runs/absrep-sweep-{jobid}"
    log, out = f"{rundir}/long.log", f"slurm-{jobid}.out"
    diag = dump(log) + dump(out)
    restarts = int(info["Restarts"])
    assert info["JobState"] == "COMPLETED" and info["ExitCode"] == "0:0", (info, diag)
    assert restarts >= 1, ("the job ended without a requeue: it finished before Slurm's warning; give it more work",
                           diag)
    with open(log) as f:
        text = f.read()
    assert text.count("received SIGUSR1") == restarts, diag
    assert text.count("time limit near: requeueing job") == restarts, diag
    assert text.count("sweep exited with 143") == restarts and "finished: " in text, diag
    assert len(re.findall(r"srun .* --resume", text)) == restarts, diag
    with open(out) as f:  # --open-mode=append: every start's lines survive the requeues
        starts = f.read()
    for r in range(restarts + 1):
        assert f"(restart {r})" in starts, (r, diag)
    archive = f"{rundir}/long.h5"
    with h5py.File(archive) as f:
        assert int(f.attrs["units_done"]) == int(f.attrs["units_total"]) == total
        assert not (f["train/status"][()] == 0).any() and not (f["theory/status"][()] == 0).any()
        done = f["provenance/runs/units_done"][()].tolist()
        ids = [j.decode() if isinstance(j, bytes) else j for j in f["provenance/runs/job_id"][()]]
        starts_utc = [s.decode() if isinstance(s, bytes) else s for s in f["provenance/runs/start_utc"][()]]
    assert len(done) == restarts + 1 and sum(done) == total and all(d > 0 for d in done[:1]), (done, diag)
    assert ids == [jobid] * (restarts + 1), ids
    assert journal_units(archive + ".journal") == total, "units ran twice"
    same_archives("reference.h5", archive)
    say(f"job C {jobid}: signalled, requeued {restarts}x, resumed and finished; units per run {done} "
        f"(starts {', '.join(starts_utc)}); the archive equals the uninterrupted run")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exe", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--work-seconds", type=float, default=75)
    p.add_argument("--job-timeout", type=float, default=240)
    args = p.parse_args()
    args.exe, args.root = os.path.abspath(args.exe), os.path.abspath(args.root)
    os.makedirs(args.workdir, exist_ok=True)
    os.chdir(args.workdir)
    subprocess.run(["rm", "-rf", "--", *os.listdir(".")], check=True)

    partition = run(["sinfo", "-h", "-o", "%P"]).stdout.split()[0].rstrip("*")
    write("ci.env", f"""# the test's site file
ABSREP_SCHEDULER=slurm
ABSREP_PARTITION={partition}
ABSREP_NODES=1
ABSREP_TASKS_PER_NODE=2
ABSREP_WALLTIME=00:05:00
ABSREP_TIME_LEAD=60
ABSREP_SWEEP_FLAGS="--progress-seconds 5 --snapshot-seconds 5"
ABSREP_MAX_REQUEUES=6
ABSREP_RUNS={os.path.abspath('runs')}
""")
    env = dict(os.environ, ABSREP=args.exe, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    for k in [k for k in env if k.startswith("SLURM_") or k in ("ABSREP_SITE", "ABSREP_RUN_DIR")]:
        del env[k]
    write("small.yaml", SMALL)
    run([args.exe, "sweep", "small.yaml", "--output", "direct.h5"])
    check_job_a(args, env, "direct.h5")
    check_job_b(args, env, "direct.h5")
    check_job_c(args, env, partition)
    say("all Slurm checks passed")


if __name__ == "__main__":
    sys.exit(main())
