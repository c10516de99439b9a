#!/usr/bin/env bash
# bench/b5.sh - B5 latency: a clock-stamped test pattern (the test FLV: 2 s GOP, every frame's
# number stamped in the picture, made once by ffmpeg from lavfi sources) is published in real time
# by bench/tools/rtmp_pub, which records when media timestamp 0 went out (so every frame's send
# time is known exactly, rather than guessed from an encoder's pacing). bench/tools/hls_latency.mjs
# measures: the time to the first playlist, how long after its first frame was sent a part (or,
# without parts, a segment) is listed and fetchable, and the lag of hls.js (low-latency mode) in
# Chromium behind the publisher, read from the stamped frame numbers it shows.
#   StreamHub: auth, rooms, rtmp, hls with its defaults (2 s segments, 333 ms parts).
#   Peer: nginx + libnginx-mod-rtmp, hls_fragment 2s (the same segment length), plain HLS.
# One run each (every figure is already a median over many parts / player samples).
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
. "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 143' INT TERM

ensure_services || { na B5 "PostgreSQL/Redis could not start"; exit 0; }
why=$(streaming_missing)
[ -z "$why" ] || { na B5 "$why"; exit 0; }
command -v node >/dev/null || { na B5 "node is not installed"; exit 0; }
peer_ok=1
command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || peer_ok=0
SECS=26

# probe NAME PLAYLIST_URL RTMP_PORT KEY : publish and measure; prints the RESULT line
probe() {
    local plog=$LOGS/$1-publisher.log res=$LOGS/$1-probe.txt
    rm -f "$plog" "$res"
    "${PIN_LOAD[@]}" node "$ROOT/bench/tools/hls_latency.mjs" --playlist "$2" --pub-log "$plog" --seconds $SECS \
        --player-seconds 10 --player-warmup 5 --player-join 6 --out "$res" >"$LOGS/$1-probe.log" 2>&1 &
    local ppid=$!
    BG_PIDS+=("$ppid")
    sleep 1
    start_bg "$1-publisher" "${PIN_LOAD[@]}" "$BIN/rtmp_pub" --port "$3" --flv "$FLV" --key "$4" --loop --seconds $((SECS + 4))
    local pub=$BG_PID
    wait "$ppid"
    stop_pid "$pub"
    cat "$res" 2>/dev/null
}

start_streaming_sh b5-streamhub || { na B5 "StreamHub does not start with auth, rtmp and hls"; exit 0; }
new_streamer "http://127.0.0.1:$SH_PORT" || { na B5 "could not create a streamer account, stream key and room"; exit 0; }
ours=$(probe b5-streamhub "http://127.0.0.1:$SH_PORT/hls/$ST_ROOM/index.m3u8" "$RTMP_PORT" "$ST_KEY")
stop_pid "$SH_PID"
log "B5 StreamHub: $ours"

peer=""
if [ $peer_ok = 1 ]; then
    NP=$(free_port) RP=$(free_port)
    rm -rf "$BENCH_VAR/nginx-b5/hls"
    nginx_conf "$PEERS/nginx-rtmp.conf.in" "$BENCH_VAR/nginx-b5" "$NP" "$RP" 2s
    start_nginx b5-nginx "$BENCH_VAR/nginx-b5"
    if wait_port "$RP" 10; then
        peer=$(probe b5-nginx "http://127.0.0.1:$NP/hls/bench.m3u8" "$RP" bench)
        log "B5 nginx-rtmp: $peer"
    fi
    stop_pid "$NGINX_PID"
fi

[ -n "$(kv "$ours" part_p50_ms)" ] || { row B5 "latency" "-" "-" "-" "-" "error" "no measurement for StreamHub: $ours (see var/bench/logs/b5-*)"; exit 0; }
pk=$(kv "$peer" kind)
v=missed
le "$(kv "$ours" part_p50_ms)" 1000 && v=met
row B5 "part fetchable after its first frame was sent (p50)" "$(kv "$ours" part_p50_ms) ms" "${pk:+$(kv "$peer" part_p50_ms) ms ($pk)}" \
    "$(ratio "$(kv "$ours" part_p50_ms)" "$(kv "$peer" part_p50_ms)")" "<= 1000 ms" "$v" \
    "p90: StreamHub $(kv "$ours" part_p90_ms) ms over $(kv "$ours" parts) $(kv "$ours" kind), nginx-rtmp $(kv "$peer" part_p90_ms) ms over $(kv "$peer" parts) $pk; StreamHub whole segments: $(kv "$ours" segment_p50_ms) ms"
fo=$(kv "$ours" first_playlist_ms) fp=$(kv "$peer" first_playlist_ms)
v=missed
if [ -n "$fp" ]; then le "$fo" "$fp" && v=met; else v="not available yet"; fi
row B5 "first playlist after publish start" "${fo} ms" "${fp:--} ms" "$(ratio "$fo" "$fp")" "<= nginx-rtmp" "$v" "from the first media sent to the first playlist listing a part or segment (20 ms polling)"
lo=$(kv "$ours" player_lag_p50_ms) lp=$(kv "$peer" player_lag_p50_ms)
v=missed
if [ -z "$lo" ]; then v="error"; elif le "$lo" 3000; then v=met; fi
row B5 "hls.js (low-latency) lag behind the publisher (p50)" "${lo:-?} ms" "${lp:--} ms" "$(ratio "$lo" "$lp")" "<= 3000 ms" "$v" \
    "p90 $(kv "$ours" player_lag_p90_ms) / $(kv "$peer" player_lag_p90_ms) ms over $(kv "$ours" player_samples) / $(kv "$peer" player_samples) samples, the player joining 6 s after the publish start and measured after 5 s of play; player errors: $(kv "$ours" player_error) / $(kv "$peer" player_error)"
