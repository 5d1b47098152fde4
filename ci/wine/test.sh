#!/usr/bin/env bash
# Run the crate's tests for x86_64-pc-windows-gnu under Wine.
#   ci/wine/test.sh [cargo test args...]   e.g. ci/wine/test.sh --release -- --nocapture
# Works from any directory: cargo runs from the repo root (so a relative
# --manifest-path is taken relative to the repo root).
set -euo pipefail

# Sourced (not executed) to pick up WINE_LOADER / WINEPREFIX / WINESERVER etc.
# shellcheck source-path=SCRIPTDIR source=setup.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/setup.sh"

cd "$WINE_ROOT"
# Cargo runs every test/doctest binary through this runner.
export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER="$WINE_LOADER"

# Don't leave a wineserver behind (it lingers ~3s after the last wine process);
# the shell's exit status stays cargo's.
trap '"$WINESERVER" -w || true' EXIT

wine_log "cargo test --target $WINE_RUST_TARGET $* (runner: $WINE_LOADER, WINEPREFIX=$WINEPREFIX)"
cargo test --target "$WINE_RUST_TARGET" "$@"
