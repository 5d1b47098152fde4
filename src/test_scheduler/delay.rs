//! `RandomDelay`: yield a seeded number of times.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

/// A future that yields to the scheduler a seeded number of times before it is ready;
/// from [`TestScheduler::simulate_random_delay`](crate::TestScheduler::simulate_random_delay).
///
/// ```
/// use std::sync::Arc;
/// use unified_scheduler::{Scheduler, TestScheduler};
///
/// let test = Arc::new(TestScheduler::new());
/// let scheduler: Arc<dyn Scheduler> = test.clone();
/// let delay = test.simulate_random_delay();
/// scheduler.block(delay);
/// ```
#[derive(Debug)]
#[must_use = "a delay does nothing unless awaited"]
pub struct RandomDelay {
    yields_left: usize,
}

impl RandomDelay {
    pub(crate) fn new(yields: usize) -> Self {
        Self {
            yields_left: yields,
        }
    }

    /// A delay that is ready at once (what production schedulers give).
    ///
    /// ```
    /// use unified_scheduler::RandomDelay;
    /// futures_lite::future::block_on(RandomDelay::none());
    /// ```
    pub fn none() -> Self {
        Self::new(0)
    }
}

impl Future for RandomDelay {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yields_left == 0 {
            return Poll::Ready(());
        }
        self.yields_left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
