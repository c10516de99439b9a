#!/usr/bin/env bash
# tools/pg.sh - a private PostgreSQL 15 for tests and development.
#
#   tools/pg.sh start DIR PORT   initdb on first use, start, create database `streamhub`,
#                                print the conninfo; already running: just print the conninfo
#   tools/pg.sh stop DIR         fast shutdown; nothing running: nothing to do
#   tools/pg.sh status DIR       print the conninfo and exit 0 when running, else exit 3
#
# Layout: DIR/data (PGDATA), DIR/run (unix socket), DIR/postgres.log. Trust authentication, on
# 127.0.0.1:PORT and the unix socket only. SH_PG_FAST=1 turns fsync and friends off (tests).
# SH_PG_BIN overrides /usr/lib/postgresql/15/bin.
#
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system user
# (created if missing). When that user cannot reach DIR (say a clone under a mode-700 mktemp -d),
# the data lives in /tmp/streamhub-pg-<hash of DIR> and DIR becomes a symlink to it.
set -euo pipefail

PGBIN=${SH_PG_BIN:-/usr/lib/postgresql/15/bin}
PGUSER_OS=postgres
DBNAME=streamhub

die() {
    echo "pg.sh: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start DIR PORT | stop DIR | status DIR" >&2
    exit 2
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as the server's user, from / (the caller's cwd may be unreadable to it).
as_pg() {
    if is_root; then
        (cd / && runuser -u "$PGUSER_OS" -- "$@")
    else
        (cd / && "$@")
    fi
}

ensure_user() {
    is_root || return 0
    id -u "$PGUSER_OS" >/dev/null 2>&1 && return 0
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$PGUSER_OS" || die "cannot create the $PGUSER_OS user"
}

abspath() {
    case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(pwd)" "$1" ;;
    esac
}

fallback_dir() {
    printf '/tmp/streamhub-pg-%s\n' "$(printf '%s' "$1" | sha256sum | cut -c1-16)"
}

# Set BASE: the real directory holding data/, run/ and the log. With create=1, make it.
resolve_base() {
    local dir create=$2
    dir=$(abspath "$1")
    if [ -L "$dir" ]; then
        BASE=$(readlink -f "$dir" || true)
        [ -n "$BASE" ] || die "$dir is a dangling symlink"
        if [ ! -d "$BASE" ] && [ "$create" = 1 ]; then # e.g. /tmp was cleaned
            mkdir -m 700 "$BASE"
            if is_root; then chown "$PGUSER_OS:" "$BASE"; fi
        fi
        return 0
    fi
    BASE=$dir
    [ "$create" = 1 ] || return 0
    mkdir -p "$dir"
    is_root || return 0
    chown "$PGUSER_OS:" "$dir"
    chmod 700 "$dir"
    if runuser -u "$PGUSER_OS" -- test -w "$dir" -a -x "$dir"; then
        return 0
    fi
    # the server's user cannot reach DIR: keep the data under /tmp, DIR points to it
    [ -z "$(ls -A "$dir")" ] || die "$dir is not reachable by the $PGUSER_OS user and not empty"
    rmdir "$dir"
    BASE=$(fallback_dir "$dir")
    if [ -e "$BASE" ] || [ -L "$BASE" ]; then
        if [ ! -d "$BASE" ] || [ -L "$BASE" ]; then die "$BASE exists and is not a directory"; fi
        [ "$(stat -c %U "$BASE")" = "$PGUSER_OS" ] || die "$BASE is not owned by $PGUSER_OS"
    else
        mkdir -m 700 "$BASE"
        chown "$PGUSER_OS:" "$BASE"
    fi
    ln -s "$BASE" "$dir"
}

# The port of a running server (from postmaster.pid), empty if not running.
running_port() {
    local data=$1
    [ -f "$data/postmaster.pid" ] || return 0
    if as_pg "$PGBIN/pg_ctl" status -D "$data" >/dev/null 2>&1; then
        sed -n 4p "$data/postmaster.pid"
    fi
}

conninfo() { echo "postgresql://postgres@127.0.0.1:$1/$DBNAME"; }

cmd_start() {
    local dir=$1 port=$2
    if ! [[ "$port" =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
        die "bad port: $port"
    fi
    [ -x "$PGBIN/initdb" ] || die "PostgreSQL 15 not found in $PGBIN (apt-get install postgresql-15)"
    ensure_user
    resolve_base "$dir" 1
    local data=$BASE/data run=$BASE/run log=$BASE/postgres.log
    local cur
    cur=$(running_port "$data")
    if [ -n "$cur" ]; then
        [ "$cur" = "$port" ] || echo "pg.sh: already running on port $cur (not $port)" >&2
        conninfo "$cur"
        return 0
    fi
    mkdir -p "$run"
    if is_root; then chown "$PGUSER_OS:" "$run" "$BASE"; fi
    # a unix socket path is limited to 107 bytes
    if [ $((${#run} + 20)) -gt 107 ]; then
        run=$(fallback_dir "$BASE").run
        mkdir -m 700 "$run" 2>/dev/null || [ -d "$run" ]
        if is_root; then chown "$PGUSER_OS:" "$run"; fi
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
        as_pg "$PGBIN/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C >"$BASE/initdb.log" 2>&1 ||
            die "initdb failed, see $BASE/initdb.log"
        echo "include_if_exists = 'streamhub.conf'" | as_pg tee -a "$data/postgresql.conf" >/dev/null
    fi
    {
        echo "# written by tools/pg.sh at each start"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = '${run//\'/\'\'}'"
        echo "logging_collector = off"
        if [ "${SH_PG_FAST:-0}" = 1 ]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } | as_pg tee "$data/streamhub.conf" >/dev/null
    as_pg "$PGBIN/pg_ctl" start -D "$data" -l "$log" -w -t 30 >/dev/null ||
        die "the server did not start, see $log"
    local i
    for i in $(seq 1 300); do
        pg_isready -q -h 127.0.0.1 -p "$port" -d postgres && break
        [ "$i" -lt 300 ] || die "the server does not accept connections, see $log"
        sleep 0.1
    done
    local psql=(psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1)
    if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'")" != 1 ]; then
        "${psql[@]}" -c "CREATE DATABASE $DBNAME" >/dev/null 2>&1 ||
            [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'")" = 1 ] ||
            die "cannot create database $DBNAME"
    fi
    conninfo "$port"
}

cmd_stop() {
    resolve_base "$1" 0
    local data=$BASE/data
    [ -f "$data/postmaster.pid" ] || return 0
    [ -n "$(running_port "$data")" ] || return 0
    as_pg "$PGBIN/pg_ctl" stop -D "$data" -m fast -w -t 30 >/dev/null
}

cmd_status() {
    resolve_base "$1" 0
    local port
    port=$(running_port "$BASE/data")
    if [ -n "$port" ]; then
        conninfo "$port"
        return 0
    fi
    echo "stopped"
    return 3
}

[ $# -ge 2 ] || usage
case "$1" in
start)
    [ $# -eq 3 ] || usage
    cmd_start "$2" "$3"
    ;;
stop)
    [ $# -eq 2 ] || usage
    cmd_stop "$2"
    ;;
status)
    [ $# -eq 2 ] || usage
    cmd_status "$2"
    ;;
*) usage ;;
esac
