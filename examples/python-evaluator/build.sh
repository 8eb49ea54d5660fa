#!/usr/bin/env bash
# Builds the token_f1 evaluator into ../dist/python_evaluator.wasm with componentize-py.
# Installs componentize-py (pinned) with pip when it is missing or another version.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version=0.25.1
python="${PYTHON:-python3}"

if ! command -v componentize-py >/dev/null || [ "$(componentize-py --version | awk '{print $2}')" != "$version" ]; then
    echo "python-evaluator: installing componentize-py==$version" >&2
    "$python" -m pip install --quiet "componentize-py==$version"
    hash -r
fi

mkdir -p "$root/examples/dist"
cd "$here"
# Bindings for editors only (componentize generates its own): ./build.sh bindings
if [ "${1:-}" = bindings ]; then
    componentize-py -d "$root/wit" -w evaluator bindings bindings
    exit 0
fi
componentize-py -q -d "$root/wit" -w evaluator componentize app -p . -o "$root/examples/dist/python_evaluator.wasm"
echo "built $root/examples/dist/python_evaluator.wasm ($(stat -c %s "$root/examples/dist/python_evaluator.wasm") bytes)"
