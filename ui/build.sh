#!/usr/bin/env bash
# Builds the web UI into ui/dist. Idempotent and quiet on success; callable from any cwd.
# Installs Node.js and npm with apt-get when they are missing (needs root), runs `npm ci` when
# node_modules is missing or older than package-lock.json, then `npm run build` unless ui/dist is
# already newer than every source file.
set -euo pipefail

UI_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$UI_DIR"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

run() {
  # run quietly; print the output only on failure
  if ! "$@" >"$log" 2>&1; then
    echo "ui/build.sh: '$*' failed:" >&2
    cat "$log" >&2
    exit 1
  fi
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ui/build.sh: node and npm are required (install Node.js >= 20.19)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  run apt-get update -q
  run apt-get install -y -q --no-install-recommends nodejs npm
fi

node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$node_major" -lt 20 ]; then
  echo "ui/build.sh: Node.js $(node -v 2>/dev/null) is too old; Vite 8 needs >= 20.19" >&2
  exit 1
fi

export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false npm_config_loglevel=error

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] \
  || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  run npm ci --no-audit --no-fund
fi

# Skip the build when dist is newer than every input, so that an unchanged UI leaves ui/dist (and
# so the server binary that embeds it) untouched.
if [ -f dist/index.html ] && [ -z "$(find src index.html package.json package-lock.json vite.config.ts tsconfig.json \
  build.sh -newer dist/index.html -print -quit 2>/dev/null)" ]; then
  exit 0
fi

run npm run build
