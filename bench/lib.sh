# bench/lib.sh - helpers shared by bench/run.sh and the benchmark scripts bench/b*.sh (sourced,
# bash). Everything started through start_bg is stopped by bench_cleanup (run.sh traps EXIT).
# Loopback only: every server binds 127.0.0.1, every client targets it.

BENCH_VAR=${BENCH_VAR:-$ROOT/var/bench}
BIN=$BENCH_VAR/bin          # our C tools
SNAP=$BENCH_VAR/snap        # the server build under test, copied once per run
LOGS=$BENCH_VAR/logs
RESULTS=$BENCH_VAR/results.tsv
PEERS=$ROOT/bench/peers
NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then
    SERVER_CPU=1
    LOAD_CPU=0
    PIN_SERVER=(taskset -c $SERVER_CPU)
    PIN_LOAD=(taskset -c $LOAD_CPU)
else
    PIN_SERVER=()
    PIN_LOAD=()
fi
RUNS=${BENCH_RUNS:-3}
CLK_TCK=$(getconf CLK_TCK)
BG_PIDS=()

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---- processes ------------------------------------------------------------------------------
# start_bg NAME CMD... : run in the background, output to $LOGS/NAME.log; sets BG_PID.
start_bg() {
    local name=$1
    shift
    "$@" >"$LOGS/$name.log" 2>&1 &
    BG_PID=$!
    BG_PIDS+=("$BG_PID")
}

