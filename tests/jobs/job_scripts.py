#!/usr/bin/env python3
"""Tests of the job scripts in jobs/ that need no batch system (issue 5).

job_scripts.py --exe ABSREP --root SOURCE_DIR --workdir DIR TEST, one ctest entry per TEST:
  local     jobs/local.sh runs a sweep on this machine's ranks into runs/<stem>/, its log next to
            the archive; running it again is a no-op; SIGTERM stops it cleanly (exit 143) and
            running it again finishes an archive equal to a direct `absrep sweep`
  pbs       jobs/pbs/sweep.pbs as PBS runs it (PBS_JOBID, PBS_O_WORKDIR, a PBS_NODEFILE of
            localhost slots, a stub qsub): the --max-hours budget made from the walltime and the
            lead stops the sweep before the walltime with a consistent archive, the job resubmits
            itself through jobs/submit.sh, and running the resubmitted jobs finishes an archive
            equal to an uninterrupted run's
  submit    jobs/submit.sh --dry-run turns a site file into the sbatch / qsub command lines
            (partition, account, nodes, tasks, walltime, the USR1 lead, arrays for --slabs)
"""
import argparse
import os
import shlex
import signal
import subprocess
import sys
import time

import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sweep"))
from e2e_sweep import LONG, SMALL, journal_units, same_archives, signal_after, write  # noqa: E402


def run(cmd, env=None, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, env=env, **kw)


