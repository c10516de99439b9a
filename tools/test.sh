#!/usr/bin/env bash
# make test: build everything, start a private PostgreSQL and Redis on test ports, run every
# suite, and end with one line "N passed, N failed" (totals over all suites).
#   tools/test.sh [--unit-only] [SUITE-FILTER]
# SANITIZE=1 builds and runs everything under ASan+UBSan (build-san/).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
UNIT_ONLY=0
if [ "${1:-}" = "--unit-only" ]; then UNIT_ONLY=1; shift; fi
FILTER=${1:-}
BUILD=build
[ -n "${SANITIZE:-}" ] && BUILD=build-san
export SH_ROOT=$ROOT SH_BUILD=$ROOT/$BUILD
LOGDIR=$ROOT/var/test-logs
rm -rf "$LOGDIR"; mkdir -p "$LOGDIR"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}

PASSED=0; FAILED=0
note_fail() { echo "FAIL: $1"; FAILED=$((FAILED + 1)); }

echo "== build"
targets="server plugins web tests"
[ -n "${SKIP_WEB:-}" ] && targets="server plugins tests"   # inner loops: leave web/dist as it is
[ $UNIT_ONLY = 1 ] && targets="tests"
if ! make --no-print-directory -j2 $targets ${SANITIZE:+SANITIZE=1} > "$LOGDIR/build.log" 2>&1; then
  tail -40 "$LOGDIR/build.log"
  echo "build failed (full log: $LOGDIR/build.log)"
  echo "0 passed, 1 failed"
  exit 1
fi

# count a TAP stream in $1 (file) for a suite named $2; exit status in $3
count_tap() {
  local f=$1 name=$2 st=$3 p fl
  p=$(grep -cE '^(    )?ok [0-9]+' "$f" || true)
  fl=$(grep -cE '^(    )?not ok [0-9]+' "$f" || true)
  # node's reporter nests subtests; only count top-level (no indentation) when present
  if grep -qE '^# (pass|fail) [0-9]+' "$f"; then
    p=$(sed -n 's/^# pass \([0-9]*\)/\1/p' "$f" | tail -1)
    fl=$(sed -n 's/^# fail \([0-9]*\)/\1/p' "$f" | tail -1)
  fi
  if [ "$st" != 0 ] && [ "${fl:-0}" = 0 ]; then fl=1; echo "  $name exited with status $st"; fi
  PASSED=$((PASSED + ${p:-0})); FAILED=$((FAILED + ${fl:-0}))
  if [ "${fl:-0}" != 0 ]; then
    echo "FAIL: $name (${p:-0} passed, $fl failed; log $f)"
    grep -E '^(    )?not ok|ERROR|Assertion|error:|ERROR: AddressSanitizer|runtime error' "$f" | head -20
  else
    echo "ok:   $name (${p:-0} passed)"
  fi
}

run_unit() {
  echo "== unit (cmocka)"
  for t in "$BUILD"/tests/unit/test_*; do
    [ -x "$t" ] || continue
    n=$(basename "$t"); [[ -n "$FILTER" && "$n" != *$FILTER* ]] && continue
    CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$t" > "$LOGDIR/$n.log" 2>&1; count_tap "$LOGDIR/$n.log" "$n" $?
  done
  echo "== fuzz corpora replayed under ASan/UBSan"
  for t in "$BUILD"/tests/replay/*; do
    [ -x "$t" ] || continue
    n=$(basename "$t"); [[ -n "$FILTER" && "replay_$n" != *$FILTER* ]] && continue
    if [ -d "tests/fuzz/corpus/$n" ] && timeout 300 "$t" "tests/fuzz/corpus/$n" > "$LOGDIR/replay_$n.log" 2>&1; then
      PASSED=$((PASSED + 1)); echo "ok:   replay $n ($(tail -1 "$LOGDIR/replay_$n.log"))"
    else
      note_fail "replay $n (log $LOGDIR/replay_$n.log)"; tail -5 "$LOGDIR/replay_$n.log"
    fi
  done
}

# A free TCP port at or above $1 on 127.0.0.1 (another run or tool may hold the usual ones): no
# socket of any state uses it. The test ports sit below the kernel's ephemeral range
# (net.ipv4.ip_local_port_range, 32768-60999 by default) so that no client connection made during
# the run (10k idle sockets, reconnect attempts) can take a port a throwaway server restarts on.
free_port() {
  local p=$1
  while ss -tanH "sport = :$p" 2>/dev/null | grep -q . ; do p=$((p + 1)); done
  echo "$p"
}

services_up=0
stop_services() {
  [ $services_up = 1 ] || return 0
  tools/redis.sh stop var/test/redis >/dev/null 2>&1 || true
  tools/redis.sh stop var/test/redis2 >/dev/null 2>&1 || true
  tools/pg.sh stop var/test/pg >/dev/null 2>&1 || true
  tools/pg.sh stop var/test/pg2 >/dev/null 2>&1 || true
}
trap stop_services EXIT

run_unit
if [ $UNIT_ONLY = 0 ]; then
  echo "== services"
  mkdir -p var/test
  export SH_PG_FAST=1
  services_up=1
  PG_PORT=$(free_port 25432); REDIS_PORT=$(free_port 26379)
  if ! SH_TEST_PG=$(tools/pg.sh start var/test/pg "$PG_PORT" | tail -1) || ! tools/redis.sh start var/test/redis "$REDIS_PORT" >/dev/null; then
    note_fail "could not start PostgreSQL or Redis for the integration suites"
  else
    export SH_TEST_PG SH_TEST_REDIS_PORT=$REDIS_PORT
    # throwaway instances that tests may stop and restart (ports chosen now, free right now)
    export SH_TEST_PG_DIR=$ROOT/var/test/pg2 SH_TEST_PG_PORT=$(free_port $((PG_PORT + 1)))
    export SH_TEST_REDIS_DIR=$ROOT/var/test/redis2 SH_TEST_REDIS_PORT2=$(free_port $((REDIS_PORT + 1)))
    echo "PostgreSQL $SH_TEST_PG, Redis 127.0.0.1:$SH_TEST_REDIS_PORT"
    echo "== integration (C, real PostgreSQL/Redis)"
    for t in "$BUILD"/tests/integration/test_*; do
      [ -x "$t" ] || continue
      n=$(basename "$t"); [[ -n "$FILTER" && "$n" != *$FILTER* ]] && continue
      CMOCKA_MESSAGE_OUTPUT=TAP timeout 600 "$t" > "$LOGDIR/$n.log" 2>&1; count_tap "$LOGDIR/$n.log" "$n" $?
    done
    echo "== integration (node: real server, socket.io-client, ffmpeg, Chromium)"
    for f in tests/integration/*.test.mjs tests/security/*.test.mjs tests/faults/*.test.mjs tests/e2e/*.test.mjs; do
      [ -f "$f" ] || continue
      n=$(basename "$f" .test.mjs); [[ -n "$FILTER" && "$n" != *$FILTER* ]] && continue
      timeout 900 node --test --test-reporter=tap "$f" > "$LOGDIR/node_$n.log" 2>&1; count_tap "$LOGDIR/node_$n.log" "$n" $?
    done
  fi
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