# stop_pid PID : TERM, up to 5 s, then KILL; waits for it.
stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
    local i
    for ((i = ${#BG_PIDS[@]} - 1; i >= 0; i--)); do
        stop_pid "${BG_PIDS[$i]}"
    done
    BG_PIDS=()
    if [ "${BENCH_OWNS_SERVICES:-0}" = 1 ]; then # started by this shell (not inherited)
        "$ROOT/tools/redis.sh" stop "$BENCH_VAR/redis" >/dev/null 2>&1 || true
        "$ROOT/tools/pg.sh" stop "$BENCH_VAR/pg" >/dev/null 2>&1 || true
        BENCH_OWNS_SERVICES=0
    fi
}

# wait_listen LOGFILE [SECONDS] : the port from "listening on http://ADDR:PORT", or fail.
wait_listen() {
    local f=$1 t=${2:-30} i p
    for i in $(seq 1 $((t * 10))); do
        p=$(grep -o 'listening on http://[^ ]*' "$f" 2>/dev/null | head -1 | sed 's/.*://')
        if [ -n "$p" ]; then
            echo "$p"
            return 0
        fi
        sleep 0.1
    done
    log "no 'listening on' in $f after ${t}s:"
    tail -5 "$f" >&2
    return 1
}

# wait_port PORT [SECONDS] : until something listens on 127.0.0.1:PORT.
wait_port() {
    local port=$1 t=${2:-20} i
    for i in $(seq 1 $((t * 10))); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# free_port : a port nobody listens on, below the ephemeral range.
free_port() {
    local used p
    used=$(ss -Htln 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 12000))
        grep -qx "$p" <<<"$used" || {
            echo "$p"
            return 0
        }
    done
    return 1
}

# cpu_ticks PID... : utime + stime summed over the given processes (clock ticks).
cpu_ticks() {
    local sum=0 pid v
    for pid in "$@"; do
        v=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}')
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}
ticks_to_s() { awk -v t="$1" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", t / h }'; }

# rss_kb PID... : VmRSS summed (kB).
rss_kb() {
    local sum=0 pid v
    for pid in "$@"; do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# pids of a process and its children (nginx master + workers)
pid_tree() { echo "$1" $(pgrep -P "$1" 2>/dev/null); }

# ---- numbers --------------------------------------------------------------------------------
median() { printf '%s\n' "$@" | grep -E '^-?[0-9.]+([eE][-+]?[0-9]+)?$' | sort -g | awk '{a[NR]=$1} END {if (NR==0) print ""; else if (NR%2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "" || b == "") print ""; else printf "%.2f", a / b }'; }
fmt_int() { awk -v a="$1" 'BEGIN { if (a == "") print "-"; else if (a >= 1e6) printf "%.2fM", a/1e6; else if (a >= 1e4) printf "%.1fk", a/1e3; else printf "%.0f", a }'; }
# kv LINE KEY : the value of KEY=VALUE in a line
kv() { grep -o "\\b$2=[^ ]*" <<<"$1" | head -1 | cut -d= -f2; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 >= b + 0) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && b != "" && a + 0 <= b + 0) }'; }

# ---- results --------------------------------------------------------------------------------
# row ID METRIC OURS PEER RATIO TARGET VERDICT NOTE  (one metric of one benchmark)
row() {
    local IFS=$'\t'
    echo "$*" >>"$RESULTS"
    printf '  %-4s %-34s ours %-14s peer %-14s ratio %-7s target %-10s %s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" >&2
}
# na ID WHY : the benchmark cannot run yet
na() {
    row "$1" "-" "-" "-" "-" "-" "not available yet" "$2"
}

# ---- services -------------------------------------------------------------------------------
# ensure_services : a private PostgreSQL and Redis under var/bench (started once per run).
ensure_services() {
    if [ -n "${BENCH_PG:-}" ]; then return 0; fi
    local pgp rp
    if "$ROOT/tools/pg.sh" status "$BENCH_VAR/pg" >/dev/null 2>&1 || "$ROOT/tools/redis.sh" status "$BENCH_VAR/redis" 2>/dev/null; then
        log "PostgreSQL/Redis of var/bench are already running: another benchmark run is active"
        return 1
    fi
    pgp=$(free_port) && rp=$(free_port) || return 1
    log "starting PostgreSQL on $pgp and Redis on $rp (var/bench)"
    BENCH_OWNS_SERVICES=1
    BENCH_PG=$(SH_PG_FAST=1 "$ROOT/tools/pg.sh" start "$BENCH_VAR/pg" "$pgp" | tail -1) || return 1
    "$ROOT/tools/redis.sh" start "$BENCH_VAR/redis" "$rp" >/dev/null || return 1
    BENCH_REDIS_PORT=$(cat "$BENCH_VAR/redis/redis.port")
    BENCH_PG_PORT=$(sed 's/.*:\([0-9]*\)\/.*/\1/' <<<"$BENCH_PG")
    export BENCH_PG BENCH_REDIS_PORT BENCH_PG_PORT
}

psql_bench() { psql -X -q -t -A -h 127.0.0.1 -p "$BENCH_PG_PORT" -U postgres -d streamhub -v ON_ERROR_STOP=1 "$@"; }

# ---- StreamHub --------------------------------------------------------------------------------
# have_plugin NAME : its .so is in the snapshot
have_plugin() { [ -f "$SNAP/plugins/$1.so" ]; }

# sh_config FILE PLUGINS_JSON [REALTIME_JSON] [SERVER_JSON] : a config (JSON is YAML) for a bench
# server: loopback, no access log, no API rate limit, the bench PostgreSQL and Redis.
sh_config() {
    local file=$1 plugins=$2 rt=${3:-} srv=${4:-}
    cat >"$file" <<EOF
{"server": {"http_port": 0, "http_bind": "127.0.0.1", "plugin_dir": "$SNAP/plugins", "web_root": "",
            "rate_limit_exempt_loopback": true, "access_log": false, "api_rate_limit": 0${srv:+, $srv}},
 "database": {"url": "$BENCH_PG", "pool_size": 4},
 "redis": {"enabled": true, "host": "127.0.0.1", "port": $BENCH_REDIS_PORT},
 "log": {"level": "info"},
 "realtime": {"connections_per_ip_per_minute": 0, "packets_per_second": 1000000${rt:+, $rt}},
 "plugins": $plugins}
EOF
}

BENCH_JWT_SECRET=bench-secret-0123456789abcdef0123456789abcdef
# auth plugin entry: loopback exempt from its limits, the given bcrypt cost
auth_entry() { echo "{\"name\": \"auth\", \"config\": {\"jwt_secret\": \"$BENCH_JWT_SECRET\", \"bcrypt_cost\": ${1:-10}, \"exempt_loopback\": true, \"login_limit_per_account\": 0, \"login_limit_per_ip\": 0, \"register_limit_per_ip\": 0}}"; }

# start_sh NAME CONFIG : start StreamHub pinned to the server core; sets SH_PID and SH_PORT.
start_sh() {
    start_bg "$1" "${PIN_SERVER[@]}" "$SNAP/streamhub" -c "$2"
    SH_PID=$BG_PID
    SH_PORT=$(wait_listen "$LOGS/$1.log" 30) || return 1
}

# api METHOD URL [BODY] [TOKEN] : curl, prints the body
api() {
    local args=(-s -m 20 -X "$1" "$2" -H 'content-type: application/json')
    [ -n "${3:-}" ] && args+=(--data "$3")
    [ -n "${4:-}" ] && args+=(-H "authorization: Bearer $4")
    curl "${args[@]}"
}
json_get() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const o=JSON.parse(s);const v=process.argv[1].split(".").reduce((a,k)=>a==null?a:a[k],o);console.log(v==null?"":typeof v==="object"?JSON.stringify(v):v)}catch{console.log("")}})' "$1"; }

