#!/usr/bin/env bash
# Build the React app into web/dist when its sources changed.
set -euo pipefail
cd "$(dirname "$0")/../web"
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
stamp=dist/.built
if [ -f "$stamp" ] && [ -z "$(find src index.html package.json vite.config.* -newer "$stamp" 2>/dev/null | head -1)" ]; then
  exit 0
fi
npm run --silent build
touch "$stamp"
