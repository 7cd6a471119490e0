#!/usr/bin/env bash
# Runs every test suite: unit tests (plain and sanitized builds), the integration suites
# against the plain and the sanitized server (in parallel), and a short run of every fuzz
# target over its seed corpus. Usage: scripts/run-tests.sh BUILD ASAN_BUILD FUZZ_BUILD SECS
set -uo pipefail
build=${1:-build} asan=${2:-build-asan} fuzz=${3:-build-fuzz} secs=${4:-15}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
passed=0 failed=0
names=()

run_suite() { # name command...
  local name=$1; shift
  names+=("$name")
  ( "$@" >"$logs/$name.log" 2>&1; echo $? >"$logs/$name.rc" ) &
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "== unit tests"
for b in "$build" "$asan"; do
  n=$(ctest --test-dir "$b" -N 2>/dev/null | awk '/Total Tests:/ {print $3}')
  if [ "${n:-0}" -eq 0 ]; then
    echo "no unit tests in $b (is cmocka installed? run scripts/install-deps.sh test)"; exit 1
  fi
done
run_suite unit-plain ctest --test-dir "$build" --output-on-failure
run_suite unit-asan ctest --test-dir "$asan" --output-on-failure
wait

echo "== integration tests (plain and sanitized servers in parallel)"
run_suite integration-plain env SLUICED="$root/$build/sluiced" tests/integration/run.sh
run_suite integration-asan env SLUICED="$root/$asan/sluiced" SLUICE_SANITIZED=1 tests/integration/run.sh
wait

echo "== fuzz targets (${secs}s each, as many at once as there are cores)"
fuzz_one() { # target: runs it over a copy of its seed corpus; prints its failure
  local f=$1 name work
  name=$(basename "$f")
  work=$(mktemp -d)
  [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name"/. "$work"/ 2>/dev/null
  if ! "$f" -max_total_time="$secs" -print_final_stats=0 "$work" >"$work.log" 2>&1; then
    echo "FAIL: $name"; tail -50 "$work.log"
    rm -rf "$work" "$work.log"
    return 1
  fi
  echo "-- $name"
  rm -rf "$work" "$work.log"
}
fuzz_all() {
  local rc=0 jobs
  jobs=$(nproc)
  for f in "$fuzz"/fuzz_*; do
    [ -x "$f" ] || continue
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
      wait -n || rc=1
    done
    fuzz_one "$f" &
  done
  while [ "$(jobs -rp | wc -l)" -gt 0 ]; do
    wait -n || rc=1
  done
  return $rc
}
run_suite fuzz fuzz_all
wait

for n in "${names[@]}"; do
  rc=$(cat "$logs/$n.rc" 2>/dev/null || echo 1)
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1)); echo "PASS $n"
  else
    failed=$((failed + 1)); echo "FAIL $n (exit $rc)"; echo "---- $n log (tail)"; tail -80 "$logs/$n.log"
  fi
done
for n in "${names[@]}"; do
  grep -hE '(^=+ .*(passed|failed).*=+$|^[0-9]+ (passed|failed)|^# (pass|fail) [0-9]+|[0-9]+% tests passed)' "$logs/$n.log" | sed "s/^/[$n] /"
  # which tests failed (pytest's summary lines, node's and ctest's failures), wherever they are in the log
  grep -hE '^(FAILED|ERROR) |^not ok |\*\*\*Failed' "$logs/$n.log" | sed "s/^/[$n] /"
done
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