# register_user BASEURL NAME : prints the token
register_user() {
    api POST "$1/api/auth/register" "{\"username\":\"$2\",\"email\":\"$2@bench.invalid\",\"password\":\"bench-password-1\"}" | json_get token
}

# ---- nginx ------------------------------------------------------------------------------------
# nginx_conf TEMPLATE PREFIX HTTP_PORT [RTMP_PORT] [FRAGMENT] : write PREFIX/nginx.conf
nginx_conf() {
    local tpl=$1 prefix=$2 hp=$3 rp=${4:-0} frag=${5:-2s} user_line=""
    mkdir -p "$prefix/tmp" "$prefix/hls" "$prefix/www"
    [ "$(id -u)" = 0 ] && user_line="user root root;"
    sed -e "s#@PREFIX@#$prefix#g" -e "s#@HTTP_PORT@#$hp#g" -e "s#@RTMP_PORT@#$rp#g" -e "s#@FRAGMENT@#$frag#g" \
        -e "s#@USER_LINE@#$user_line#g" "$tpl" >"$prefix/nginx.conf"
}
# start_nginx NAME PREFIX : sets NGINX_PID (the master)
start_nginx() {
    start_bg "$1" "${PIN_SERVER[@]}" nginx -p "$2" -e "$2/error.log" -c "$2/nginx.conf"
    NGINX_PID=$BG_PID
}

# ---- wrk ----------------------------------------------------------------------------------------
# run_wrk SECONDS CONNECTIONS URL [extra wrk args] : prints "rps=.. p99_ms=.. bytes_per_s=.. errors=.. requests=.. non2xx=.."
run_wrk() {
    local secs=$1 conns=$2 url=$3
    shift 3
    local out
    out=$("${PIN_LOAD[@]}" wrk -t1 -c"$conns" -d"${secs}s" --latency "$@" "$url" 2>&1)
    echo "$out" >>"$LOGS/wrk.log"
    awk '
        function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
        function bytes(v) { m = 1; if (v ~ /KB$/) m = 1024; else if (v ~ /MB$/) m = 1048576; else if (v ~ /GB$/) m = 1073741824; return v * m }
        /Requests\/sec:/ { rps = $2 }
        /Transfer\/sec:/ { bps = bytes($2) }
        /^ +99%/ { p99 = ms($2) }
        /^ +50%/ { p50 = ms($2) }
        /requests in/ { req = $1 }
        /Socket errors:/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/ { non = $5 }
        END { printf "rps=%s p50_ms=%s p99_ms=%s bytes_per_s=%.0f errors=%d requests=%s non2xx=%d\n", rps, p50, p99, bps, err, req, non }
    ' <<<"$out"
}

# ---- B3/B7 data -----------------------------------------------------------------------------------
# seed_rooms : 500 users with a room each (100 live) in the bench database, once (the tables are
# the auth and rooms plugins' and must exist: start a server with both first). Live rooms get a
# live_seen_at in the future so that no node's sweep ends them. Prints a live room's id.
seed_rooms() {
    local have
    have=$(psql_bench -c "SELECT count(*) FROM users WHERE username LIKE 'benchu%'") || return 1
    if [ "${have:-0}" -lt 500 ]; then
        psql_bench >/dev/null <<'SQL' || return 1
INSERT INTO users (username, email, password_hash, stream_key_hash, stream_key_enc, display_name, bio)
SELECT 'benchu' || g, 'benchu' || g || '@bench.invalid', '$2b$10$' || repeat('x', 53),
       md5('k' || g) || md5('kk' || g), 'unused', 'Bench streamer ' || g, 'Seeded for bench/b3.sh'
FROM generate_series(1, 500) g
ON CONFLICT DO NOTHING;
INSERT INTO rooms (room_id, streamer_id, title, description, category_id, is_live, viewer_count, started_at, live_seen_at)
SELECT 'bench' || substr(md5(u.username), 1, 12), u.id, 'Bench room ' || u.username,
       'A seeded room for the REST benchmark.', 'gaming', (u.id % 5 = 0), (u.id * 37) % 1000,
       CASE WHEN u.id % 5 = 0 THEN now() END, CASE WHEN u.id % 5 = 0 THEN now() + interval '1 day' END
FROM users u WHERE u.username LIKE 'benchu%'
ON CONFLICT DO NOTHING;
SQL
    fi
    psql_bench -c "SELECT room_id FROM rooms WHERE room_id LIKE 'bench%' AND is_live ORDER BY room_id LIMIT 1"
}

