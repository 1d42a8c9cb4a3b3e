# shellcheck shell=bash
# Shared by jobs/slurm/sweep.sbatch, jobs/pbs/sweep.pbs, jobs/local.sh and jobs/submit.sh:
# sourced, never run. Every function reads the ABSREP_* settings of the site file
# (jobs/sites/example.env documents them all).

absrep_log() { printf '[absrep-job %s] %s\n' "$(date -u +%H:%M:%SZ)" "$*"; }
absrep_die() {
  printf '[absrep-job] error: %s\n' "$*" >&2
  exit 2
}

# Source the site file named by $ABSREP_SITE, if any. It is plain bash: what it assigns wins,
# and jobs/sites/example.env writes VAR=${VAR:-default} so that the environment can override it.
absrep_load_site() {
  local site=${ABSREP_SITE:-}
  [ -n "$site" ] || return 0
  [ -r "$site" ] || absrep_die "ABSREP_SITE=$site: no such file"
  # shellcheck source=SCRIPTDIR/sites/example.env
  . "$site"
}

# `module load $ABSREP_MODULES` (Environment Modules or Lmod), when the site names modules.
absrep_load_modules() {
  [ -n "${ABSREP_MODULES:-}" ] || return 0
  local init mods=()
  set +u  # module init scripts read unset variables
  if ! command -v module >/dev/null 2>&1; then
    for init in /etc/profile.d/modules.sh /etc/profile.d/lmod.sh /usr/share/lmod/lmod/init/bash; do
      # shellcheck source=/dev/null
      if [ -r "$init" ]; then . "$init" && break; fi
    done
  fi
  command -v module >/dev/null 2>&1 || absrep_die "ABSREP_MODULES=\"$ABSREP_MODULES\" but there is no 'module' command"
  read -ra mods <<<"$ABSREP_MODULES"
  module load "${mods[@]}" || absrep_die "module load $ABSREP_MODULES failed"
  set -u
  absrep_log "loaded modules: $ABSREP_MODULES"
}

# The absrep executable: $ABSREP, else `absrep` on PATH, else the project's build folder.
# $1: the project root.
absrep_find_exe() {
  local root=$1 exe
  if [ -n "${ABSREP:-}" ]; then
    exe=$(command -v "$ABSREP") || absrep_die "ABSREP=$ABSREP is not an executable"
  elif command -v absrep >/dev/null 2>&1; then
    exe=$(command -v absrep)
  elif [ -x "$root/build/drivers/absrep" ]; then
    exe=$root/build/drivers/absrep
  else
    absrep_die "no absrep executable: set ABSREP=/path/to/absrep, put absrep on PATH, or build it (scripts/build.sh makes $root/build/drivers/absrep)"
  fi
  printf '%s\n' "$exe"
}

# An absolute path (the file need not exist; its directory must).
absrep_abspath() {
  case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(cd "$(dirname "$1")" && pwd)" "$(basename "$1")" ;;
  esac
}

# The stem of a config or archive path: runs/phase-diagram.yaml -> phase-diagram.
absrep_stem() {
  local b
  b=$(basename "$1")
  printf '%s\n' "${b%.*}"
}

# Keep the config a run started with in its run directory and run from that copy, so that
# editing the original while a job waits in the queue (or is requeued) cannot break --resume.
# $1: config, $2: run directory, $3: 1 if this is a restart of the same job. Prints the copy.
absrep_pin_config() {
  local config=$1 rundir=$2 restarted=$3 pinned=$2/config.yaml
  if [ ! -e "$pinned" ]; then
    cp "$config" "$pinned.$$" && mv -n "$pinned.$$" "$pinned"
    rm -f "$pinned.$$"
  elif ! cmp -s "$config" "$pinned"; then
    if [ "$restarted" = 1 ]; then
      absrep_log "note: $config changed since this job started; continuing with $pinned" >&2
    else
      absrep_die "$rundir was started with another config ($pinned differs from $config)"
    fi
  fi
  printf '%s\n' "$pinned"
}

# Where the archive goes: OUTPUT with a directory part is used as given; a bare name (or, when
# empty, CONFIG_STEM.h5) goes into the run directory. $1: OUTPUT, $2: run dir, $3: config.
absrep_output_path() {
  local output=$1 rundir=$2 config=$3
  case $output in
    "") printf '%s/%s.h5\n' "$rundir" "$(absrep_stem "$config")" ;;
    */*) absrep_abspath "$output" ;;
    *) printf '%s/%s\n' "$rundir" "$output" ;;
  esac
}

# --resume when the archive (or its journal) is there already: every start after the first.
absrep_resume_flag() {
  if [ -e "$1.journal" ] || [ -e "$1" ]; then printf '%s\n' --resume; fi
}

# Run "$@" in the background and wait for it, through signals: the traps of the calling script
# only set ABSREP_STOP and forward a graceful stop (USR1) to ABSREP_CHILD. Returns its status.
absrep_run_and_wait() {
  local seen st rc=0 first=1
  "$@" &
  ABSREP_CHILD=$!
  while :; do
    seen=$ABSREP_SIGNALS
    st=0
    wait "$ABSREP_CHILD" || st=$?
    # 127 after the first wait: the child was already reaped, rc holds its status.
    if [ "$st" -eq 127 ] && [ "$first" = 0 ]; then break; fi
    rc=$st
    first=0
    # A trapped signal cuts `wait` short (status 128+n): wait again for the real status.
    [ "$ABSREP_SIGNALS" != "$seen" ] || break
  done
  ABSREP_CHILD=""
  return "$rc"
}

# The traps: a stop request (time limit warning, scancel, qdel, Ctrl-C) reaches absrep as
# SIGUSR1, which it treats like SIGTERM (stop handing out work, flush, exit 143) and which srun
# and Open MPI's mpirun forward to every rank (mpirun turns a forwarded TERM into an abort).
# ABSREP_STOP: the signal that asked for the stop (empty: none), read by the calling script.
# shellcheck disable=SC2034
ABSREP_STOP=""
ABSREP_CHILD=""
ABSREP_SIGNALS=0
absrep_on_signal() {
  # shellcheck disable=SC2034
  ABSREP_STOP=$1
  ABSREP_SIGNALS=$((ABSREP_SIGNALS + 1))
  absrep_log "received SIG$1: stopping the sweep (it flushes its archive and exits 143)"
  if [ -n "$ABSREP_CHILD" ]; then kill -USR1 "$ABSREP_CHILD" 2>/dev/null || true; fi
}
absrep_install_traps() {
  trap 'absrep_on_signal USR1' USR1
  trap 'absrep_on_signal TERM' TERM
  trap 'absrep_on_signal INT' INT
}
