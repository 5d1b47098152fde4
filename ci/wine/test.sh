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
log=$(mktemp)
set +e
cargo test --target "$WINE_RUST_TARGET" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
((status == 0)) || exit "$status"
# Wine can die inside a test binary (an assertion in Wine itself, then winedbg) and still
# exit 0, and cargo takes that for success. So every test binary that started must have
# printed its result.
started=$(grep -cE '^running [0-9]+ tests?$' "$log" || true)
finished=$(grep -cE '^test result: ok\.' "$log" || true)
rm -f "$log"
if ((started != finished)); then
  echo "[ci/wine] $((started - finished)) of $started test binaries ended without a result" \
    "(Wine died inside them, see above): failing" >&2
  exit 1
fi
