#!/usr/bin/env bash
# Runs cargo for a Wasm guest crate with whatever wasm toolchain this machine has:
#   1. rustup's cargo when its sysroot has the target's standard library (`rustup target add …`);
#   2. otherwise Debian's Rust (rustc-web, cargo-web, rust-web-src) building std from source with
#      -Zbuild-std, installed with apt when missing and run as root.
# Usage: sdk/guest-cargo.sh <cargo args…>      Target: $EMBER_GUEST_TARGET (wasm32-unknown-unknown)
# The target is appended; the caller passes the subcommand, --manifest-path, -p and profile flags.
set -euo pipefail

target="${EMBER_GUEST_TARGET:-wasm32-unknown-unknown}"

if command -v rustc >/dev/null && [ -d "$(rustc --print sysroot)/lib/rustlib/$target/lib" ]; then
    exec cargo "$@" --target "$target"
fi

if [ ! -x /usr/bin/cargo ] || [ ! -d /usr/lib/rustlib/src/rust/library ] || ! command -v wasm-ld-14 >/dev/null \
    || { [ "$target" != wasm32-unknown-unknown ] && [ ! -d /usr/lib/wasm32-wasi ]; }; then
    echo "guest-cargo: no $target standard library; installing Debian's Rust with library sources" >&2
    sudo_cmd=()
    [ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        rustc-web cargo-web rust-web-src lld-14 lld-22 wasi-libc >&2
fi

# Debian's cargo and rustc (1.96) come before rustup's on PATH for this command only.
export PATH="/usr/bin:$PATH"
export RUSTC=/usr/bin/rustc
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-14
export CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-L /usr/lib/wasm32-wasi"
export CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS="-L /usr/lib/wasm32-wasi"
exec /usr/bin/cargo "$@" --target "$target" -Zbuild-std=std,panic_abort
