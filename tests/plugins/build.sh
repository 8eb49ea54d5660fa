#!/usr/bin/env bash
# Builds the hostile plugin corpus into tests/plugins/dist/<crate>.wasm (all components).
#   1. every wasm32-unknown-unknown crate in one cargo invocation, then componentized with
#      target/release/ember-componentize (built here if missing);
#   2. hostile_wasi for wasm32-wasip2, which rustc links into a component itself
#      (wasm-component-ld, with the WASI preview-1 adapter);
#   3. the components written by hand in wat/*.wat (values laid out byte by byte), assembled and
#      validated by ember-componentize.
# Each output is checked to be a component; hostile_wasi must import wasi:*, the others must not.
# Idempotent; any failure stops the script with a non-zero status.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
manifest="$here/Cargo.toml"
target_dir="$here/target"
dist="$here/dist"
guest_cargo="$root/sdk/guest-cargo.sh"
componentize="$root/target/release/ember-componentize"

unknown_crates=(polite_echo hostile_loop hostile_memory hostile_recursion hostile_panic hostile_output
    hostile_log_flood hostile_llm hostile_http hostile_start)
wasi_crates=(hostile_wasi hostile_sleep)

die() { echo "build.sh: $*" >&2; exit 1; }

if [ ! -x "$componentize" ]; then
    echo "build.sh: building ember-componentize" >&2
    cargo build --release --manifest-path "$root/Cargo.toml" -p ember-componentize >&2
fi
[ -x "$componentize" ] || die "missing $componentize"

export CARGO_TARGET_DIR="$target_dir"

EMBER_GUEST_TARGET=wasm32-unknown-unknown "$guest_cargo" build --release --manifest-path "$manifest" \
    --workspace --exclude hostile_wasi --exclude hostile_sleep
EMBER_GUEST_TARGET=wasm32-wasip2 "$guest_cargo" build --release --manifest-path "$manifest" \
    -p hostile_wasi -p hostile_sleep

mkdir -p "$dist"
component_magic="0061736d0d000100"
magic() { head -c 8 "$1" | od -An -tx1 | tr -d ' \n'; }

for crate in "${unknown_crates[@]}"; do
    core="$target_dir/wasm32-unknown-unknown/release/$crate.wasm"
    [ -f "$core" ] || die "$core was not built"
    [ "$(magic "$core")" = 0061736d01000000 ] || die "$core is not a core module"
    "$componentize" "$core" "$dist/$crate.wasm.tmp" >/dev/null
    mv "$dist/$crate.wasm.tmp" "$dist/$crate.wasm"
done
for crate in "${wasi_crates[@]}"; do
    built="$target_dir/wasm32-wasip2/release/$crate.wasm"
    [ -f "$built" ] || die "$built was not built"
    cp "$built" "$dist/$crate.wasm.tmp"
    mv "$dist/$crate.wasm.tmp" "$dist/$crate.wasm"
done

wat_components=()
for source in "$here"/wat/*.wat; do
    name="$(basename "$source" .wat)"
    "$componentize" "$source" "$dist/$name.wasm.tmp" >/dev/null
    mv "$dist/$name.wasm.tmp" "$dist/$name.wasm"
    wat_components+=("$name")
done

for crate in "${unknown_crates[@]}" "${wasi_crates[@]}" "${wat_components[@]}"; do
    out="$dist/$crate.wasm"
    [ "$(magic "$out")" = "$component_magic" ] || die "$out is not a component (header $(magic "$out"))"
    imports="$(python3 "$here/tools/component-imports.py" "$out")" || die "cannot read the imports of $out"
    wasi_imports="$(grep -c '^wasi:' <<<"$imports" || true)"
    case " ${wasi_crates[*]} " in
        *" $crate "*) [ "$wasi_imports" -gt 0 ] || die "$out imports no wasi:* interface" ;;
        *) [ "$wasi_imports" -eq 0 ] || die "$out imports WASI: $(grep '^wasi:' <<<"$imports" | tr '\n' ' ')" ;;
    esac
    printf '%-24s %9d bytes  imports: %s\n' "$crate.wasm" "$(stat -c %s "$out")" \
        "$(grep -v '^wasi:' <<<"$imports" | grep ':' | tr '\n' ' ')$([ "$wasi_imports" -gt 0 ] && echo "+ $wasi_imports wasi:*")"
done