def environment(args, **extra):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith(("ABSREP", "PBS_", "SLURM_")):
            del env[k]
    env.update(ABSREP=args.exe, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.update(extra)
    return env


def test_local(args):
    local = os.path.join(args.root, "jobs", "local.sh")
    write("small.yaml", SMALL)
    env = environment(args, ABSREP_RANKS="2")
    r = run([local, "small.yaml"], env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "on 2 ranks" in r.stdout, r.stdout
    assert os.path.exists("runs/small/small.h5") and os.path.exists("runs/small/small.h5.journal")
    with open("runs/small/small.log") as f:
        assert "24 of 24 units to run on 2 ranks" in f.read()
    again = run([local, "small.yaml"], env)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout + again.stderr
    direct = run([args.exe, "sweep", "small.yaml", "--output", "direct.h5"])
    assert direct.returncode == 0, direct.stderr
    same_archives("direct.h5", "runs/small/small.h5")

    write("long.yaml", LONG)
    proc = subprocess.Popen([local, "long.yaml", "term.h5", "--snapshot-seconds", "0.3"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    signal_after(proc, "runs/long/term.h5.journal", 10, signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 143, (proc.returncode, out)
    assert "received SIGTERM" in out and "the archive is consistent" in out, out
    done = journal_units("runs/long/term.h5.journal")
    assert 0 < done < 120, f"SIGTERM landed at {done} units: adjust the delay"
    r = run([local, "long.yaml", "term.h5"], env)
    assert r.returncode == 0 and f"{120 - done} of 120 units to run" in r.stdout, r.stdout + r.stderr
    ref = run([args.exe, "sweep", "long.yaml", "--output", "reference.h5"])
    assert ref.returncode == 0, ref.stderr
    same_archives("reference.h5", "runs/long/term.h5")


def stub_qsub(bindir, record):
    """A qsub that records each submission (argv, one per line) and answers a job id."""
    os.makedirs(bindir, exist_ok=True)
    path = os.path.join(bindir, "qsub")
    with open(path, "w") as f:
        f.write(f"""#!/usr/bin/env bash
n=$(ls {record}.* 2>/dev/null | wc -l)
printf '%s\\n' "$@" > {record}.$n
echo "$((200 + n)).pbs-stub"
""")
    os.chmod(path, 0o755)


def pbs_vars(argv):
    """The -v NAME=VALUE,... list of a recorded qsub command line."""
    i = argv.index("-v")
    return dict(item.split("=", 1) for item in argv[i + 1].split(","))


def test_pbs(args):
    pbs = os.path.join(args.root, "jobs", "pbs", "sweep.pbs")
    # 720 units, 5-25 s on 2 ranks; each job gets a budget of 2-3 s.
    cfg = os.path.abspath(write("long.yaml", LONG.replace("[0.5, 8, 10]", "[0.5, 8, 60]")))
    total = 720
    ref = run([args.exe, "sweep", cfg, "--output", "reference.h5"])
    assert ref.returncode == 0, ref.stderr
    with open("nodefile", "w") as f:
        f.write("localhost\nlocalhost\n")
    # A 40 s walltime with a 37 s lead: the sweep gets a budget of 3 s less the job's startup. The site file names the scheduler (for the resubmission) and the launcher.
    site = os.path.abspath(write("site.env", "ABSREP_SCHEDULER=pbs\nABSREP_WALLTIME=${ABSREP_WALLTIME:-00:00:40}\n"
                                 "ABSREP_TIME_LEAD=${ABSREP_TIME_LEAD:-37}\n"
                                 "ABSREP_MPIRUN_FLAGS=--oversubscribe\nABSREP_SWEEP_FLAGS='--snapshot-seconds 0.3'\n"
                                 "ABSREP_MAX_REQUEUES=16\n"))
    stub_qsub(os.path.abspath("bin"), os.path.abspath("qsub.record"))
    path = os.path.abspath("bin") + os.pathsep + os.environ["PATH"]
    job_env = dict(PBS_JOBID="101.pbs-stub", PBS_JOBNAME="absrep-long", PBS_O_WORKDIR=os.getcwd(),
                   PBS_NODEFILE=os.path.abspath("nodefile"), PATH=path)
    env = environment(args, CONFIG=cfg, ABSREP_SITE=site, ABSREP_ROOT=args.root, ABSREP_WALLTIME="00:00:40",
                      ABSREP_TIME_LEAD="37", **job_env)
    rundir = os.path.abspath("runs/absrep-long-101")
    archive = os.path.join(rundir, "long.h5")
    t0 = time.time()
    r = run([pbs], env)
    took = time.time() - t0
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert f"run directory {rundir}" in r.stdout, r.stdout
    with open(os.path.join(rundir, "long.log")) as f:
        log = f.read()
    assert "the sweep stops handing out work after" in log and "--max-hours 0.000" in log, log
    assert "stopped by the --max-hours budget" in log and "budget spent: resubmitting" in log, log
    assert took < 40 - 10, f"the budget stop took {took:.1f} s of a 40 s walltime"
    done = journal_units(archive + ".journal")
    assert 0 < done < total, f"budget stop at {done} units"
    with h5py.File(archive) as f:
        assert int(f.attrs["units_done"]) == done
        assert f["provenance/runs/job_id"][()].tolist() in ([b"101.pbs-stub"], ["101.pbs-stub"])
    assert os.path.exists(os.path.join(rundir, "config.yaml"))

    # Run the resubmitted jobs as PBS would, until one finishes without resubmitting.
    for n in range(16):
        with open(f"qsub.record.{n}") as f:
            argv = f.read().splitlines()
        assert argv[-1] == pbs and "-l" in argv and "walltime=00:00:40" in argv, argv
        v = pbs_vars(argv)
        assert v["ABSREP_RUN_DIR"] == rundir and v["OUTPUT"] == archive and v["ABSREP_RESUBMITS"] == str(n + 1), v
        env = environment(args, **v, PBS_JOBID=f"{200 + n}.pbs-stub", PBS_JOBNAME="absrep-long",
                          PBS_O_WORKDIR=os.getcwd(), PBS_NODEFILE=os.path.abspath("nodefile"), PATH=path)
        r = run([pbs], env)
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        if not os.path.exists(f"qsub.record.{n + 1}"):
            break
    else:
        raise AssertionError("still resubmitting after 16 jobs")
    with open(os.path.join(rundir, "long.log")) as f:
        assert f"finished: {archive}" in f.read()
    same_archives("reference.h5", archive)
    assert journal_units(archive + ".journal") == total  # nothing repeated
    with h5py.File(archive) as f:
        assert len(f["provenance/runs/job_id"]) == n + 2

    # A qdel (SIGTERM) stops cleanly and does not resubmit.
    for f in os.listdir("."):
        if f.startswith("qsub.record"):
            os.remove(f)
    env = environment(args, CONFIG=cfg, OUTPUT="qdel.h5", ABSREP_SITE=site, ABSREP_ROOT=args.root,
                      ABSREP_WALLTIME="01:00:00", ABSREP_TIME_LEAD="60", **dict(job_env, PBS_JOBID="102.pbs-stub"))
    proc = subprocess.Popen([pbs], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    signal_after(proc, "runs/absrep-long-102/qdel.h5.journal", 10, signal.SIGTERM)
    proc.communicate(timeout=60)
    assert proc.returncode == 143, proc.returncode
    with open("runs/absrep-long-102/qdel.log") as f:
        log = f.read()
    assert "received SIGTERM" in log and "continue it with" in log, log
    assert not os.path.exists("qsub.record.0"), "a qdel must not resubmit"


def test_submit(args):
    submit = os.path.join(args.root, "jobs", "submit.sh")
    cfg = os.path.abspath(write("phase.yaml", SMALL))
    site = os.path.abspath(write("site.env", "ABSREP_SCHEDULER=slurm\nABSREP_PARTITION=short\nABSREP_ACCOUNT=proj7\n"
                                 "ABSREP_NODES=2\nABSREP_TASKS_PER_NODE=16\nABSREP_WALLTIME=02:00:00\n"
                                 "ABSREP_TIME_LEAD=240\n"))
    env = environment(args)
    r = run([submit, "--site", site, "--dry-run", cfg, "out.h5", "--", "--qos=debug"], env)
    assert r.returncode == 0, r.stderr
    argv = shlex.split(r.stdout)
    assert argv[0] == "sbatch", argv
    for flag in ("--job-name=absrep-phase", "--partition=short", "--account=proj7", "--nodes=2",
                 "--ntasks-per-node=16", "--time=02:00:00", "--signal=B:USR1@240", "--qos=debug"):
        assert flag in argv, (flag, argv)
    assert argv[-3:] == [os.path.join(args.root, "jobs/slurm/sweep.sbatch"), cfg, "out.h5"], argv
    exports = [a for a in argv if a.startswith("--export=")][0]
    assert f"ABSREP_SITE={site}" in exports and f"ABSREP_ROOT={args.root}" in exports, exports
    r = run([submit, "--site", site, "--dry-run", "--slabs", "4", cfg], env)
    argv = shlex.split(r.stdout)
    assert "--array=0-3" in argv and "ABSREP_SLABS=4" in [a for a in argv if a.startswith("--export=")][0], argv

    pbs_site = os.path.abspath(write("pbs.env", "ABSREP_SCHEDULER=pbs\nABSREP_PARTITION=workq\nABSREP_NODES=2\n"
                                     "ABSREP_TASKS_PER_NODE=8\nABSREP_WALLTIME=03:00:00\n"))
    r = run([submit, "--site", pbs_site, "--dry-run", "--slabs", "3", cfg], env)
    assert r.returncode == 0, r.stderr
    argv = shlex.split(r.stdout)
    assert argv[:3] == ["qsub", "-N", "absrep-phase"], argv
    for pair in (["-q", "workq"], ["-l", "select=2:ncpus=8:mpiprocs=8"], ["-l", "walltime=03:00:00"], ["-J", "0-2"]):
        assert any(argv[i:i + 2] == pair for i in range(len(argv))), (pair, argv)
    v = pbs_vars(argv)
    assert v["CONFIG"] == cfg and v["ABSREP_WALLTIME"] == "03:00:00" and v["ABSREP_SLABS"] == "3", v
    bad = run([submit, "--site", site, "--dry-run", "--slabs", "1", cfg], env)
    assert bad.returncode == 2 and "--slabs" in bad.stderr, bad.stderr
    missing = run([submit, "--site", site, "--dry-run", "nope.yaml"], env)
    assert missing.returncode == 2 and "no config" in missing.stderr, missing.stderr


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--exe", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("test")
    args = p.parse_args()
    args.exe = os.path.abspath(args.exe)
    args.root = os.path.abspath(args.root)
    os.makedirs(args.workdir, exist_ok=True)
    os.chdir(args.workdir)
    subprocess.run(["rm", "-rf", "--", *os.listdir(".")], check=True)
    globals()["test_" + args.test](args)
    print("ok", args.test)


if __name__ == "__main__":
    sys.exit(main())
