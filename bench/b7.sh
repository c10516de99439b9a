#!/usr/bin/env bash
# bench/b7.sh - B7 auth isolation: a bcrypt (cost 12) login flood while B3's GET /api/rooms/:id
# runs. Each run: B3 alone (wrk -c64, 5 s), then B3 again while a second wrk floods
# POST /api/auth/login (4 connections, a valid account, cost-12 hash). Targets: B3's p99 during the
# flood <= 2x its p99 alone; logins/s >= 90% of cores / hash time, where cores = the cores the
# server may use (its CPU affinity) and the hash time is measured on the server's core just
# before (bench/tools/bcrypt_time: libxcrypt, as the auth plugin).
# For information, the same on the Express peer (bcryptjs; B7's peer proper is "B3 alone").
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
. "$ROOT/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 143' INT TERM

ensure_services || { na B7 "PostgreSQL/Redis could not start"; exit 0; }
command -v wrk >/dev/null || { na B7 "wrk is not installed (apt-get install wrk)"; exit 0; }
for p in auth rooms; do have_plugin $p || { na B7 "the $p plugin did not build (build/plugins/$p.so)"; exit 0; }; done
[ -x "$BIN/bcrypt_time" ] || { na B7 "bench/tools/bcrypt_time did not build"; exit 0; }

conf=$BENCH_VAR/b7-streamhub.yaml
sh_config "$conf" "[$(auth_entry 12), {\"name\": \"rooms\"}]"
start_sh b7-streamhub "$conf" || { na B7 "StreamHub does not start with auth + rooms"; exit 0; }
ROOM=$(seed_rooms) || { na B7 "could not seed rooms"; exit 0; }
BASE=http://127.0.0.1:$SH_PORT
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/rooms/$ROOM")" = 200 ] || { na B7 "GET /api/rooms/:roomId does not answer 200"; exit 0; }
USER=b7u$(date +%s)$RANDOM
tok=$(register_user "$BASE" "$USER")
[ -n "$tok" ] || { na B7 "registration failed"; exit 0; }
export BENCH_LOGIN_BODY="{\"username\":\"$USER\",\"password\":\"bench-password-1\"}"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'content-type: application/json' --data "$BENCH_LOGIN_BODY" "$BASE/api/auth/login")" = 200 ] ||
    { na B7 "POST /api/auth/login does not answer 200"; exit 0; }
cores=$(taskset -pc "$SH_PID" 2>/dev/null | sed 's/.*: //' | tr ',' '\n' | awk -F- '{ n += ($2 == "" ? 1 : $2 - $1 + 1) } END { print n }')
[ -n "$cores" ] || cores=$NCPU
LUA=$ROOT/bench/tools/login.lua
URL=$BASE/api/rooms/$ROOM

alone="" flood="" logins="" hash=""
for r in $(seq 1 "$RUNS"); do
    run_wrk 1 64 "$URL" >/dev/null
    a=$(run_wrk 5 64 "$URL")
    h=$("${PIN_SERVER[@]}" "$BIN/bcrypt_time" 12 3)
    hash="$hash $(kv "$h" median_ms)"
    fl=$LOGS/b7-flood-$r.txt
    ( run_wrk 7 4 "$BASE/api/auth/login" -s "$LUA" --timeout 10s >"$fl" ) &
    fpid=$!
    BG_PIDS+=("$fpid")
    sleep 1
    f=$(run_wrk 5 64 "$URL")
    wait "$fpid"
    lr=$(cat "$fl")
    ok=$(awk -v q="$(kv "$lr" requests)" -v n="$(kv "$lr" non2xx)" 'BEGIN { printf "%.2f", (q - n) / 7 }')
    log "B7 run $r: alone $a; during the flood $f; flood $lr ($ok logins/s); $h"
    alone="$alone $(kv "$a" p99_ms)"
    flood="$flood $(kv "$f" p99_ms)"
    logins="$logins $ok"
done
stop_pid "$SH_PID"

pa=$(median $alone) pf=$(median $flood) lg=$(median $logins) hm=$(median $hash)
rat=$(ratio "$pf" "$pa")
v=missed
le "$rat" 2 && v=met
row B7 "B3 p99 during a bcrypt-12 login flood" "${pf} ms" "${pa} ms (alone)" "$rat" "<= 2.0" "$v" "GET /api/rooms/:id, wrk -c64; the flood: 4 connections of valid logins"
want=$(awk -v c="$cores" -v h="$hm" 'BEGIN { printf "%.2f", 0.9 * c * 1000 / h }')
v=missed
ge "$lg" "$want" && v=met
row B7 "logins/s during the flood" "$lg" "$want (90% of $cores core(s) / ${hm} ms)" "$(ratio "$lg" "$want")" ">= 1.0" "$v" "hash time: bcrypt cost 12 on the server's core, median of 3 per run, measured next to the flood"

# for information: the Express peer under the same flood
if [ -d "$PEERS/node_modules/express" ] && [ -d "$PEERS/node_modules/bcryptjs" ]; then
    start_bg b7-express "${PIN_SERVER[@]}" node "$PEERS/rest_server.mjs" 0 "$BENCH_PG" 4
    epid=$BG_PID
    if eport=$(wait_listen "$LOGS/b7-express.log" 20); then
        EURL=http://127.0.0.1:$eport/api/rooms/$ROOM
        run_wrk 1 64 "$EURL" >/dev/null
        a=$(run_wrk 5 64 "$EURL")
        fl=$LOGS/b7-express-flood.txt
        ( run_wrk 7 4 "http://127.0.0.1:$eport/api/auth/login" -s "$LUA" --timeout 10s >"$fl" ) &
        fpid=$!
        BG_PIDS+=("$fpid")
        sleep 1
        f=$(run_wrk 5 64 "$EURL")
        wait "$fpid"
        lr=$(cat "$fl")
        ok=$(awk -v q="$(kv "$lr" requests)" -v n="$(kv "$lr" non2xx)" 'BEGIN { printf "%.2f", (q - n) / 7 }')
        log "B7 Express: alone $a; during the flood $f; flood $lr"
        row B7 "(info) Express + bcryptjs: B3 p99 alone -> during the flood" "-" "$(kv "$a" p99_ms) -> $(kv "$f" p99_ms) ms" "$(ratio "$(kv "$f" p99_ms)" "$(kv "$a" p99_ms)")" "-" "info" "Express: $ok logins/s; one run"
    fi
    stop_pid "$epid"
fi
