#!/usr/bin/env bash
# Runs ShellCheck on every shell script of the project: jobs/ (scripts, Slurm/PBS job files, site
# files), scripts/ and tests/jobs/. Fails on any finding; exits 77 (ctest: skipped) when
# ShellCheck is missing (the Debian package shellcheck, listed in scripts/install-deps.sh).
# Usage: tests/jobs/shellcheck.sh [SOURCE_DIR]
set -uo pipefail
root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$root" || exit 2
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "SKIPPED: shellcheck is not installed (apt-get install shellcheck)"
  exit 77
fi
files=()
while IFS= read -r -d '' f; do
  case $f in
    *.sh | *.sbatch | *.pbs | *.env | *.bash) files+=("$f") ;;
    *) if head -n 1 "$f" | grep -qE '^#!.*\b(ba)?sh\b'; then files+=("$f"); fi ;;
  esac
done < <(find jobs scripts tests/jobs .ci -type f -print0 2>/dev/null | sort -z)
# The job scripts, the launcher, the submitter and the site example must all be among them.
for must in jobs/lib.sh jobs/local.sh jobs/submit.sh jobs/slurm/sweep.sbatch jobs/pbs/sweep.pbs \
  jobs/sites/example.env scripts/main.sh scripts/test.sh; do
  found=0
  for f in "${files[@]}"; do if [ "$f" = "$must" ]; then found=1; fi; done
  if [ "$found" = 0 ]; then
    echo "shellcheck.sh: $must is missing"
    exit 1
  fi
done
echo "shellcheck $(shellcheck --version | sed -n 's/^version: //p') on ${#files[@]} files: ${files[*]}"
shellcheck -x "${files[@]}"
