#!/usr/bin/env bash
# Every feature combination a user can choose builds without warnings, without our
# dev-dependencies (they would hide a missing `std` or a dependency a feature forgot to enable).
# On the host: the full powerset. On the other targets, only the features that do anything
# there (the rest are no-ops that build.rs warns about, already covered on the host): the
# no_std targets get the powerset of the features that need no OS backend, Windows and macOS
# add their backend's feature, whose code compiles only on that OS.
# cargo-hack also runs --no-default-features and dedups combinations a feature implies.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-hack >/dev/null || cargo install cargo-hack --locked
rustup target add thumbv7em-none-eabihf wasm32-unknown-unknown x86_64-pc-windows-gnu aarch64-apple-darwin

# Warnings are errors (a feature combination with dead code fails). Its own target directory,
# so the changed RUSTFLAGS do not rebuild the other jobs' dependencies back and forth.
export RUSTFLAGS="-D warnings"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/powerset}"
powerset() { cargo hack check --feature-powerset --no-dev-deps "$@"; }

# On the host, gcd and win-threadpool build nothing and cloudflare is cloud-session (build.rs
# warns): checked together as one feature, which keeps the host powerset at 2^7 combinations.
powerset --group-features gcd,win-threadpool,cloudflare
# cloud-session needs std (a thread's current session is a thread-local): not on bare metal.
powerset --target thumbv7em-none-eabihf --include-features test-scheduler,tracing
powerset --target wasm32-unknown-unknown --include-features std,test-scheduler,cloud-session,cloudflare
powerset --target x86_64-pc-windows-gnu --include-features std,test-scheduler,cloud-session,win-threadpool
powerset --target aarch64-apple-darwin --include-features std,test-scheduler,cloud-session,gcd
