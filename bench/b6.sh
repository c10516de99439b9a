#!/usr/bin/env bash
# bench/b6.sh - B6 ingest cost: CPU per passthrough stream with 20 concurrent publishers
# (bench/tools/rtmp_pub replaying the test FLV in real time, 2.4 Mbit/s each, starts staggered by
# 100 ms). The server's CPU time (utime + stime, /proc; nginx: master + workers) is read over three
# 5 s windows once every stream has run for a while; the median window gives CPU per stream (% of
# one core). Both package HLS with 2 s segments and serve nobody.
#   StreamHub: auth, rooms, rtmp, hls (parts and segments in memory; thumbnails off, as nginx
#   makes none: a passthrough comparison).
#   Peer: nginx + libnginx-mod-rtmp, hls on, hls_fragment 2s (MPEG-TS files written to disk).
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
. "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 143' INT TERM

ensure_services || { na B6 "PostgreSQL/Redis could not start"; exit 0; }
why=$(streaming_missing)
[ -z "$why" ] || { na B6 "$why"; exit 0; }
peer_ok=1
command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || peer_ok=0
N=20
WARM=6
WIN=5

# measure NAME RTMP_PORT KEYS_FILE PIDS... : publish N streams, print the per-window CPU seconds
measure() {
    local name=$1 port=$2 keys=$3
    shift 3
    local pids=("$@") w c0 c1 out=""
    start_bg "$name-publishers" "${PIN_LOAD[@]}" "$BIN/rtmp_pub" --port "$port" --flv "$FLV" --keys "$keys" --count $N \
        --loop --stagger-ms 100 --seconds $((N / 10 + WARM + 3 * WIN + 2))
    local pub=$BG_PID
    sleep $((N / 10 + WARM))
    for w in 1 2 3; do
        c0=$(cpu_ticks "${pids[@]}")
        sleep $WIN
        c1=$(cpu_ticks "${pids[@]}")
        out="$out $((c1 - c0))"
    done
    local live
    live=$(grep -c '^PUB ' "$LOGS/$name-publishers.log")
    stop_pid "$pub"
    echo "$live$out"
}
per_stream() { # ticks -> % of a core per stream
    awk -v t="$1" -v h="$CLK_TCK" -v w=$WIN -v n=$N 'BEGIN { if (t == "") print ""; else printf "%.2f", 100 * t / h / w / n }'
}

start_streaming_sh b6-streamhub '{"thumbnail_interval_ms": 0}' || { na B6 "StreamHub does not start with auth, rtmp and hls"; exit 0; }
BASE=http://127.0.0.1:$SH_PORT
KEYS=$BENCH_VAR/b6-keys.txt
: >"$KEYS"
for i in $(seq 1 $N); do
    new_streamer "$BASE" || { na B6 "could not create streamer accounts"; exit 0; }
    echo "$ST_KEY" >>"$KEYS"
done
res=$(measure b6-streamhub "$RTMP_PORT" "$KEYS" "$SH_PID")
rss_sh=$(rss_kb "$SH_PID")
stop_pid "$SH_PID"
set -- $res
live_sh=$1
shift
sh_t=$(median "$@")
log "B6 StreamHub: $live_sh publishers live, CPU ticks per ${WIN}s window: $*; RSS $rss_sh kB"

ng_t="" live_ng=""
if [ $peer_ok = 1 ]; then
    NP=$(free_port) RP=$(free_port)
    rm -rf "$BENCH_VAR/nginx-b6/hls"
    nginx_conf "$PEERS/nginx-rtmp.conf.in" "$BENCH_VAR/nginx-b6" "$NP" "$RP" 2s
    start_nginx b6-nginx "$BENCH_VAR/nginx-b6"
    if wait_port "$RP" 10; then
        NKEYS=$BENCH_VAR/b6-nginx-keys.txt
        seq 1 $N | sed 's/^/stream/' >"$NKEYS"
        res=$(measure b6-nginx "$RP" "$NKEYS" $(pid_tree "$NGINX_PID"))
        set -- $res
        live_ng=$1
        shift
        ng_t=$(median "$@")
        log "B6 nginx-rtmp: $live_ng publishers live, CPU ticks per ${WIN}s window: $*"
    fi
    stop_pid "$NGINX_PID"
fi

s=$(per_stream "$sh_t") g=$(per_stream "$ng_t")
note="publishers live: StreamHub $live_sh/$N, nginx-rtmp ${live_ng:-?}/$N; median of three ${WIN} s windows; StreamHub RSS $((rss_sh / 1024)) MiB"
if [ -z "$g" ]; then
    row B6 "CPU per passthrough stream (20 publishers)" "${s}% core" "-" "-" "<= 1.0x" "not available yet" "nginx-rtmp is not installed; $note"
else
    rat=$(ratio "$s" "$g")
    v=missed
    le "$rat" 1.0 && [ "$live_sh" = $N ] && v=met
    row B6 "CPU per passthrough stream (20 publishers)" "${s}% core" "${g}% core" "${rat}x" "<= 1.0x" "$v" "$note"
fi
