#!/usr/bin/env bash
# The docs build without warnings (a broken intra-doc link fails): locally as users build them,
# and as docs.rs builds them (nightly, `--cfg docsrs`) for each target listed in Cargo.toml's
# [package.metadata.docs.rs]; each backend's docs exist only on its own OS.
set -euo pipefail
cd "$(dirname "$0")/.."

docs_rs_targets=(x86_64-unknown-linux-gnu x86_64-pc-windows-msvc aarch64-apple-darwin wasm32-unknown-unknown)
rustup toolchain install nightly --profile minimal --no-self-update
rustup target add --toolchain nightly "${docs_rs_targets[@]}"

RUSTDOCFLAGS="-D warnings" cargo doc --all-features --no-deps
# The attribute macro's own crate (its docs point to the re-export, which has the examples).
RUSTDOCFLAGS="-D warnings" cargo doc -p unified-scheduler-macros --no-deps
for target in "${docs_rs_targets[@]}"; do
  RUSTDOCFLAGS="--cfg docsrs -D warnings" cargo +nightly doc --all-features --no-deps --target "$target"
done
