#!/usr/bin/env bash
# bench/run.sh - StreamHub's benchmarks (the plan: BENCHMARKS.md in the design notes; results and
# analysis: docs/BENCHMARKS.md). `make bench` runs all of them, `make bench B=B1` one (or several:
# B="B1 B3").
#
#   1. installs what is missing: wrk, nginx + libnginx-mod-rtmp (apt, as root), the npm peers
#      (bench/peers: socket.io 4.8, Express 5 + pg, playwright-core + hls.js) from the lock file;
#   2. builds the normal optimised server, plugins and test plugins (make server plugins
#      test-plugins) and copies them to var/bench/snap (the build under test does not change under
#      a running benchmark), and the C load generators (bench/tools/*.c -> var/bench/bin);
#   3. starts a private PostgreSQL and Redis under var/bench on free ports;
#   4. runs each benchmark script bench/bN.sh with a time limit; each starts its servers and peers
#      pinned to one core and its load generators to the other, talks to 127.0.0.1 only and stops
#      everything it started when it ends, however it ends;
#   5. prints the results table (var/bench/results.md) and, for a full run (or BENCH_RECORD=1),
#      appends it to docs/BENCHMARKS.md with the date, commit and machine.
# A benchmark whose plugin or tool is missing prints a "not available yet: <why>" row.
# Environment: BENCH_RUNS (runs per figure, default 3), BENCH_RECORD (0/1), BENCH_STREAMHUB (a
# server binary to measure instead of build/streamhub, for before/after comparisons).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export ROOT
. bench/lib.sh

ALL="B1 B2 B3 B4 B5 B6 B7"
SEL=${*:-$ALL}
SEL=$(echo "$SEL" | tr 'a-z,' 'A-Z ')
for b in $SEL; do
    case " $ALL " in *" $b "*) ;; *) echo "bench: unknown benchmark '$b' (one of: $ALL)" >&2; exit 2 ;; esac
done
# time limits (s): all seven fit in 20 minutes on a 2-core machine
declare -A LIMIT=([B1]=400 [B2]=230 [B3]=150 [B4]=150 [B5]=170 [B6]=150 [B7]=120)