# ---- streaming (B4, B5, B6) ---------------------------------------------------------------------
MEDIA=$BENCH_VAR/media
FLV=$MEDIA/bench.flv
# make_flv : the test stream, made once with ffmpeg from lavfi sources: 20 s of 1280x720 30 fps
# H.264 (2 s GOP, no B-frames, CBR 2.2 Mbit/s: ~600 KB per 2 s segment) + AAC 128k, the frame
# number stamped in the top-left corner as 16 black/white blocks of 32x32 (bit 0 first) so that a
# player's picture tells which frame it shows (B5).
make_flv() {
    [ -s "$FLV" ] && return 0
    mkdir -p "$MEDIA"
    command -v ffmpeg >/dev/null || return 1
    ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=30" \
        -f lavfi -i "color=black:size=512x32:rate=30,format=yuv420p,geq=lum='if(bitand(floor(N/pow(2\,floor(X/32)))\,1)\,235\,16)':cb=128:cr=128" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000" \
        -filter_complex "[0:v][1:v]overlay=0:0:shortest=1,format=yuv420p[v]" -map "[v]" -map 2:a -t 20 \
        -c:v libx264 -preset veryfast -tune zerolatency -g 60 -keyint_min 60 -sc_threshold 0 \
        -b:v 2200k -minrate 2200k -maxrate 2200k -bufsize 2200k -x264-params nal-hrd=cbr:force-cfr=1 \
        -pix_fmt yuv420p -c:a aac -b:a 128k -ar 48000 -f flv "$FLV.tmp" >"$LOGS/ffmpeg.log" 2>&1 &&
        mv "$FLV.tmp" "$FLV"
}

# streaming_plugins_ok : why not, or nothing (auth, rtmp, hls needed; rooms used when built)
streaming_missing() {
    local p
    for p in auth rtmp hls; do have_plugin $p || { echo "the $p plugin did not build (build/plugins/$p.so)"; return 0; }; done
    [ -x "$BIN/rtmp_pub" ] || { echo "bench/tools/rtmp_pub did not build"; return 0; }
    make_flv || { echo "ffmpeg could not make the test FLV (see var/bench/logs/ffmpeg.log)"; return 0; }
}

# start_streaming_sh NAME [HLS_CONFIG_JSON] : StreamHub with auth, rooms (when built), rtmp on a
# free port, hls; sets SH_PID, SH_PORT, RTMP_PORT.
start_streaming_sh() {
    RTMP_PORT=$(free_port)
    local rooms="" hls=${2:-}
    [ -n "$hls" ] || hls='{}'
    have_plugin rooms && rooms='{"name": "rooms"}, '
    sh_config "$BENCH_VAR/$1.yaml" "[$(auth_entry 10), $rooms{\"name\": \"rtmp\", \"config\": {\"port\": $RTMP_PORT, \"bind\": \"127.0.0.1\"}}, {\"name\": \"hls\", \"config\": $hls}]"
    start_sh "$1" "$BENCH_VAR/$1.yaml"
}

# new_streamer BASEURL : a new account; sets ST_USER, ST_KEY and ST_ROOM (the room's public id,
# created through the rooms plugin; without it the username)
new_streamer() {
    ST_USER=bs$(date +%s%N | tail -c 12)$RANDOM
    local tok
    tok=$(register_user "$1" "$ST_USER")
    [ -n "$tok" ] || return 1
    ST_KEY=$(api GET "$1/api/users/me/stream-key" "" "$tok" | json_get streamKey)
    [ -n "$ST_KEY" ] || return 1
    ST_ROOM=$ST_USER
    if have_plugin rooms; then
        ST_ROOM=$(api POST "$1/api/rooms" '{"title":"bench stream"}' "$tok" | json_get room.id)
        [ -n "$ST_ROOM" ] || return 1
    fi
}
