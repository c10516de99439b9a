#!/bin/sh
# redis.sh - a private, throwaway redis-server for tests.
#
#   tools/redis.sh start DIR PORT   start one bound to 127.0.0.1:PORT, data/pid/log in DIR,
#                                   no persistence; returns once it answers PING (or fails)
#   tools/redis.sh stop DIR         stop the one started with DIR (SIGTERM, then SIGKILL)
#   tools/redis.sh status DIR       exit 0 if it is running and answers PING
#
# Both start and stop are idempotent: starting a running server (same DIR and PORT) and stopping a
# stopped one succeed. Only the process whose pid is in DIR/redis.pid is ever signalled, and only
# if it still is a redis-server.
set -eu

REDIS_SERVER=${REDIS_SERVER:-/usr/bin/redis-server}
REDIS_CLI=${REDIS_CLI:-/usr/bin/redis-cli}
WAIT_STEPS=100 # x 0.05 s = 5 s, for start and for stop

usage() {
    echo "usage: $0 start DIR PORT | stop DIR | status DIR" >&2
    exit 2
}

# True if PID is alive (not a zombie) and is a redis-server.
is_redis() {
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'redis-server'
}

# The pid in DIR/redis.pid if that process is alive and is a redis-server; empty otherwise.
live_pid() {
    pid=$(cat "$1/redis.pid" 2>/dev/null || true)
    case $pid in '' | *[!0-9]*) return 0 ;; esac
    if is_redis "$pid"; then echo "$pid"; fi
}

pings() { # PORT
    [ "$("$REDIS_CLI" -h 127.0.0.1 -p "$1" ping 2>/dev/null || true)" = PONG ]
}

start() {
    dir=$1 port=$2
    case $port in '' | *[!0-9]*) echo "redis.sh: bad port '$port'" >&2; exit 2 ;; esac
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    pid=$(live_pid "$dir")
    if [ -n "$pid" ]; then
        if [ "$(cat "$dir/redis.port" 2>/dev/null || true)" = "$port" ] && pings "$port"; then
            return 0 # already running here
        fi
        echo "redis.sh: a redis-server (pid $pid) from $dir is running on another port; stop it first" >&2
        exit 1
    fi
    rm -f "$dir/redis.pid"
    if [ -f "$dir/redis.log" ]; then mv -f "$dir/redis.log" "$dir/redis.log.old"; fi
    echo "$port" >"$dir/redis.port"
    "$REDIS_SERVER" --bind 127.0.0.1 --port "$port" --daemonize yes \
        --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
        --save "" --appendonly no --protected-mode yes --loglevel notice
    i=0
    while [ $i -lt $WAIT_STEPS ]; do
        if pings "$port" && [ -n "$(live_pid "$dir")" ]; then
            return 0
        fi
        if grep -q -i -e 'aborting' -e 'fatal' "$dir/redis.log" 2>/dev/null; then
            break # it gave up (port in use, bad option): no point waiting
        fi
        sleep 0.05
        i=$((i + 1))
    done
    echo "redis.sh: redis-server on 127.0.0.1:$port did not start; last log lines:" >&2
    tail -n 5 "$dir/redis.log" >&2 2>/dev/null || true
    pid=$(live_pid "$dir")
    if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; fi
    exit 1
}

stop() {
    dir=$1
    [ -d "$dir" ] || return 0
    pid=$(live_pid "$dir")
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true # with nothing to save, redis exits at once
        i=0
        while is_redis "$pid" && [ $i -lt $WAIT_STEPS ]; do
            sleep 0.02
            i=$((i + 1))
        done
        if is_redis "$pid"; then
            kill -KILL "$pid" 2>/dev/null || true
            i=0
            while is_redis "$pid" && [ $i -lt $WAIT_STEPS ]; do
                sleep 0.02
                i=$((i + 1))
            done
        fi
    fi
    rm -f "$dir/redis.pid"
}

[ $# -ge 2 ] || usage
case $1 in
start) [ $# -eq 3 ] || usage; start "$2" "$3" ;;
stop) [ $# -eq 2 ] || usage; stop "$2" ;;
status)
    [ $# -eq 2 ] || usage
    pid=$(live_pid "$2")
    [ -n "$pid" ] && pings "$(cat "$2/redis.port")"
    ;;
*) usage ;;
esac
