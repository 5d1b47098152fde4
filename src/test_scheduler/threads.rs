//! The one thing a seed cannot decide: real OS threads. The `TestScheduler` belongs to the
//! thread that made it (its main thread); a wake that
//! comes from another OS thread makes the order depend on the OS, so unless parking is
//! allowed it is reported as non-determinism, on the test's thread, at the next tick or when
//! the seed ends (panicking on the foreign thread would hit the wrong thread).

use ::core::sync::atomic::{AtomicBool, Ordering};
use alloc::format;
use alloc::string::String;
use std::thread::{self, ThreadId};

use crate::core::thread_bound::current_thread_id;
use crate::sync::Mutex;

/// The thread a `TestScheduler` belongs to.
pub(super) struct Owner {
    pub(super) thread: ThreadId,
    pub(super) name: String,
}

impl Owner {
    pub(super) fn current() -> Self {
        let thread = thread::current();
        Self {
            thread: thread.id(),
            name: String::from(thread.name().unwrap_or("<unnamed>")),
        }
    }

    pub(super) fn is_current(&self) -> bool {
        current_thread_id() == self.thread
    }
}

/// Where reports of foreign-thread wakes wait for the test's thread; shared with the
/// wakers of blocked futures, which may outlive the scheduler.
pub(super) struct ForeignWakes {
    seed: u64,
    /// Mirrors the config's `allow_parking`: foreign wakes are expected then.
    allowed: AtomicBool,
    failed: AtomicBool,
    report: Mutex<Option<String>>,
}

impl ForeignWakes {
    pub(super) fn new(seed: u64, allowed: bool) -> Self {
        Self {
            seed,
            allowed: AtomicBool::new(allowed),
            failed: AtomicBool::new(false),
            report: Mutex::new(None),
        }
    }

    pub(super) fn allow(&self, allowed: bool) {
        self.allowed.store(allowed, Ordering::Relaxed);
    }

    /// Records a report unless the calling thread is `home`, or parking is allowed, or a
    /// report is already waiting. `what` names what was touched ("task #3 ... was woken").
    #[inline]
    pub(super) fn check<'a>(
        &self,
        home: ThreadId,
        home_name: impl FnOnce() -> &'a str,
        what: impl FnOnce() -> String,
    ) {
        if current_thread_id() == home
            || self.allowed.load(Ordering::Relaxed)
            || self.failed.load(Ordering::Relaxed)
        {
            return;
        }
        // The name is read only here: on the hot path it would cost two loads a wake.
        self.report_foreign(home_name(), what());
    }

    /// The slow path of `check`: a wake from a foreign thread, reported once.
    #[cold]
    #[inline(never)]
    fn report_foreign(&self, home: &str, what: String) {
        let here = thread::current();
        let report = format!(
            "non-determinism (seed {}): {what} from thread {:?} while the test runs on thread \
             {home:?}; a wake from another OS thread makes the order depend on the OS, not the \
             seed. If the test really waits for a thread or real I/O, call `allow_parking()` \
             on the TestScheduler",
            self.seed,
            here.name().unwrap_or("<unnamed>"),
        );
        let mut slot = self.report.lock();
        if slot.is_none() {
            *slot = Some(report);
            self.failed.store(true, Ordering::Release);
        }
    }

    /// The waiting report, if any (taken: it is raised once).
    pub(super) fn take(&self) -> Option<String> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        self.report.lock().take()
    }
}
