#!/usr/bin/env bash
# miri on the core, TestScheduler and LinuxDispatcher tests: undefined behaviour, data races
# between the threads miri schedules, and leaks.
set -euo pipefail
cd "$(dirname "$0")/.."

rustup toolchain install nightly --profile minimal -c miri -c rust-src --no-self-update
cargo +nightly miri setup
# cargo-nextest (on the machine image) runs each test in its own miri process, two at once
# on two cores: miri itself is single-threaded, and the suite took 33 minutes one test at a
# time. Without it, plain `cargo miri test` runs the same tests.
if cargo nextest --version >/dev/null 2>&1; then
  miri_test=(cargo +nightly miri nextest run --no-fail-fast)
else
  miri_test=(cargo +nightly miri test --no-fail-fast)
fi
# Without isolation: the runners read `current_exe()` for the replay line (a `readlink`),
# which isolation refuses by aborting the test rather than returning an error.
MIRIFLAGS="-Zmiri-disable-isolation" "${miri_test[@]}" --lib \
  --test core_spawn --test executors --test test_scheduler_order --test test_scheduler_time \
  --test test_scheduler_lifecycle --test test_scheduler_blocking
# The LinuxDispatcher's deques come from crossbeam-deque. Its crossbeam-epoch is sound under
# Tree Borrows but trips Stacked Borrows (crossbeam-rs/crossbeam#545; crossbeam runs miri the
# same way, crossbeam-rs/crossbeam#996), and its global collector keeps per-thread records
# for the life of the process, which miri reports as leaks. The Linux backend has no unsafe
# code of its own, and the suite's drop counters check that it leaks no task or future.
MIRIFLAGS="-Zmiri-tree-borrows -Zmiri-ignore-leaks" "${miri_test[@]}" --features linux-calloop \
  --test linux_dispatcher
