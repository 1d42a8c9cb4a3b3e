#!/usr/bin/env bash
# absrep sweep on this machine: mpirun over its cores, like the cluster jobs.
#
#   jobs/local.sh CONFIG.yaml [OUTPUT.h5] [SWEEP FLAGS...]
#
# The archive is OUTPUT (a bare name goes into the run directory), else
# $ABSREP_RUNS/CONFIG_STEM/CONFIG_STEM.h5 (ABSREP_RUNS defaults to ./runs); the log
# (ARCHIVE_STEM.log) lies next to it. Running the same command again resumes the archive (a
# finished one is left as it is). Ctrl-C, SIGTERM and SIGUSR1 stop the sweep cleanly (exit 143,
# archive consistent); SWEEP FLAGS such as `--max-hours 8` or `--slab 0/4` go to absrep sweep.
#
# Settings: ABSREP_RANKS (default: the cores, nproc), ABSREP (else absrep on PATH, else
# build/drivers/absrep), ABSREP_MPIRUN_FLAGS, ABSREP_SWEEP_FLAGS, ABSREP_SITE (a site file to
# source, see jobs/sites/example.env), ABSREP_RUNS.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$root/jobs/lib.sh"
absrep_install_traps

[ $# -ge 1 ] || absrep_die "usage: jobs/local.sh CONFIG.yaml [OUTPUT.h5] [SWEEP FLAGS...]"
config=$1
shift
output=""
if [ $# -gt 0 ] && [[ $1 != -* ]]; then
  output=$1
  shift
fi
[ -r "$config" ] || absrep_die "no config $config"
config=$(absrep_abspath "$config")

absrep_load_site
absrep_load_modules
exe=$(absrep_find_exe "$root") || exit 2
stem=$(absrep_stem "$config")
rundir=${ABSREP_RUNS:-runs}/$stem
case $output in
  */*) ;;
  *) mkdir -p "$rundir" || absrep_die "cannot create $rundir" ;;
esac
output=$(absrep_output_path "$output" "$rundir" "$config")
mkdir -p "$(dirname "$output")" || absrep_die "cannot create the directory of $output"
log=${output%.h5}.log
ranks=${ABSREP_RANKS:-$(nproc)}
resume=()
if [ -n "$(absrep_resume_flag "$output")" ]; then resume=(--resume); fi
mpirun_flags=()
read -ra mpirun_flags <<<"${ABSREP_MPIRUN_FLAGS:-}"
sweep_flags=()
read -ra sweep_flags <<<"${ABSREP_SWEEP_FLAGS:-}"
# Open MPI refuses to run as root unless told it is fine (containers, CI).
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi

# On a terminal, mpirun gets a session of its own so that Ctrl-C reaches only this script, which
# turns it into a clean stop (mpirun would abort the ranks on a SIGINT of its own).
launch=()
if [ -t 0 ] && command -v setsid >/dev/null 2>&1; then launch=(setsid); fi
# Everything from here on goes to the terminal and, appended, to the log.
exec 3>&1 4>&2
exec > >(tee -i -a "$log") 2>&1
tee_pid=$!
absrep_log "$ranks ranks: $exe sweep $config --output $output ${resume[*]} ${sweep_flags[*]} $* (log $log)"
rc=0
absrep_run_and_wait "${launch[@]}" mpirun -n "$ranks" --oversubscribe "${mpirun_flags[@]}" "$exe" sweep "$config" \
  --output "$output" "${resume[@]}" "${sweep_flags[@]}" "$@" || rc=$?
absrep_log "sweep exited with $rc"
# Close the pipe to tee and let it write the last lines before the prompt returns.
exec 1>&3 2>&4 3>&- 4>&-
wait "$tee_pid" 2>/dev/null || true
exit "$rc"
