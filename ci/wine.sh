#!/usr/bin/env bash
# Windows under Wine: the WindowsDispatcher suite, core tests and golden fingerprints (the
# TestScheduler's schedules must not depend on the OS), the backend's doctests; then clippy
# and the bench build for Windows, where the backend's code compiles at all.
set -euo pipefail
cd "$(dirname "$0")/.."

# ci/wine/test.sh installs mingw, Wine and the target, and builds the bcryptprimitives shim.
bash ci/wine/test.sh --features win-threadpool \
  --test windows_dispatcher --test core_spawn --test test_scheduler_order
bash ci/wine/test.sh --features win-threadpool --doc -- platform::windows
rustup component add clippy
cargo clippy --target x86_64-pc-windows-gnu --features win-threadpool --all-targets -- -D warnings
# The dispatcher bench's Windows target has `bench = false` (so `cargo bench --all-features`
# measures the dispatcher once): --all-targets leaves it out, so lint it by name.
cargo clippy --target x86_64-pc-windows-gnu --features win-threadpool --bench dispatchers_windows -- -D warnings
# Bench figures under Wine mean nothing: only check that the benches build (and link).
cargo bench --no-run --target x86_64-pc-windows-gnu --features win-threadpool
cargo bench --no-run --target x86_64-pc-windows-gnu --features win-threadpool --bench dispatchers_windows
