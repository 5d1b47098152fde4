//! Keeping panics in their place, for every backend: runnables are run under
//! `catch_unwind`, so no panic ends a pool thread, and the body of every callback the OS
//! calls (`extern "system"` on Windows, `extern "C"` for libdispatch) aborts the process if
//! anything still unwinds, because unwinding into the OS is undefined behaviour. Dropping a
//! runnable needs no guard: async-task drops futures under its own abort-on-unwind guard,
//! so a panicking destructor aborts there (as in async-task everywhere) and never unwinds
//! to us.

use ::core::panic::AssertUnwindSafe;
use std::panic::catch_unwind;

use crate::core::Runnable;

/// Runs a runnable; a panic (already caught by async-task for spawned tasks) never unwinds
/// into our callbacks.
pub(crate) fn run_guarded(runnable: Runnable) {
    let _ = catch_unwind(AssertUnwindSafe(|| runnable.run()));
}

/// Runs the body of a callback the OS calls: nothing may unwind into it.
#[cfg_attr(not(any(us_win_threadpool, us_gcd)), allow(dead_code))] // the backends with OS callbacks
pub(crate) fn no_unwind<R>(what: &str, body: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(_) => {
            std::eprintln!(
                "unified-scheduler: a panic escaped the dispatcher's {what}; unwinding into \
                 the OS is undefined behaviour, so the process aborts"
            );
            std::process::abort()
        }
    }
}
