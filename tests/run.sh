#!/usr/bin/env bash
# Runs Ember's whole test suite: formatting, lints, unit tests and the end-to-end tests against
# SQLite and PostgreSQL. Works on a fresh Debian machine; installs what it needs when run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
# Each step's line carries the seconds since the start, so a CI log shows where the time goes.
log() { printf '\n==> [+%ds] %s\n' "$((SECONDS - started))" "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_updated=
apt_install() {
    [ -n "$apt_updated" ] || { as_root apt-get update -qq && apt_updated=1; }
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# Rust: rustup's toolchain when present, else Debian's.
if ! command -v cargo >/dev/null; then
    log "installing Rust from Debian (rustc-web, cargo-web)"
    apt_install rustc-web cargo-web gcc
fi
command -v cc >/dev/null || apt_install gcc

# PostgreSQL on 127.0.0.1:5432 for the PostgreSQL half of the end-to-end tests.
pg_ready() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if ! pg_ready; then
    if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        log "installing PostgreSQL"
        apt_install postgresql || true
    fi
    if ls /etc/postgresql/*/main >/dev/null 2>&1; then
        version=$(ls /etc/postgresql | sort -V | tail -n 1)
        log "starting PostgreSQL $version"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
        # Trust local TCP connections for the postgres user, as CI machines do.
        if ! psql -h 127.0.0.1 -U postgres -c 'select 1' >/dev/null 2>&1; then
            hba=$(ls /etc/postgresql/"$version"/main/pg_hba.conf)
            as_root sed -i 's/^\(host[[:space:]]\+all[[:space:]]\+all[[:space:]]\+127.0.0.1\/32[[:space:]]\+\).*/\1trust/' "$hba" || true
            as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
        fi
    fi
fi
if pg_ready; then
    log "PostgreSQL is up on 127.0.0.1:5432"
elif [ -n "${CI:-}" ]; then
    echo "PostgreSQL is required in CI but is not reachable on 127.0.0.1:5432" >&2
    exit 1
else
    printf '\n!!!!!!!!\n!!! PostgreSQL is not reachable on 127.0.0.1:5432: the PostgreSQL half of the\n!!! end-to-end tests will be SKIPPED. CI never skips it.\n!!!!!!!!\n\n'
fi

# libfiu's fiu-run and fiu-ctrl inject I/O errors into the server's writes (tests/e2e/faults.rs).
if ! command -v fiu-run >/dev/null; then
    log "installing fiu-utils (libfiu fault injection)"
    apt_install fiu-utils || true
fi

# The web UI first: the server binary embeds ui/dist when it is compiled (host/build.rs).
log "building the web UI (ui/build.sh)"
bash ui/build.sh

# Wasm guests: the first-party plugins, the hostile plugin corpus and the Python and JavaScript
# examples. Each script installs its toolchain when missing (Debian's Rust with library sources,
# componentize-py from PyPI, componentize-js from npm).
log "building the first-party plugins (plugins/build.sh)"
bash plugins/build.sh
log "building the hostile plugin corpus (tests/plugins/build.sh)"
bash tests/plugins/build.sh
log "building the Python and JavaScript examples (examples/build.sh)"
bash examples/build.sh

guest_workspaces=(plugins/Cargo.toml tests/plugins/Cargo.toml)
log "cargo fmt --check"
cargo fmt --all -- --check
for manifest in "${guest_workspaces[@]}"; do cargo fmt --manifest-path "$manifest" --all -- --check; done
log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --manifest-path plugins/Cargo.toml --workspace --all-targets --locked -- -D warnings
log "phoenix-client venv (tests/phoenix_client/setup.sh)"
EMBER_PHOENIX_PYTHON="$(bash tests/phoenix_client/setup.sh | tail -n1)"
export EMBER_PHOENIX_PYTHON
log "OpenID provider for the sign-in tests (tests/oidc/setup.sh)"
bash tests/oidc/setup.sh
log "cargo test"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
# The plugins' own logic, natively; then the sandbox, the server and the end-to-end tests.
cargo test --manifest-path plugins/Cargo.toml --workspace --locked 2>&1 | tee "$results"
cargo test --workspace --locked 2>&1 | tee -a "$results"

# The web UI in headless Chromium (Debian's, driven by playwright-core; no browser download),
# against the binary built above. See tests/browser/README.md.
log "browser tests (tests/browser)"
browser_skip=
if [ ! -x /usr/bin/chromium ]; then
    log "installing Chromium (Debian's chromium)"
    apt_install --no-install-recommends chromium || true
fi
if [ ! -x /usr/bin/chromium ] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ -n "${CI:-}" ]; then
        echo "the browser tests need /usr/bin/chromium, node and npm; CI never skips them" >&2
        exit 1
    fi
    browser_skip=1
    printf '\n!!!!!!!!\n!!! /usr/bin/chromium, node or npm is missing (and could not be installed): the browser\n!!! tests are SKIPPED. CI never skips them.\n!!!!!!!!\n\n'
fi
if [ -z "$browser_skip" ]; then
    if [ ! -f tests/browser/node_modules/.package-lock.json ] \
        || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
        (cd tests/browser && npm ci --no-audit --no-fund)
    fi
    rm -rf target/browser-artifacts
    target_dir="${CARGO_TARGET_DIR:-target}"
    case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
    EMBER_BIN="$target_dir/debug/ember" \
        node --test --test-concurrency=1 --test-reporter=spec tests/browser/ 2>&1 | tee -a "$results"
fi

log "finished"
# One closing line over every test binary and the browser tests (cargo's own last line is the
# doc-test run's).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     /^ℹ pass [0-9]+$/ { p += $3 } /^ℹ (fail|cancelled) [0-9]+$/ { f += $3 }
     END { printf "\nall tests: %d passed, %d failed\n", p, f }' "$results"
