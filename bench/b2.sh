#!/usr/bin/env bash
# bench/b2.sh - B2 connections: memory per idle Socket.IO connection at 10,000 connections, with
# the heartbeat still kept. sio_swarm --mode idle opens 10,000 WebSocket sessions connected to
# "/" (no room), answers every ping and holds them; the server's RSS (VmRSS, /proc) before the
# first connection and 3 s after the last one gives the bytes per connection. Both servers ping
# every 2 s (timeout 5 s) so that each session sees several pings within the hold; the swarm
# reports sessions dropped and the intervals between the pings it got.
#   StreamHub (sioconf test plugin, Redis on) vs Node socket.io 4.8 (bench/peers/sio_server.mjs).
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
. "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 143' INT TERM

ensure_services || { na B2 "PostgreSQL/Redis could not start"; exit 0; }
[ -f "$SNAP/test-plugins/sioconf.so" ] || { na B2 "the test plugin tests/plugins/sioconf did not build"; exit 0; }
[ -x "$BIN/sio_swarm" ] || { na B2 "bench/tools/sio_swarm did not build"; exit 0; }
peer_ok=1
[ -d "$PEERS/node_modules/socket.io" ] && command -v node >/dev/null || peer_ok=0

N=10000
PING=2000
PING_TIMEOUT=5000
HOLD=8
RUNS=$((RUNS < 2 ? RUNS : 2)) # RSS per connection hardly varies; the peer takes ~40 s to connect 10,000
conf=$BENCH_VAR/b2-streamhub.yaml
sh_config "$conf" "[{\"name\": \"sioconf\", \"path\": \"$SNAP/test-plugins/sioconf.so\"}]" \
    "\"ping_interval_ms\": $PING, \"ping_timeout_ms\": $PING_TIMEOUT, \"max_connections\": 100000"

declare -A per drop p99 pings conn_s
for sys in sh io; do per[$sys]=""; drop[$sys]=""; p99[$sys]=""; pings[$sys]=""; conn_s[$sys]=""; done
for r in $(seq 1 "$RUNS"); do
    for sys in sh io; do
        if [ $sys = sh ]; then
            start_sh "b2-streamhub-$r" "$conf" || continue
            pid=$SH_PID port=$SH_PORT
        else
            [ $peer_ok = 1 ] || continue
            start_bg "b2-socketio-$r" "${PIN_SERVER[@]}" node "$PEERS/sio_server.mjs" 0 $PING $PING_TIMEOUT
            pid=$BG_PID
            port=$(wait_listen "$LOGS/b2-socketio-$r.log" 20) || continue
        fi
        sleep 1
        rss0=$(rss_kb "$pid")
        out=$LOGS/b2-$sys-$r-swarm.log
        "${PIN_LOAD[@]}" "$BIN/sio_swarm" --mode idle --port "$port" --clients $N --hold $HOLD --parallel 200 \
            --connect-timeout 60 >"$out" 2>&1 &
        spid=$!
        BG_PIDS+=("$spid")
        for _ in $(seq 1 700); do grep -q '^READY' "$out" && break; sleep 0.1; done
        sleep 3
        rss1=$(rss_kb "$pid")
        wait "$spid"
        ready=$(grep '^READY' "$out")
        done_=$(grep '^DONE' "$out")
        rss2=$(rss_kb "$pid")
        stop_pid "$pid"
        connected=$(kv "$ready" connected)
        log "B2 run $r $sys: RSS ${rss0} kB -> ${rss1} kB (${rss2} kB at the end); $ready; $done_"
        [ "${connected:-0}" -gt 0 ] || continue
        per[$sys]="${per[$sys]} $(awk -v a="$rss0" -v b="$rss1" -v n="$connected" 'BEGIN { printf "%.0f", (b - a) * 1024 / n }')"
        drop[$sys]="${drop[$sys]} $(kv "$done_" dropped)"
        p99[$sys]="${p99[$sys]} $(kv "$done_" ping_interval_p99_ms)"
        pings[$sys]="${pings[$sys]} $(kv "$done_" pings)"
        conn_s[$sys]="${conn_s[$sys]} $(kv "$ready" seconds)"
    done
done

sh_b=$(median ${per[sh]}) io_b=$(median ${per[io]})
if [ -z "$sh_b" ]; then
    row B2 "bytes per idle connection (10,000)" "-" "-" "-" "<= 1/5" "error" "StreamHub: no connection held; see var/bench/logs/b2-*"
    exit 0
fi
sum() { local s=0 x; for x in "$@"; do s=$((s + ${x:-0})); done; echo $s; }
note="dropped sessions (all runs): StreamHub $(sum ${drop[sh]}), socket.io $(sum ${drop[io]}); ping interval p99 (set: ${PING} ms): StreamHub $(median ${p99[sh]}) ms, socket.io $(median ${p99[io]}) ms; pings answered per run: StreamHub $(median ${pings[sh]}), socket.io $(median ${pings[io]}); 10,000 connections opened in $(median ${conn_s[sh]}) s / $(median ${conn_s[io]}) s"
if [ -n "$io_b" ]; then
    rat=$(ratio "$sh_b" "$io_b")
    v=missed
    le "$rat" 0.2 && v=met
    [ "$(sum ${drop[sh]})" = 0 ] || v="missed (sessions dropped)"
    row B2 "bytes per idle connection (10,000, pings kept)" "$sh_b B" "$io_b B" "$rat" "<= 0.20" "$v" "$note"
else
    row B2 "bytes per idle connection (10,000, pings kept)" "$sh_b B" "-" "-" "<= 0.20" "not available yet" "the socket.io peer is not installed; $note"
fi
