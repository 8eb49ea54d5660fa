#!/usr/bin/env bash
# Creates (or reuses) the Python venv the Phoenix-client compatibility test runs in, and installs
# tests/phoenix_client/requirements.txt into it. Prints the interpreter path on its last line.
#
#   tests/phoenix_client/setup.sh            # venv at target/phoenix-venv
#   EMBER_PHOENIX_VENV=/some/dir tests/phoenix_client/setup.sh
#
# The e2e test (tests/e2e/phoenix_client.rs) uses $EMBER_PHOENIX_PYTHON, or falls back to
# target/phoenix-venv/bin/python.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${EMBER_PHOENIX_VENV:-$repo/target/phoenix-venv}"
requirements="$here/requirements.txt"
python_bin="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "phoenix-client setup: creating venv at $venv with $($python_bin --version 2>&1)"
    "$python_bin" -m venv "$venv"
else
    echo "phoenix-client setup: reusing venv at $venv"
fi

stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "phoenix-client setup: requirements already installed"
else
    echo "phoenix-client setup: installing $requirements"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r "$requirements"
    echo "$want" > "$stamp"
fi
"$venv/bin/python" -c 'import importlib.metadata as m; print("phoenix-client setup: arize-phoenix-client", m.version("arize-phoenix-client"), "pandas", m.version("pandas"))'
echo "$venv/bin/python"