trap bench_cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$BENCH_VAR" "$BIN" "$LOGS"
exec 9>"$BENCH_VAR/.lock"
flock -n 9 || { echo "bench: another benchmark run is active (var/bench/.lock)" >&2; exit 1; }
rm -f "$LOGS"/*.log "$RESULTS"
T0=$(date +%s)

# ---- 1. dependencies ---------------------------------------------------------------------------
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v nginx >/dev/null || need_apt+=(nginx)
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need_apt+=(libnginx-mod-rtmp)
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        log "installing ${need_apt[*]} (apt)"
        # policy-rc.d (when present) keeps the package from starting a system nginx
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"; } \
            >"$LOGS/apt.log" 2>&1 || log "apt-get failed (see $LOGS/apt.log); the benchmarks needing ${need_apt[*]} will say so"
    else
        log "not root: cannot install ${need_apt[*]}; the benchmarks needing them will say so"
    fi
fi
if [ ! -d bench/peers/node_modules/socket.io ] || [ bench/peers/package-lock.json -nt bench/peers/node_modules/.package-lock.json ]; then
    log "installing the npm peers (bench/peers)"
    (cd bench/peers && npm ci --no-audit --no-fund) >"$LOGS/npm.log" 2>&1 || log "npm ci failed (see $LOGS/npm.log)"
fi

# ---- 2. build ----------------------------------------------------------------------------------
log "building the server, plugins and test plugins (optimised build)"
make -k --no-print-directory -j2 server plugins test-plugins >"$LOGS/build.log" 2>&1 ||
    log "make reported errors (see $LOGS/build.log); what did build is benchmarked"
rm -rf "$SNAP"
mkdir -p "$SNAP/plugins" "$SNAP/test-plugins"
if [ ! -x build/streamhub ]; then
    log "build/streamhub is missing: nothing to benchmark"
    exit 1
fi
cp "${BENCH_STREAMHUB:-build/streamhub}" "$SNAP/streamhub" # BENCH_STREAMHUB: another binary (A/B runs)
for so in build/plugins/*.so; do [ -f "$so" ] && cp "$so" "$SNAP/plugins/"; done
[ -f build/test-plugins/sioconf.so ] && cp build/test-plugins/sioconf.so "$SNAP/test-plugins/"
for t in bench/tools/*.c; do
    n=$(basename "$t" .c)
    libs="-lm"
    [ "$n" = fanout_ceiling ] && libs="-lcrypto"
    [ "$n" = bcrypt_time ] && libs="-lcrypt"
    if [ ! -x "$BIN/$n" ] || [ "$t" -nt "$BIN/$n" ] || [ bench/tools/bench_common.h -nt "$BIN/$n" ]; then
        gcc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o "$BIN/$n" "$t" $libs >>"$LOGS/build.log" 2>&1 ||
            log "could not build bench/tools/$n.c (see $LOGS/build.log)"
    fi
done

# ---- 3. services -------------------------------------------------------------------------------
if ! ensure_services; then
    log "could not start PostgreSQL/Redis: no benchmark can run"
    exit 1
fi

# ---- 4. the benchmarks -------------------------------------------------------------------------
export BENCH_PG BENCH_REDIS_PORT BENCH_PG_PORT RESULTS
for b in $SEL; do
    id=$(echo "$b" | tr 'A-Z' 'a-z')
    log "== $b (limit ${LIMIT[$b]} s)"
    before=$(grep -c "^$b" "$RESULTS" 2>/dev/null || true)
    timeout -k 10 "${LIMIT[$b]}" bash "bench/$id.sh"
    st=$?
    after=$(grep -c "^$b" "$RESULTS" 2>/dev/null || true)
    if [ "$st" != 0 ] && [ "${after:-0}" = "${before:-0}" ]; then
        if [ "$st" = 124 ] || [ "$st" = 137 ]; then
            row "$b" "-" "-" "-" "-" "-" "error" "time limit (${LIMIT[$b]} s) reached; see var/bench/logs"
        else
            row "$b" "-" "-" "-" "-" "-" "error" "the script failed (status $st); see var/bench/logs"
        fi
    fi
done

# ---- 5. the table -------------------------------------------------------------------------------
ELAPSED=$(($(date +%s) - T0))
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain 2>/dev/null | head -1)" ] && commit="$commit + uncommitted changes"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
{
    echo "### Run of $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Commit $commit${BENCH_STREAMHUB:+ (server binary: $BENCH_STREAMHUB)}; load average at the end $(cut -d' ' -f1-3 /proc/loadavg); $NCPU cores ($cpu), $mem, Linux $(uname -r); server pinned to core ${SERVER_CPU:-any}, load to core ${LOAD_CPU:-any}; $RUNS runs per figure (medians); ${ELAPSED} s in all; benchmarks: $SEL."
    echo
    echo "| id | metric | StreamHub | peer | ratio | target | verdict | notes |"
    echo "|---|---|---|---|---|---|---|---|"
    while IFS=$'\t' read -r id metric ours peer rat target verdict note; do
        echo "| $id | $metric | $ours | $peer | $rat | $target | $verdict | $note |"
    done <"$RESULTS"
} >"$BENCH_VAR/results.md"
echo
cat "$BENCH_VAR/results.md"
if [ "${BENCH_RECORD:-}" = 1 ] || { [ -z "${BENCH_RECORD:-}" ] && [ "$SEL" = "$ALL" ]; }; then
    if [ -f docs/BENCHMARKS.md ]; then
        { echo; cat "$BENCH_VAR/results.md"; } >>docs/BENCHMARKS.md
        log "recorded in docs/BENCHMARKS.md"
    fi
fi
