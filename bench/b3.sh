#!/usr/bin/env bash
# bench/b3.sh - B3 REST: GET /api/rooms/:id and GET /api/rooms?live=true under wrk (one thread,
# 64 connections, 5 s after a 1 s warm-up), req/s and p99.
#   StreamHub: auth + rooms plugins (as shipped: Redis on, the live list cached live_cache_ms).
#   Peer: Express 5 + pg (bench/peers/rest_server.mjs), same rows from the same database (the
#   rooms_public view), same pool size (4).
# 500 rooms (100 live) are seeded once into the bench database. The two servers take turns in each
# run; RUNS runs; medians.
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
. "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 143' INT TERM

ensure_services || { na B3 "PostgreSQL/Redis could not start"; exit 0; }
command -v wrk >/dev/null || { na B3 "wrk is not installed (apt-get install wrk)"; exit 0; }
for p in auth rooms; do have_plugin $p || { na B3 "the $p plugin did not build (build/plugins/$p.so)"; exit 0; }; done
peer_ok=1
[ -d "$PEERS/node_modules/express" ] && [ -d "$PEERS/node_modules/pg" ] || peer_ok=0

conf=$BENCH_VAR/b3-streamhub.yaml
sh_config "$conf" "[$(auth_entry 10), {\"name\": \"rooms\"}]"
start_sh b3-streamhub-0 "$conf" || { na B3 "StreamHub does not start with auth + rooms (see var/bench/logs/b3-streamhub-0.log)"; exit 0; }
ROOM=$(seed_rooms) || { na B3 "could not seed rooms into the rooms plugin's tables"; exit 0; }
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SH_PORT/api/rooms/$ROOM")
code2=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SH_PORT/api/rooms?live=true")
stop_pid "$SH_PID"
[ "$code" = 200 ] || { na B3 "GET /api/rooms/:roomId answers $code"; exit 0; }
[ "$code2" = 200 ] || { na B3 "GET /api/rooms?live=true answers $code2"; exit 0; }

PATHS=("/api/rooms/$ROOM" "/api/rooms?live=true")
NAMES=("GET /api/rooms/:id" "GET /api/rooms?live=true")
declare -A rps p99 err
for k in 0 1; do for sys in sh ex; do rps[$sys$k]=""; p99[$sys$k]=""; err[$sys$k]=0; done; done
for r in $(seq 1 "$RUNS"); do
    for sys in sh ex; do
        if [ $sys = sh ]; then
            start_sh "b3-streamhub-$r" "$conf" || continue
            pid=$SH_PID port=$SH_PORT
        else
            [ $peer_ok = 1 ] || continue
            start_bg "b3-express-$r" "${PIN_SERVER[@]}" node "$PEERS/rest_server.mjs" 0 "$BENCH_PG" 4
            pid=$BG_PID
            port=$(wait_listen "$LOGS/b3-express-$r.log" 20) || continue
        fi
        for k in 0 1; do
            url="http://127.0.0.1:$port${PATHS[$k]}"
            run_wrk 1 64 "$url" >/dev/null # warm-up
            res=$(run_wrk 5 64 "$url")
            log "B3 run $r $sys ${NAMES[$k]}: $res"
            rps[$sys$k]="${rps[$sys$k]} $(kv "$res" rps)"
            p99[$sys$k]="${p99[$sys$k]} $(kv "$res" p99_ms)"
            err[$sys$k]=$((err[$sys$k] + $(kv "$res" errors) + $(kv "$res" non2xx)))
        done
        stop_pid "$pid"
    done
done

for k in 0 1; do
    s_r=$(median ${rps[sh$k]}) e_r=$(median ${rps[ex$k]}) s_p=$(median ${p99[sh$k]}) e_p=$(median ${p99[ex$k]})
    note="errors or non-2xx: StreamHub ${err[sh$k]}, Express ${err[ex$k]}"
    [ $k = 1 ] && note="$note; StreamHub caches this answer for live_cache_ms (3 s, in Redis) as shipped, Express queries every time"
    if [ -z "$s_r" ]; then
        row B3 "${NAMES[$k]} req/s" "-" "-" "-" ">= 8x" "error" "no StreamHub figure; see var/bench/logs/wrk.log"
        continue
    fi
    if [ -z "$e_r" ]; then
        row B3 "${NAMES[$k]} req/s (wrk -c64)" "$(fmt_int "$s_r")" "-" "-" ">= 8x" "not available yet" "the Express peer is not installed; $note"
        continue
    fi
    rat=$(ratio "$s_r" "$e_r")
    v=missed
    ge "$rat" 8 && v=met
    row B3 "${NAMES[$k]} req/s (wrk -c64)" "$(fmt_int "$s_r")" "$(fmt_int "$e_r")" "${rat}x" ">= 8x" "$v" "$note"
    rat=$(ratio "$s_p" "$e_p")
    v=missed
    le "$rat" 0.25 && v=met
    row B3 "${NAMES[$k]} p99" "${s_p} ms" "${e_p} ms" "$rat" "<= 0.25" "$v" ""
done
