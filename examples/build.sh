#!/usr/bin/env bash
# Builds every example plugin into examples/dist/. Stops at the first failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for example in python-evaluator js-evaluator; do
    echo "== $example" >&2
    if ! "$here/$example/build.sh"; then
        echo "examples/build.sh: $example failed to build" >&2
        exit 1
    fi
done
ls -l "$here/dist"
