//! What every backend does the same way, written once: the main thread and its checks,
//! `park` (the calling thread's own parker, after running the main thread's foreground work
//! or lending the pool a thread), the drop-not-forget rule for discarded foreground work,
//! and the error of a failed start. The thread-local parker itself is the core's
//! (`core/thread_parker.rs`), shared with the `QueueScheduler` and the `TestScheduler`.

use ::core::time::Duration;
use std::io;
use std::thread::ThreadId;

use crate::core::thread_bound::current_thread_id;
use crate::core::thread_parker;
use crate::core::{Park, Runnable, Unparker};

/// The thread that created a dispatcher: the only one its foreground work runs on. (GCD's
/// main thread is the process's, whichever thread created the dispatcher: the
/// `MacDispatcher` has its own.)
#[derive(Clone, Debug)]
#[cfg_attr(not(any(us_linux_calloop, us_win_threadpool)), allow(dead_code))]
pub(crate) struct MainThread {
    id: ThreadId,
    unparker: Unparker,
}

#[cfg_attr(not(any(us_linux_calloop, us_win_threadpool)), allow(dead_code))]
impl MainThread {
    /// The calling thread, which becomes the main thread.
    pub(crate) fn current() -> Self {
        Self {
            id: current_thread_id(),
            unparker: thread_parker::unparker(),
        }
    }

    pub(crate) fn id(&self) -> ThreadId {
        self.id
    }

    pub(crate) fn is_current(&self) -> bool {
        current_thread_id() == self.id
    }

    /// Ends a `park` of the main thread (new foreground work is waiting).
    pub(crate) fn unpark(&self) {
        self.unparker.unpark();
    }

    /// Fails a call that only the main thread may make, naming the method.
    #[track_caller]
    pub(crate) fn assert_current(&self, method: &str) {
        assert!(
            self.is_current(),
            "{method} must be called on the main thread (the thread that created the \
             dispatcher), not on {:?}",
            std::thread::current().name().unwrap_or("<unnamed>")
        );
    }
}

/// What a backend does before its thread parks.
pub(crate) trait ParkSteps {
    /// On the main thread: runs a slice of the waiting foreground work; how many ran.
    fn run_foreground_slice(&self) -> usize;

    /// On a pool thread: gives the pool a thread in this one's place while it blocks (tokio's
    /// `block_in_place`), so a task blocking in `block` cannot starve the pool.
    fn lend_pool_thread(&self);
}

/// `Scheduler::park` for every backend: on the main thread (`on_main`), run waiting foreground
/// work and return at once if any ran (the caller polls again); on a pool thread, lend the
/// pool a thread; then park the calling thread on its own parker.
pub(crate) fn park(on_main: bool, steps: &impl ParkSteps, timeout: Option<Duration>) -> Park {
    if on_main {
        if steps.run_foreground_slice() > 0 {
            return Park::Unparked;
        }
    } else {
        steps.lend_pool_thread();
    }
    thread_parker::park(timeout)
}

/// The rule for work a backend discards (at shutdown, or when a wake finds it shut down):
/// drop it, on whatever thread this is; never forget it. Dropping cancels the task, so its
/// awaiter hears of it; off the main thread a foreground task's `!Send` future is leaked
/// inside it by the core's `ThreadBound`, never dropped on the wrong thread.
pub(crate) fn discard(work: impl IntoIterator<Item = Runnable>) {
    work.into_iter().for_each(drop);
}

/// The dispatcher from `try_with_config`, or the panic of `new` and `with_config`, which
/// names the dispatcher and the OS error.
#[track_caller]
pub(crate) fn started<T>(dispatcher: &str, result: io::Result<T>) -> T {
    match result {
        Ok(dispatcher) => dispatcher,
        Err(error) => panic!(
            "cannot start the {dispatcher}: {error}; call `try_with_config` to handle the error"
        ),
    }
}
