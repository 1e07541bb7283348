#!/usr/bin/env bash
# Runs every Go fuzz target of the repository, one after another.
#
#   scripts/fuzz.sh [-t DURATION] [-p N] [-l LOGDIR] [-n] [PATTERN]
#
#   -t DURATION  how long each target runs (go test -fuzztime: 30s, 10m,
#                or 100000x for a number of executions); default 1m
#   -p N         fuzzing workers per target (go test -parallel); default 1,
#                so a run leaves the other cores alone
#   -l LOGDIR    where the log of each target goes; default a new
#                directory under ${TMPDIR:-/tmp}
#   -n           list the targets (package and name) and exit
#   PATTERN      only targets whose name matches this grep -E pattern
#
# Targets are discovered, not listed here: every package with a
# `func FuzzXxx` in a _test.go file is asked with `go test -list '^Fuzz'`,
# so targets added anywhere are included. Seed corpora live in each
# package's testdata/fuzz/<FuzzName>/; a crasher found is written there
# too (commit it with the fix). Inputs the fuzzer finds interesting are
# kept in the Go build cache and reused by the next run.
#
# Prints one line per target (result, executions, new interesting inputs,
# duration) and exits non-zero if any target failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

duration=1m
parallel=1
logdir=""
list=false
usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while getopts "t:p:l:nh" opt; do
  case "$opt" in
    t) duration="$OPTARG" ;;
    p) parallel="$OPTARG" ;;
    l) logdir="$OPTARG" ;;
    n) list=true ;;
    h) usage 0 ;;
    *) usage 2 >&2 ;;
  esac
done
shift $((OPTIND - 1))
pattern="${1:-.}"

# Packages with fuzz functions (cheap grep), then the exact target names
# from go test -list.
mapfile -t dirs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Z0-9_]' . \
  | grep -v -e '/vendor/' -e '/testdata/' | xargs -r -n1 dirname | sort -u)
targets=()
for dir in "${dirs[@]}"; do
  while read -r name; do
    [[ "$name" == Fuzz* ]] && targets+=("$dir $name")
  done < <(go test -list '^Fuzz' "$dir")
done
selected=()
for t in "${targets[@]}"; do
  if grep -qE -- "$pattern" <<<"${t#* }"; then selected+=("$t"); fi
done
if [[ ${#selected[@]} -eq 0 ]]; then
  echo "fuzz.sh: no fuzz targets match '$pattern'" >&2
  exit 1
fi
if $list; then
  printf '%s\n' "${selected[@]}"
  exit 0
fi
if [[ -z "$logdir" ]]; then
  logdir="$(mktemp -d "${TMPDIR:-/tmp}/clvstream-fuzz.XXXXXX")"
fi
mkdir -p "$logdir"

echo "fuzz.sh: ${#selected[@]} targets, $duration each, -parallel $parallel; logs in $logdir"
failed=()
for t in "${selected[@]}"; do
  dir="${t% *}" name="${t#* }"
  rel="${dir#./}"
  log="$logdir/${rel//\//_}_$name.log"
  start=$(date +%s)
  if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" -parallel "$parallel" "$dir" >"$log" 2>&1; then
    result=ok
  else
    result=FAIL
    failed+=("$dir $name")
  fi
  secs=$(( $(date +%s) - start ))
  # The last progress line: "fuzz: elapsed: 10m0s, execs: 123 (..), new interesting: 4 (total: 56)".
  last="$(grep -E '^fuzz: elapsed' "$log" | tail -n 1 || true)"
  execs="$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")"
  interesting="$(sed -nE 's/.*new interesting: ([0-9]+) \(total: ([0-9]+)\).*/\1 (corpus \2)/p' <<<"$last")"
  printf '%-4s %-24s %-16s execs %-12s new interesting %-18s %ss\n' \
    "$result" "$name" "$dir" "${execs:-?}" "${interesting:-?}" "$secs"
  if [[ "$result" == FAIL ]]; then
    grep -E -A3 -- '--- FAIL|panic:|Failing input|go test -run' "$log" | head -n 20 | sed 's/^/     /'
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]} (logs in $logdir)" >&2
  exit 1
fi
echo "fuzz.sh: all ${#selected[@]} targets passed"
