//! `yield_now`: give the other tasks a turn.

use ::core::future::Future;
use ::core::pin::Pin;
use ::core::task::{Context, Poll};

use super::scheduler::Scheduler;

/// Lets the other tasks run before this one goes on: the future is pending once, waking
/// itself, then ready.
///
/// Under the `TestScheduler` each yield is a point where the seeded order may run another
/// task, which is how a test exposes a race across an `.await` that would otherwise never
/// return `Pending`.
///
/// ```
/// use std::sync::Arc;
/// use unified_scheduler::{QueueScheduler, Scheduler, yield_now};
///
/// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
/// let task = scheduler.spawn(async {
///     yield_now().await;
///     "after a yield"
/// });
/// assert_eq!(scheduler.block(task), "after a yield");
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future of [`yield_now`].
///
/// ```
/// let yielding: unified_scheduler::YieldNow = unified_scheduler::yield_now();
/// # drop(yielding);
/// ```
#[derive(Debug)]
#[must_use = "a yield does nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl dyn Scheduler {
    /// [`yield_now`], as a method, for code that holds a scheduler anyway.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// scheduler.block(scheduler.yield_now());
    /// ```
    pub fn yield_now(&self) -> YieldNow {
        yield_now()
    }
}
