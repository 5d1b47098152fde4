//! Our `Scheduler` trait on top of AWS's `shuttle`, so a body written against
//! `Arc<dyn Scheduler>` runs unchanged under shuttle's schedulers: each runnable (one poll
//! of one of our tasks) becomes a shuttle future, and blocking is shuttle's `block_on`.
//! Shuttle then picks which of them runs next at each of its scheduling points.
#![allow(dead_code, unreachable_pub)]

use core::pin::Pin;
use core::task::Waker;
use core::time::Duration;
use std::future::Future;

use unified_scheduler::{Driven, Instant, Park, Runnable, Scheduler, Unparker};

/// Valid only inside a shuttle execution (`shuttle::Runner::run`'s closure).
#[derive(Debug, Default)]
pub struct ShuttleScheduler;

impl Scheduler for ShuttleScheduler {
    fn schedule(&self, runnable: Runnable) {
        // Dropping shuttle's JoinHandle detaches the future; it still runs.
        drop(shuttle::future::spawn(async move {
            runnable.run();
        }));
    }

    fn schedule_after(&self, _delay: Duration, runnable: Runnable) {
        // The corpus has no timers; shuttle has no clock to wait on.
        self.schedule(runnable);
    }

    fn park(&self, _timeout: Option<Duration>) -> Park {
        // Unused while `drive` is overridden; a yield lets shuttle run the other tasks.
        shuttle::thread::yield_now();
        Park::Unparked
    }

    fn unparker(&self) -> Unparker {
        Unparker::from_waker(Waker::noop().clone())
    }

    fn is_main_thread(&self) -> bool {
        false
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn drive(
        &self,
        future: Pin<&mut dyn Future<Output = ()>>,
        _timeout: Option<Duration>,
    ) -> Driven {
        // Shuttle parks the blocking thread until the future's waker fires, and reports a
        // deadlock when nothing else can run.
        shuttle::future::block_on(future);
        Driven::Ready
    }
}
