#!/usr/bin/env bash
# make run: start a private PostgreSQL and Redis with data under var/, make a development JWT
# secret if none is set, then run the server in the foreground. Ctrl-C stops all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
PG_PORT=${STREAMHUB_PG_PORT:-15432}
REDIS_PORT=${STREAMHUB_REDIS_PORT:-16379}

cleanup() {
  trap - EXIT INT TERM
  tools/redis.sh stop var/redis >/dev/null 2>&1 || true
  tools/pg.sh stop var/pg >/dev/null 2>&1 || true
  echo "run: stopped PostgreSQL and Redis"
}
trap cleanup EXIT INT TERM

export STREAMHUB_DATABASE_URL=$(tools/pg.sh start var/pg "$PG_PORT" | tail -1)
tools/redis.sh start var/redis "$REDIS_PORT" >/dev/null
export STREAMHUB_REDIS_PORT=$REDIS_PORT
if [ -z "${STREAMHUB_JWT_SECRET:-}" ]; then
  if [ ! -s var/jwt_secret ]; then
    (umask 077; head -c 48 /dev/urandom | base64 -w0 > var/jwt_secret)
    echo "run: generated a development JWT secret in var/jwt_secret"
  fi
  export STREAMHUB_JWT_SECRET=$(cat var/jwt_secret)
fi
echo "run: PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT"
echo "run: serving http://localhost:${STREAMHUB_HTTP_PORT:-3000} (RTMP rtmp://localhost:1935/live); Ctrl-C stops"
build/streamhub -c "${STREAMHUB_CONFIG:-etc/streamhub.yaml}" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' INT TERM
wait $server || true
# a second wait covers the drain after the signal
wait $server 2>/dev/null || true
