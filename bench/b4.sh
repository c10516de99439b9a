#!/usr/bin/env bash
# bench/b4.sh - B4 HLS delivery: the playlist (the plan says ~400 B; an LL-HLS playlist listing its
# parts is ~1.4 KB) and a 2 s segment (~590 KB) of a live stream under wrk (one thread, 64
# connections, 5 s after a 1 s warm-up): req/s, bytes/s, errors.
#   StreamHub: auth, rooms, rtmp, hls; bench/tools/rtmp_pub publishes the test FLV in real time
#   (looping) for the whole benchmark; wrk fetches /hls/ROOM/index.m3u8 and the newest complete
#   segment (picked again before each run, so it is in the window throughout).
#   Peer: nginx serving the very same bytes (saved from StreamHub) as static files, sendfile on.
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
. "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 143' INT TERM

ensure_services || { na B4 "PostgreSQL/Redis could not start"; exit 0; }
command -v wrk >/dev/null || { na B4 "wrk is not installed (apt-get install wrk)"; exit 0; }
why=$(streaming_missing)
[ -z "$why" ] || { na B4 "$why"; exit 0; }
peer_ok=1
command -v nginx >/dev/null || peer_ok=0

start_streaming_sh b4-streamhub || { na B4 "StreamHub does not start with auth, rtmp and hls (see var/bench/logs/b4-streamhub.log)"; exit 0; }
BASE=http://127.0.0.1:$SH_PORT
new_streamer "$BASE" || { na B4 "could not create a streamer account, stream key and room"; exit 0; }
start_bg b4-publisher "${PIN_LOAD[@]}" "$BIN/rtmp_pub" --port "$RTMP_PORT" --flv "$FLV" --key "$ST_KEY" --loop --seconds 140
PL=$BASE/hls/$ST_ROOM/index.m3u8
n=0
for _ in $(seq 1 150); do
    n=$(curl -s -m 5 "$PL" | grep -c '^#EXTINF')
    [ "${n:-0}" -ge 3 ] && break
    sleep 0.2
done
[ "${n:-0}" -ge 3 ] || { na B4 "no playlist with 3 segments at /hls/:roomId/index.m3u8 after 30 s of publishing"; exit 0; }

# newest_segment : the URI of the newest complete segment in the playlist
newest_segment() { curl -s -m 5 "$PL" | grep -E '^[^#].*\.m4s' | tail -1; }

WWW=$BENCH_VAR/nginx-b4/www
if [ $peer_ok = 1 ]; then
    NPORT=$(free_port)
    nginx_conf "$PEERS/nginx-static.conf.in" "$BENCH_VAR/nginx-b4" "$NPORT"
    rm -f "$WWW"/*
    curl -s -m 5 -o "$WWW/index.m3u8" "$PL"
    seg=$(newest_segment)
    curl -s -m 5 -o "$WWW/$seg" "$BASE/hls/$ST_ROOM/$seg"
    start_nginx b4-nginx "$BENCH_VAR/nginx-b4"
    wait_port "$NPORT" 10 || peer_ok=0
fi
pl_bytes=$(stat -c %s "$WWW/index.m3u8" 2>/dev/null || echo "?")

declare -A rps bps err
for k in sh ng; do rps[${k}pl]=""; rps[${k}seg]=""; bps[${k}seg]=""; err[$k]=0; done
seg_bytes=""
for r in $(seq 1 "$RUNS"); do
    seg=$(newest_segment)
    seg_bytes="$seg_bytes $(curl -s -m 5 "$BASE/hls/$ST_ROOM/$seg" | wc -c)"
    for k in sh ng; do
        if [ $k = sh ]; then
            purl=$PL surl=$BASE/hls/$ST_ROOM/$seg
        else
            [ $peer_ok = 1 ] || continue
            purl=http://127.0.0.1:$NPORT/hls/index.m3u8
            surl=http://127.0.0.1:$NPORT/hls/$(basename "$(ls "$WWW"/*.m4s | head -1)")
        fi
        run_wrk 1 64 "$purl" >/dev/null
        a=$(run_wrk 5 64 "$purl")
        b=$(run_wrk 5 64 "$surl")
        log "B4 run $r $k: playlist $a; segment $b"
        rps[${k}pl]="${rps[${k}pl]} $(kv "$a" rps)"
        rps[${k}seg]="${rps[${k}seg]} $(kv "$b" rps)"
        bps[${k}seg]="${bps[${k}seg]} $(kv "$b" bytes_per_s)"
        err[$k]=$((err[$k] + $(kv "$a" errors) + $(kv "$a" non2xx) + $(kv "$b" errors) + $(kv "$b" non2xx)))
    done
done
pub=$(grep PUBDONE "$LOGS/b4-publisher.log" 2>/dev/null)

s=$(median ${rps[shpl]}) g=$(median ${rps[ngpl]})
errs="errors + non-2xx: StreamHub ${err[sh]}, nginx ${err[ng]}"
if [ -z "$g" ]; then
    row B4 "playlist req/s (wrk -c64)" "$(fmt_int "$s")" "-" "-" ">= 1.0" "not available yet" "nginx is not installed; $errs"
else
    rat=$(ratio "$s" "$g")
    v=missed
    ge "$rat" 1.0 && [ "${err[sh]}" = 0 ] && v=met
    row B4 "playlist req/s (wrk -c64, ${pl_bytes} B)" "$(fmt_int "$s")" "$(fmt_int "$g")" "$rat" ">= 1.0, 0 errors" "$v" "$errs"
fi
s=$(median ${bps[shseg]}) g=$(median ${bps[ngseg]})
sb=$(median $seg_bytes)
mb() { awk -v b="$1" 'BEGIN { if (b == "") print "-"; else printf "%.0f MB/s", b / 1e6 }'; }
if [ -n "$g" ]; then
    rat=$(ratio "$s" "$g")
    v=missed
    ge "$rat" 0.9 && [ "${err[sh]}" = 0 ] && v=met
    row B4 "segment bytes/s (wrk -c64, $((sb / 1024)) KiB)" "$(mb "$s")" "$(mb "$g")" "$rat" ">= 0.9, 0 errors" "$v" "req/s: StreamHub $(median ${rps[shseg]}), nginx $(median ${rps[ngseg]})"
fi
