//! The one thing a seed cannot decide: real OS threads. The `TestScheduler` belongs to the
//! thread that made it (its main thread, with the epoch of its virtual clock); a wake that
//! comes from another OS thread makes the order depend on the OS, so unless parking is
//! allowed it is reported as non-determinism, on the test's thread, at the next tick or when
//! the seed ends (panicking on the foreign thread would hit the wrong thread).

use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use std::thread::{self, ThreadId};

use crate::core::current_thread_id;
use crate::sync::Mutex;

/// The thread a `TestScheduler` belongs to, and its clock's epoch.
pub(super) struct Owner {
    pub(super) thread: ThreadId,
    pub(super) name: String,
    epoch: std::time::Instant,
}

impl Owner {
    pub(super) fn current() -> Self {
        let thread = thread::current();
        Self {
            thread: thread.id(),
            name: String::from(thread.name().unwrap_or("<unnamed>")),
            epoch: std::time::Instant::now(),
        }
    }

    pub(super) fn is_current(&self) -> bool {
        current_thread_id() == self.thread
    }

    /// The virtual instant `elapsed` after the epoch, saturating far in the future.
    pub(super) fn epoch_plus(&self, elapsed: Duration) -> std::time::Instant {
        self.epoch
            .checked_add(elapsed)
            .unwrap_or_else(|| far_future(self.epoch))
    }
}

/// The latest instant we can represent past `from` (about 30 years on: far enough for any
/// test, near enough for every platform's `Instant`).
fn far_future(from: std::time::Instant) -> std::time::Instant {
    from.checked_add(Duration::from_secs(60 * 60 * 24 * 365 * 30))
        .unwrap_or(from)
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
    pub(super) fn check(&self, home: (ThreadId, &str), what: impl FnOnce() -> String) {
        if current_thread_id() == home.0
            || self.allowed.load(Ordering::Relaxed)
            || self.failed.load(Ordering::Relaxed)
        {
            return;
        }
        let here = thread::current();
        let report = format!(
            "non-determinism (seed {}): {} from thread {:?} while the test runs on thread \
             {:?}; a wake from another OS thread makes the order depend on the OS, not the \
             seed. If the test really waits for a thread or real I/O, call `allow_parking()` \
             on the TestScheduler",
            self.seed,
            what(),
            here.name().unwrap_or("<unnamed>"),
            home.1,
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
