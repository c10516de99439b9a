#!/usr/bin/env bash
# bench/b1.sh - B1 chat fan-out: 1 room, 1,000 Socket.IO sockets (WebSocket), 100-byte messages
# emitted to the room by one more socket; the send rate is raised (sio_swarm: doubling, then three
# bisections, 2 s steps) until p99 delivery latency passes 250 ms or deliveries fall short; the
# best passing step's deliveries/s and p50/p99 are the figure.
#   StreamHub: the sioconf test plugin ("join", "to-room" -> "room-msg"), Redis on as shipped.
#   Peer: Node socket.io 4.8 with the same events (bench/peers/sio_server.mjs).
#   Ceiling: bench/tools/fanout_ceiling serve, an ideal C fan-out server (one writev per socket per
#   batch, nothing else) driven by the same swarm, same procedure: B1 as a fraction of what this
#   machine and this load generator allow. Also printed for orientation: the bare kernel figure
#   (fanout_ceiling raw: 1 and 8 frames per writev).
# The three servers take turns in each run (same noise), RUNS runs, medians.
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
. "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 143' INT TERM

ensure_services || { na B1 "PostgreSQL/Redis could not start"; exit 0; }
[ -f "$SNAP/test-plugins/sioconf.so" ] || { na B1 "the test plugin tests/plugins/sioconf did not build"; exit 0; }
[ -x "$BIN/sio_swarm" ] && [ -x "$BIN/fanout_ceiling" ] || { na B1 "bench/tools/sio_swarm or fanout_ceiling did not build"; exit 0; }
peer_ok=1
[ -d "$PEERS/node_modules/socket.io" ] && command -v node >/dev/null || peer_ok=0

CLIENTS=1000
raw=$("${PIN_SERVER[@]}" "$BIN/fanout_ceiling" raw --clients $CLIENTS --batch 1,8 --seconds 1.5 --reader-cpu "${LOAD_CPU:-0}" 2>>"$LOGS/b1-raw.log")
echo "$raw" >>"$LOGS/b1-raw.log"
raw1=$(kv "$(grep 'batch=1 ' <<<"$raw")" deliveries_per_s)
raw8=$(kv "$(grep 'batch=8 ' <<<"$raw")" deliveries_per_s)
log "raw loopback fan-out (kernel only): batch 1: $(fmt_int "$raw1")/s, batch 8: $(fmt_int "$raw8")/s"

conf=$BENCH_VAR/b1-streamhub.yaml
sh_config "$conf" "[{\"name\": \"sioconf\", \"path\": \"$SNAP/test-plugins/sioconf.so\"}]"

# swarm NAME PORT PID START_RATE : run the stepping procedure, print the RESULT line
swarm() {
    local out=$LOGS/$1-swarm.log
    "${PIN_LOAD[@]}" "$BIN/sio_swarm" --port "$2" --server-pid "$3" --clients $CLIENTS --msg-size 100 \
        --start-rate "$4" --step-ms 2000 --refine 3 --p99-ms 250 >"$out" 2>&1
    grep '^RESULT' "$out" | tail -1
}

declare -A dps p50 p99 cpu rss start=([sh]=100 [io]=5 [fc]=200)
for sys in sh io fc; do dps[$sys]=""; p50[$sys]=""; p99[$sys]=""; cpu[$sys]=""; rss[$sys]=""; done
for r in $(seq 1 "$RUNS"); do
    for sys in sh io fc; do
        case $sys in
        sh)
            start_sh "b1-streamhub-$r" "$conf" || continue
            pid=$SH_PID port=$SH_PORT
            ;;
        io)
            [ $peer_ok = 1 ] || continue
            start_bg "b1-socketio-$r" "${PIN_SERVER[@]}" node "$PEERS/sio_server.mjs" 0
            pid=$BG_PID
            port=$(wait_listen "$LOGS/b1-socketio-$r.log" 20) || continue
            ;;
        fc)
            start_bg "b1-ceiling-$r" "${PIN_SERVER[@]}" "$BIN/fanout_ceiling" serve
            pid=$BG_PID
            port=$(wait_listen "$LOGS/b1-ceiling-$r.log" 10) || continue
            ;;
        esac
        res=$(swarm "b1-$sys-$r" "$port" "$pid" "${start[$sys]}")
        rss[$sys]="${rss[$sys]} $(rss_kb "$pid")"
        stop_pid "$pid"
        d=$(kv "$res" deliveries_per_s)
        log "B1 run $r $sys: $res"
        [ -n "$d" ] && [ "$d" != 0 ] || continue
        dps[$sys]="${dps[$sys]} $d"
        p50[$sys]="${p50[$sys]} $(kv "$res" p50_us)"
        p99[$sys]="${p99[$sys]} $(kv "$res" p99_us)"
        cpu[$sys]="${cpu[$sys]} $(kv "$res" server_cpu_pct)"
        # the next run starts two doublings below this one's result
        start[$sys]=$(awk -v d="$d" -v n=$CLIENTS 'BEGIN { s = d / n / 4; if (s < 5) s = 5; printf "%.0f", s }')
    done
done

m() { median ${1}; }
mib() { awk -v k="$(median $1)" 'BEGIN { if (k == "") print "-"; else printf "%.0f", k / 1024 }'; }
ms() { awk -v u="$(median $1)" 'BEGIN { if (u == "") print "-"; else printf "%.0f", u / 1000 }'; }
sh_d=$(m "${dps[sh]}") io_d=$(m "${dps[io]}") fc_d=$(m "${dps[fc]}")
if [ -z "$sh_d" ]; then
    row B1 "deliveries/s, p99 <= 250 ms" "-" "-" "-" ">= 5x" "error" "no passing step for StreamHub; see var/bench/logs/b1-*"
    exit 0
fi
note="p50/p99 ms: StreamHub $(ms "${p50[sh]}")/$(ms "${p99[sh]}"), socket.io $(ms "${p50[io]}")/$(ms "${p99[io]}"); server CPU at the best step: StreamHub $(m "${cpu[sh]}")%, socket.io $(m "${cpu[io]}")% of a core; RSS after: StreamHub $(mib "${rss[sh]}") MiB, socket.io $(mib "${rss[io]}") MiB"
if [ -n "$io_d" ]; then
    rat=$(ratio "$sh_d" "$io_d")
    v=missed
    ge "$rat" 5 && v=met
    row B1 "deliveries/s vs socket.io (1,000 sockets, p99 <= 250 ms)" "$(fmt_int "$sh_d")" "$(fmt_int "$io_d")" "${rat}x" ">= 5x" "$v" "$note"
else
    row B1 "deliveries/s vs socket.io (1,000 sockets, p99 <= 250 ms)" "$(fmt_int "$sh_d")" "-" "-" ">= 5x" "not available yet" "the socket.io peer is not installed (npm ci in bench/peers failed?); $note"
fi
if [ -n "$fc_d" ]; then
    rat=$(ratio "$sh_d" "$fc_d")
    v=missed
    ge "$rat" 0.70 && v=met
    row B1 "deliveries/s vs fan-out ceiling (same swarm)" "$(fmt_int "$sh_d")" "$(fmt_int "$fc_d")" "$rat" ">= 0.70" "$v" "ceiling: ideal C server, one writev per socket per batch, p50/p99 $(ms "${p50[fc]}")/$(ms "${p99[fc]}") ms; bare kernel (no latency rule): $(fmt_int "$raw1")/s at 1 frame per writev, $(fmt_int "$raw8")/s at 8"
fi
