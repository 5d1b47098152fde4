#!/usr/bin/env bash
# Cloudflare Workers (feature `cloudflare`, wasm32 only), offline:
# 1. the wasm32 tests (tests/workers_*.rs) in Node, with wasm-bindgen-test-runner as cargo's
#    runner (set here, not in .cargo/config.toml, which would apply to every build);
# 2. end to end: the example worker (examples/cloudflare-worker/), built by its build.sh with
#    cargo and wasm-bindgen (not worker-build, which downloads its own tools), served by
#    workerd from npm and driven by its node:test script.
# Installs what it needs, idempotently: the wasm32 target, wasm-bindgen-cli at exactly the
# crate's `=` pin (the CLI must match the library), workerd at its package-lock.json pin.
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
step() { printf '\n--> %s (at %ds)\n' "$*" $((SECONDS - start)); }
times=()
timed() { local t=$SECONDS; "$@"; times+=("$(printf '%5ds  %s' $((SECONDS - t)) "$*")"); }

# The version pinned in Cargo.toml (`wasm-bindgen = { version = "=X.Y.Z", ... }`); the
# example's pin must be the same, or the CLI matches only one of them.
pin() { sed -n 's/^wasm-bindgen = .*"=\([0-9][0-9.]*\)".*/\1/p' "$1"; }
wb=$(pin Cargo.toml)
[[ -n $wb ]] || { echo "no wasm-bindgen = \"=X.Y.Z\" pin in Cargo.toml" >&2; exit 1; }
[[ $(pin examples/cloudflare-worker/Cargo.toml) == "$wb" ]] \
  || { echo "examples/cloudflare-worker pins another wasm-bindgen than Cargo.toml ($wb)" >&2; exit 1; }

step "install: wasm32 target, wasm-bindgen-cli $wb, workerd"
timed rustup target add wasm32-unknown-unknown
version_of() { command -v "$1" >/dev/null && "$1" --version | awk '{print $2}'; }
if [[ $(version_of wasm-bindgen) != "$wb" || $(version_of wasm-bindgen-test-runner) != "$wb" ]]; then
  timed cargo install wasm-bindgen-cli --version "=$wb" --locked
fi
timed npm ci --prefix examples/cloudflare-worker --no-audit --no-fund

step "unit tests in Node (wasm-bindgen-test-runner)"
tests=()
for f in tests/workers_*.rs; do tests+=(--test "$(basename "$f" .rs)"); done
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  timed cargo test --target wasm32-unknown-unknown --features cloudflare "${tests[@]}"

step "end to end in workerd"
cd examples/cloudflare-worker
timed bash build.sh
timed node --test e2e.test.mjs

printf '\nci/workers.sh times:\n'
printf '%s\n' "${times[@]}"
printf '%5ds  total\n' $((SECONDS - start))
