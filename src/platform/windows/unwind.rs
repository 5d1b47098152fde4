//! Keeping panics out of Windows: runnables are run under `catch_unwind`, and the body of
//! every `extern "system"` callback (pool work, pool timers, the window procedure) aborts
//! the process if anything still unwinds, because unwinding into the thread pool or
//! `user32` is undefined behaviour. Dropping a runnable needs no guard: async-task drops
//! futures under its own abort-on-unwind guard, so a panicking destructor aborts there (as
//! in async-task everywhere) and never unwinds to us.

use core::panic::AssertUnwindSafe;
use std::panic::catch_unwind;

use crate::Runnable;

/// Runs a runnable; a panic (already caught by async-task for spawned tasks) never unwinds
/// into our callbacks.
pub(super) fn run_guarded(runnable: Runnable) {
    let _ = catch_unwind(AssertUnwindSafe(|| runnable.run()));
}

/// Runs the body of an `extern "system"` callback: nothing may unwind into Windows.
pub(super) fn no_unwind<R>(what: &str, body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(_) => {
            std::eprintln!(
                "unified-scheduler: a panic escaped the WindowsDispatcher's {what}; \
                 unwinding into Windows is undefined behaviour, so the process aborts"
            );
            std::process::abort()
        }
    }
}
