#!/usr/bin/env bash
# Builds the keyword_coverage evaluator into ../dist/js_evaluator.wasm with componentize-js
# (pinned in package.json / package-lock.json). `jco componentize` is not used: call
# componentize-js directly.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

cd "$here"
if [ ! -x node_modules/.bin/componentize-js ]; then
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund
    else
        npm install --no-audit --no-fund
    fi
fi

mkdir -p "$root/examples/dist"
# No outbound HTTP or fetch-event handler: the sandbox grants neither. stdio, clocks and random
# stay (console.* goes to the plugin log; the host gives a frozen clock and its own randomness).
node_modules/.bin/componentize-js --wit "$root/wit" --world-name evaluator \
    -d http -d fetch-event -o "$root/examples/dist/js_evaluator.wasm" app.js
echo "built $root/examples/dist/js_evaluator.wasm ($(stat -c %s "$root/examples/dist/js_evaluator.wasm") bytes)"
