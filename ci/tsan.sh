#!/usr/bin/env bash
# ThreadSanitizer run of the threaded LinuxDispatcher suite, so CI catches data races in the
# worker parking protocol (and anything else shared between workers and the main thread) that
# plain tests only hit by luck and miri's interpreter is too slow to explore at real sizes.
#
# TSan needs every crate instrumented, std included, hence nightly + -Zbuild-std (rust-src);
# an instrumented std also builds with cfg(sanitize = "thread"), which swaps the fences TSan
# cannot see (Arc's drop) for acquire loads. TSan does not model atomic::fence at all, so the
# SeqCst fence pairing in Pool::notify/Pool::park is not checked here (ci/miri.sh models
# fences); what TSan checks is every plain access to data shared between threads.
# Any TSan report fails the run (halt_on_error + non-zero exitcode). ci/tsan.supp may only hold
# documented false positives in third-party code; never suppress this crate's own code.
#
#   bash ci/tsan.sh [extra cargo test args...]   e.g. bash ci/tsan.sh -- --test-threads=1
#
# Build output goes to $CARGO_TARGET_DIR if set, else target/tsan, so the instrumented build
# (a different std) does not thrash the normal target/ cache.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# TSan's runtime ships for a few targets only (this is CI's); -Zbuild-std needs an explicit --target
# (which also keeps RUSTFLAGS off build scripts and proc macros).
target=x86_64-unknown-linux-gnu

rustup toolchain install nightly --profile minimal -c rust-src --no-self-update

# crossbeam_sanitize_thread: crossbeam-deque then uses Release stores where it would use
# fences, which TSan cannot see.
export RUSTFLAGS="-Zsanitizer=thread --cfg crossbeam_sanitize_thread"
# Only integration tests run here (no doctests), but keep rustdoc consistent should any be added.
export RUSTDOCFLAGS="-Zsanitizer=thread"
# halt_on_error: stop at the first report, failing the test binary with `exitcode` (66, TSan's
# default, stated so CI does not depend on it). second_deadlock_stack: both stacks of lock-order
# reports. history_size=4: longer access history, so "previous access" stacks are not lost.
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 history_size=4 suppressions=$root/ci/tsan.supp${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/tsan}"

cargo +nightly test -Zbuild-std --target "$target" --features linux-calloop \
  --test linux_dispatcher "$@"
