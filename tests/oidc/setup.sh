#!/usr/bin/env bash
# Installs the loopback OIDC provider's npm dependencies from package-lock.json.
# Idempotent: does nothing when node_modules already holds the locked oidc-provider.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

want=$(node -p 'require("./package-lock.json").packages["node_modules/oidc-provider"].version')
have=$(node -p 'try { require("./node_modules/oidc-provider/package.json").version } catch { "" }')

if [ -n "$have" ] && [ "$have" = "$want" ]; then
  echo "oidc-provider $have already installed"
  exit 0
fi

npm ci --no-audit --no-fund
have=$(node -p 'require("./node_modules/oidc-provider/package.json").version')
if [ "$have" != "$want" ]; then
  echo "setup.sh: installed oidc-provider $have, expected $want" >&2
  exit 1
fi
echo "oidc-provider $have installed"
