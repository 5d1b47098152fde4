//! `interval`: ticks at a fixed period on the scheduler's clock.

use ::core::future::Future;
use ::core::time::Duration;
use alloc::sync::Arc;

use super::scheduler::Scheduler;
use super::time::Instant;

impl dyn Scheduler {
    /// Ticks every `period` on this scheduler's clock, the first tick at once, as tokio's
    /// `interval` does. Ticks missed while the caller was busy come at once, one per
    /// `tick` call, until the interval has caught up (tokio's `Burst`).
    ///
    /// # Panics
    ///
    /// If `period` is zero: an interval that never waits would spin.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let scheduler: Arc<dyn Scheduler> = test;
    ///     let start = scheduler.now();
    ///     let mut every_second = scheduler.interval(Duration::from_secs(1));
    ///     for n in 0..3 {
    ///         assert_eq!(every_second.tick().await - start, Duration::from_secs(n));
    ///     }
    ///     assert_eq!(scheduler.now() - start, Duration::from_secs(2)); // virtual time
    /// });
    /// ```
    #[track_caller]
    pub fn interval(self: &Arc<Self>, period: Duration) -> Interval {
        assert!(
            !period.is_zero(),
            "interval called with a zero period: it would tick without ever waiting; give \
             a period above zero"
        );
        Interval {
            next: self.now(),
            period,
            scheduler: self.clone(),
        }
    }

    /// A task that finishes once this scheduler's clock reaches `deadline` (at once if it
    /// has): `timer` for an instant rather than a duration, like tokio's
    /// `sleep_until`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let scheduler: Arc<dyn Scheduler> = test;
    ///     let deadline = scheduler.now() + Duration::from_secs(5);
    ///     scheduler.timer_at(deadline).await;
    ///     assert_eq!(scheduler.now(), deadline);
    /// });
    /// ```
    #[track_caller]
    #[doc(alias = "sleep_until")]
    pub fn timer_at(self: &Arc<Self>, deadline: Instant) -> super::Task<()> {
        self.timer(deadline.saturating_duration_since(self.now()))
    }
}

/// Ticks at a fixed period, from [`interval`](../unified_scheduler/trait.Scheduler.html#method.interval).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use unified_scheduler::{Interval, Scheduler, TestScheduler};
///
/// TestScheduler::once(|test| async move {
///     let scheduler: Arc<dyn Scheduler> = test;
///     let mut interval: Interval = scheduler.interval(Duration::from_millis(250));
///     assert_eq!(interval.period(), Duration::from_millis(250));
///     interval.tick().await;
/// });
/// ```
pub struct Interval {
    scheduler: Arc<dyn Scheduler>,
    /// When the next tick is due.
    next: Instant,
    period: Duration,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was due. Cancel-safe: dropping
    /// the future before it finishes loses no tick.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let scheduler: Arc<dyn Scheduler> = test;
    ///     let mut interval = scheduler.interval(Duration::from_secs(1));
    ///     let first = interval.tick().await;
    ///     scheduler.timer(Duration::from_millis(3500)).await; // busy: three ticks missed
    ///     let missed: Vec<_> = [interval.tick().await, interval.tick().await, interval.tick().await]
    ///         .iter()
    ///         .map(|tick| *tick - first)
    ///         .collect();
    ///     assert_eq!(missed, [1, 2, 3].map(Duration::from_secs)); // caught up at once
    ///     assert_eq!(interval.tick().await - first, Duration::from_secs(4));
    /// });
    /// ```
    #[track_caller]
    pub fn tick(&mut self) -> impl Future<Output = Instant> + '_ {
        let due = self.next;
        let wait = due.saturating_duration_since(self.scheduler.now());
        let timer = (!wait.is_zero()).then(|| self.scheduler.timer(wait));
        async move {
            if let Some(timer) = timer {
                timer.await;
            }
            self.next = due.saturating_add(self.period);
            due
        }
    }

    /// The period between ticks.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// assert_eq!(scheduler.interval(Duration::from_secs(2)).period(), Duration::from_secs(2));
    /// ```
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Starts the period over: the next tick is one period from now.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let scheduler: Arc<dyn Scheduler> = test;
    ///     let start = scheduler.now();
    ///     let mut interval = scheduler.interval(Duration::from_secs(1));
    ///     interval.reset(); // skip the immediate first tick
    ///     assert_eq!(interval.tick().await - start, Duration::from_secs(1));
    /// });
    /// ```
    pub fn reset(&mut self) {
        self.next = self.scheduler.now().saturating_add(self.period);
    }
}

impl ::core::fmt::Debug for Interval {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.debug_struct("Interval")
            .field("next", &self.next)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}
