#!/usr/bin/env bash
# Submit a sweep with a site's settings: sbatch jobs/slurm/sweep.sbatch or qsub jobs/pbs/sweep.pbs
# with the partition/queue, account, nodes, tasks, walltime and time-limit lead of a site file.
#
#   jobs/submit.sh [--site FILE.env] [--slabs K] [--dry-run] CONFIG.yaml [OUTPUT.h5] [-- SCHEDULER FLAGS...]
#
#   --site FILE   the site file (default: $ABSREP_SITE, else jobs/sites/example.env); it is also
#                 sourced inside the job (modules, launcher, executable)
#   --slabs K     a job array of K tasks, task i running slab i/K into RUN_DIR/part_<i>.h5;
#                 combine them afterwards with `absrep merge RUN_DIR/merged.h5 RUN_DIR/part_*.h5`
#   --dry-run     print the submission command instead of running it
# Flags after `--` go to sbatch/qsub as they are (they win over the site's).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
. "$root/jobs/lib.sh"

usage="usage: jobs/submit.sh [--site FILE.env] [--slabs K] [--dry-run] CONFIG.yaml [OUTPUT.h5] [-- SCHEDULER FLAGS...]"
site=${ABSREP_SITE:-$root/jobs/sites/example.env}
slabs=""
dry=0
positional=()
passthrough=()
while [ $# -gt 0 ]; do
  case $1 in
    --site) site=${2:?$usage}; shift 2 ;;
    --site=*) site=${1#--site=}; shift ;;
    --slabs) slabs=${2:?$usage}; shift 2 ;;
    --slabs=*) slabs=${1#--slabs=}; shift ;;
    --dry-run) dry=1; shift ;;
    --) shift; passthrough=("$@"); break ;;
    -h | --help) echo "$usage"; exit 0 ;;
    -*) absrep_die "unknown option $1; $usage" ;;
    *) positional+=("$1"); shift ;;
  esac
done
if [ ${#positional[@]} -lt 1 ] || [ ${#positional[@]} -gt 2 ]; then absrep_die "$usage"; fi
config=${positional[0]}
output=${positional[1]:-}
[ -r "$config" ] || absrep_die "no config $config"
config=$(absrep_abspath "$config")
case $output in */*) output=$(absrep_abspath "$output") ;; esac
if [ -n "$slabs" ]; then
  if ! [[ $slabs =~ ^[0-9]+$ ]] || [ "$slabs" -lt 2 ]; then absrep_die "--slabs $slabs: the number of slabs, at least 2"; fi
fi
[ -r "$site" ] || absrep_die "no site file $site (copy jobs/sites/example.env)"
ABSREP_SITE=$(absrep_abspath "$site")
export ABSREP_SITE
absrep_load_site

stem=$(absrep_stem "$config")
name=absrep-${stem//[^A-Za-z0-9._-]/_}
nodes=${ABSREP_NODES:-1}
tasks=${ABSREP_TASKS_PER_NODE:-1}
walltime=${ABSREP_WALLTIME:-01:00:00}
lead=${ABSREP_TIME_LEAD:-300}
extra=()
case ${ABSREP_SCHEDULER:-slurm} in
  slurm)
    cmd=(sbatch "--job-name=$name" "--nodes=$nodes" "--ntasks-per-node=$tasks" "--time=$walltime"
      "--signal=B:USR1@$lead")
    if [ -n "${ABSREP_PARTITION:-}" ]; then cmd+=("--partition=$ABSREP_PARTITION"); fi
    if [ -n "${ABSREP_ACCOUNT:-}" ]; then cmd+=("--account=$ABSREP_ACCOUNT"); fi
    if [ -n "$slabs" ]; then cmd+=("--array=0-$((slabs - 1))"); fi
    read -ra extra <<<"${ABSREP_SBATCH_FLAGS:-}"
    exports="ALL,ABSREP_SITE=$ABSREP_SITE,ABSREP_ROOT=$root"
    if [ -n "$slabs" ]; then exports+=",ABSREP_SLABS=$slabs"; fi
    if [ -n "${ABSREP_RUN_DIR:-}" ]; then exports+=",ABSREP_RUN_DIR=$ABSREP_RUN_DIR"; fi
    cmd+=("${extra[@]}" "${passthrough[@]}" "--export=$exports" "$root/jobs/slurm/sweep.sbatch" "$config")
    if [ -n "$output" ]; then cmd+=("$output"); fi
    ;;
  pbs)
    resources=${ABSREP_PBS_RESOURCES:-select=$nodes:ncpus=$tasks:mpiprocs=$tasks}
    cmd=(qsub -N "${name:0:15}" -l "$resources" -l "walltime=$walltime")
    if [ -n "${ABSREP_PARTITION:-}" ]; then cmd+=(-q "$ABSREP_PARTITION"); fi
    if [ -n "${ABSREP_ACCOUNT:-}" ]; then cmd+=(-A "$ABSREP_ACCOUNT"); fi
    if [ -n "$slabs" ]; then cmd+=("${ABSREP_PBS_ARRAY_FLAG:--J}" "0-$((slabs - 1))"); fi
    read -ra extra <<<"${ABSREP_QSUB_FLAGS:-}"
    vars="CONFIG=$config,ABSREP_SITE=$ABSREP_SITE,ABSREP_ROOT=$root,ABSREP_WALLTIME=$walltime,ABSREP_TIME_LEAD=$lead"
    if [ -n "$output" ]; then vars+=",OUTPUT=$output"; fi
    if [ -n "$slabs" ]; then vars+=",ABSREP_SLABS=$slabs"; fi
    if [ -n "${ABSREP_RUN_DIR:-}" ]; then vars+=",ABSREP_RUN_DIR=$ABSREP_RUN_DIR"; fi
    if [ -n "${ABSREP_RESUBMITS:-}" ]; then vars+=",ABSREP_RESUBMITS=$ABSREP_RESUBMITS"; fi
    # qsub -v passes only what it names (sbatch passes the whole environment).
    if [ -n "${ABSREP:-}" ]; then vars+=",ABSREP=$(command -v "$ABSREP")"; fi
    cmd+=("${extra[@]}" "${passthrough[@]}" -v "$vars" "$root/jobs/pbs/sweep.pbs")
    ;;
  *) absrep_die "ABSREP_SCHEDULER=${ABSREP_SCHEDULER}: slurm or pbs" ;;
esac

if [ "$dry" = 1 ]; then
  printf '%q ' "${cmd[@]}"
  printf '\n'
  exit 0
fi
exec "${cmd[@]}"
