#!/usr/bin/env bash
# `rust-version` in Cargo.toml is a promise to users: build the library in every feature
# combination with that toolchain (cargo hack --rust-version reads it from Cargo.toml), the
# no_std core for wasm32, and run the README's test command with it. (wasm32, not thumbv7em as
# in ci/no_std.sh: the rustup mirror this CI uses serves thumbv7em's std for current toolchains
# only; with --no-default-features the crate compiles the same no_std code on both.)
#
# Every dependency and dev-dependency locked in Cargo.lock builds with that rustc today, so the
# whole suite runs on it rather than only the tests that happen to compile. If a dev-dependency
# bump ever needs a newer rustc, cargo stops here naming it; then choose visibly (pin it in
# Cargo.lock, or test only what builds), never by raising rust-version to make this pass.
# Warnings are not errors here: newer lints belong to ci/lint.sh, this job checks that it builds.
set -euo pipefail
cd "$(dirname "$0")/.."

msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
[[ -n $msrv ]] || { echo "no rust-version in Cargo.toml" >&2; exit 1; }
rustup toolchain install "$msrv" --profile minimal --no-self-update
rustup target add --toolchain "$msrv" wasm32-unknown-unknown
command -v cargo-hack >/dev/null || cargo install cargo-hack --locked

# `cloudflare` is checked below with its own minimum; on this target it is `cloud-session`.
cargo hack check --rust-version --feature-powerset --no-dev-deps --exclude-features cloudflare \
  --group-features gcd,win-threadpool
cargo "+$msrv" build --no-default-features --features test-scheduler --target wasm32-unknown-unknown
cargo "+$msrv" test --all-features

# The `cloudflare` feature has a minimum of its own, workers-rs's (README, Cargo.toml): check
# the feature with that toolchain on the only target it builds for.
cloudflare_msrv=1.91
rustup toolchain install "$cloudflare_msrv" --profile minimal --no-self-update
rustup target add --toolchain "$cloudflare_msrv" wasm32-unknown-unknown
cargo "+$cloudflare_msrv" check --target wasm32-unknown-unknown --features cloudflare
