#!/usr/bin/env bash
# clippy on every target of the host build (lib, tests, benches, examples) with warnings as
# errors, and rustfmt's check. The other OSes' clippy runs live in ci/wine.sh and ci/apple.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component add clippy rustfmt
cargo clippy --all-features --all-targets -- -D warnings
# The attribute macro's crate, a workspace member (the line above lints the root package).
cargo clippy -p unified-scheduler-macros --all-targets -- -D warnings
cargo fmt --check
# The replay-line fixtures are workspaces of their own, which `cargo fmt` at the root skips.
for fixture in tests/fixtures/*/Cargo.toml; do cargo fmt --check --manifest-path "$fixture"; done
