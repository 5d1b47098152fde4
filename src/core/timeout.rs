//! `timeout`: a future with a deadline on the scheduler's clock.

use ::core::fmt;
use ::core::future::{Future, poll_fn};
use ::core::pin::{Pin, pin};
use ::core::task::Poll;
use ::core::time::Duration;
use alloc::sync::Arc;

use super::scheduler::Scheduler;

impl dyn Scheduler {
    /// Runs `future` with a deadline `duration` from now on this scheduler's clock:
    /// `Ok(output)` if it finishes first, `Err(Elapsed)` if the deadline comes first, and
    /// then `future` is dropped (cancelled), as with tokio's `timeout`.
    ///
    /// The clock starts at the call, not at the first poll. The future is polled before
    /// the deadline is checked, so a future that is ready at once is never timed out, even
    /// with `Duration::ZERO`. Under the `TestScheduler` the deadline is virtual: a 30 s
    /// timeout takes no real time.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{Elapsed, QueueScheduler, Scheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let quick = scheduler.timeout(Duration::from_secs(10), async { 5 });
    /// assert_eq!(scheduler.block(quick), Ok(5));
    /// let never = scheduler.timeout(Duration::from_millis(1), std::future::pending::<()>());
    /// assert_eq!(scheduler.block(never), Err(Elapsed::new()));
    /// ```
    #[track_caller]
    pub fn timeout<F: Future>(
        self: &Arc<Self>,
        duration: Duration,
        future: F,
    ) -> impl Future<Output = Result<F::Output, Elapsed>> + use<F> {
        let mut deadline = self.timer(duration);
        async move {
            let mut future = pin!(future);
            poll_fn(|cx| {
                if let Poll::Ready(output) = future.as_mut().poll(cx) {
                    return Poll::Ready(Ok(output));
                }
                match Pin::new(&mut deadline).poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(Elapsed::new())),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await
        }
    }
}

/// The error of [`timeout`](../unified_scheduler/trait.Scheduler.html#method.timeout)
/// when the deadline came before the future finished.
///
/// ```
/// let elapsed = unified_scheduler::Elapsed::new();
/// assert_eq!(elapsed.to_string(), "the deadline passed before the future finished");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Elapsed(());

impl Elapsed {
    /// The error value; mostly for tests that compare against it.
    ///
    /// ```
    /// assert_eq!(unified_scheduler::Elapsed::new(), unified_scheduler::Elapsed::default());
    /// ```
    pub const fn new() -> Self {
        Self(())
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the deadline passed before the future finished")
    }
}

impl ::core::error::Error for Elapsed {}
