#!/usr/bin/env bash
# Install what StreamHub needs to build, run and test, if it is missing: Debian packages (as root
# with apt-get; otherwise print the command) and the npm packages of web/ and tests/.
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential pkg-config clang libclang-rt-14-dev
  libevent-dev libevhtp-dev libpq-dev libhiredis-dev libjson-c-dev libyaml-dev libssl-dev libjwt-dev
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libcmocka-dev libcrypt-dev
  postgresql redis-server ffmpeg chromium)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js: any install that provides node and npm will do (Debian's, or a vendor build that
# bundles npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "deps: missing Debian packages; run:"
    echo "  sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
fi

npm_install() { # dir
  local d=$1
  [ -f "$d/package.json" ] || return 0
  if [ ! -d "$d/node_modules" ] || [ "$d/package.json" -nt "$d/node_modules/.installed" ] || \
     { [ -f "$d/package-lock.json" ] && [ "$d/package-lock.json" -nt "$d/node_modules/.installed" ]; }; then
    echo "deps: npm install in $d"
    if [ -f "$d/package-lock.json" ]; then
      (cd "$d" && npm ci --no-audit --no-fund --loglevel=error)
    else
      (cd "$d" && npm install --no-audit --no-fund --loglevel=error)
    fi
    touch "$d/node_modules/.installed"
  fi
}
npm_install web
npm_install tests
