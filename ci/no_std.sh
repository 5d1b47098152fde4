#!/usr/bin/env bash
# The no_std core builds, alone and with the TestScheduler, for a target without std at all
# (thumbv7em) and for wasm32. A library build compiles no dev-dependency, so std cannot sneak
# in through criterion or tokio.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(thumbv7em-none-eabihf wasm32-unknown-unknown)
rustup target add "${targets[@]}"
for target in "${targets[@]}"; do
  cargo build --no-default-features --target "$target"
  cargo build --no-default-features --features test-scheduler --target "$target"
done
