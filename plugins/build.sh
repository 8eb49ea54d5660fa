#!/usr/bin/env bash
# Builds every first-party plugin into a Wasm component: plugins/dist/<name>.wasm.
#
# Each plugin is built on its own (`-p`-style, through its manifest) because each enables a
# different world feature of ember-plugin-sdk, and one component must carry exactly one world.
# sdk/guest-cargo.sh picks the toolchain (rustup's wasm target if installed, Debian's Rust with
# -Zbuild-std otherwise); ember-componentize turns each core module into a component. Only what
# changed is rebuilt. A plugin's manifest.json (limits, hosts, secrets, llm), when it has one, is
# copied next to its component as dist/<name>.manifest.json, where the server looks for it.
# Usage: plugins/build.sh [name…]   (default: every plugin)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
# Components are made from wit-bindgen modules without WASI; ember-componentize needs no adapter.
export EMBER_GUEST_TARGET=wasm32-unknown-unknown
out="$here/target/$EMBER_GUEST_TARGET/release"
dist="$here/dist"

if [ "$#" -gt 0 ]; then
    plugins=("$@")
else
    plugins=()
    for manifest in "$here"/*/Cargo.toml; do
        # Shared libraries (llm_judge, provider_common) are rlib-only members, not plugins.
        grep -q '"cdylib"' "$manifest" || continue
        plugins+=("$(basename "$(dirname "$manifest")")")
    done
fi

componentize="$root/target/release/ember-componentize"
if [ ! -x "$componentize" ] || [ -n "$(find "$root/sdk/componentize" -newer "$componentize" -type f -print -quit)" ]; then
    echo "build.sh: building ember-componentize" >&2
    (cd "$root" && cargo build --quiet --release -p ember-componentize)
fi

mkdir -p "$dist"
for name in "${plugins[@]}"; do
    [ -f "$here/$name/Cargo.toml" ] || { echo "build.sh: no plugin named $name" >&2; exit 1; }
    grep -q '"cdylib"' "$here/$name/Cargo.toml" || { echo "build.sh: $name is a library, not a plugin" >&2; exit 1; }
    "$root/sdk/guest-cargo.sh" build --quiet --release --manifest-path "$here/$name/Cargo.toml"
    core="$out/$name.wasm"
    component="$dist/$name.wasm"
    if [ ! -f "$component" ] || [ "$core" -nt "$component" ] || [ "$componentize" -nt "$component" ]; then
        "$componentize" "$core" "$component.tmp" >/dev/null
        mv "$component.tmp" "$component"
    fi
    if [ -f "$here/$name/manifest.json" ]; then
        cp "$here/$name/manifest.json" "$dist/$name.manifest.json.tmp"
        mv "$dist/$name.manifest.json.tmp" "$dist/$name.manifest.json"
    else
        rm -f "$dist/$name.manifest.json"
    fi
done

for name in "${plugins[@]}"; do
    printf '%-22s %9d bytes\n' "$name" "$(stat -c %s "$dist/$name.wasm")"
done
