//! `SchedulerExt`: the helpers of `dyn Scheduler` on `Arc<S>` for any concrete scheduler, so
//! `test.spawn(..)` works on an `Arc<TestScheduler>` or an `Arc<LinuxDispatcher>` without a
//! coercion to `Arc<dyn Scheduler>` first.

use ::core::future::Future;
use ::core::time::Duration;
use alloc::sync::Arc;

use super::interval::Interval;
use super::metadata::{Priority, TaskLabel};
use super::scheduler::Scheduler;
use super::spawn::ForegroundSafe;
use super::task::Task;
use super::time::Instant;
use super::timeout::Elapsed;
use super::yield_now::YieldNow;

/// The helpers of `dyn Scheduler` (`spawn`, `timer`, `timeout`, `block`, ...) on an
/// `Arc` of any concrete scheduler. Each forwards to the `dyn Scheduler` method of the same
/// name, so the behaviour, the spawn site and the schedule are the same.
///
/// It is implemented for every `Arc<S>` where `S: Scheduler`; `Arc<dyn Scheduler>` has the
/// methods already. `use unified_scheduler::prelude::*` brings it into scope.
///
/// ```
/// use std::time::Duration;
/// use unified_scheduler::prelude::*;
///
/// TestScheduler::many(10, |test| async move {
///     let task = test.spawn(async { 1 }); // no `Arc<dyn Scheduler>` needed
///     test.timer(Duration::from_secs(1)).await;
///     assert_eq!(task.await, 1);
/// });
/// ```
pub trait SchedulerExt: sealed::Sealed {
    /// This scheduler as an `Arc<dyn Scheduler>`, for code written against the trait.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler, SchedulerExt};
    ///
    /// let queue = Arc::new(QueueScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = queue.to_dyn();
    /// assert!(scheduler.downcast_ref::<QueueScheduler>().is_some());
    /// ```
    fn to_dyn(&self) -> Arc<dyn Scheduler>;

    /// [`dyn Scheduler::spawn`](../unified_scheduler/trait.Scheduler.html#method.spawn).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, SchedulerExt};
    ///
    /// let queue = Arc::new(QueueScheduler::new());
    /// let task = queue.spawn(async { 2 });
    /// assert_eq!(queue.block(task), 2);
    /// ```
    #[track_caller]
    fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.to_dyn().spawn(future)
    }

    /// [`dyn Scheduler::spawn_labeled`](../unified_scheduler/trait.Scheduler.html#method.spawn_labeled).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, SchedulerExt, TaskLabel};
    ///
    /// let queue = Arc::new(QueueScheduler::new());
    /// let task = queue.spawn_labeled(TaskLabel::new(), async { 3 });
    /// assert_eq!(queue.block(task), 3);
    /// ```
    #[track_caller]
    fn spawn_labeled<F>(&self, label: TaskLabel, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.to_dyn().spawn_labeled(label, future)
    }

    /// [`dyn Scheduler::spawn_with_priority`](../unified_scheduler/trait.Scheduler.html#method.spawn_with_priority).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Priority, QueueScheduler, SchedulerExt};
    ///
    /// let queue = Arc::new(QueueScheduler::new());
    /// let task = queue.spawn_with_priority(Priority::Low, async { 4 });
    /// assert_eq!(queue.block(task), 4);
    /// ```
    #[track_caller]
    fn spawn_with_priority<F>(&self, priority: Priority, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.to_dyn().spawn_with_priority(priority, future)
    }

    /// [`dyn Scheduler::spawn_foreground`](../unified_scheduler/trait.Scheduler.html#method.spawn_foreground).
    ///
    /// ```
    /// use std::rc::Rc;
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, SchedulerExt};
    ///
    /// let queue = Arc::new(QueueScheduler::new());
    /// let not_send = Rc::new(4);
    /// let task = queue.spawn_foreground(async move { *not_send });
    /// assert_eq!(queue.block(task), 4);
    /// ```
    #[track_caller]
    fn spawn_foreground<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + ForegroundSafe + 'static,
        F::Output: ForegroundSafe + 'static,
    {
        self.to_dyn().spawn_foreground(future)
    }

    /// [`dyn Scheduler::timer`](../unified_scheduler/trait.Scheduler.html#method.timer):
    /// finishes once `duration` has passed on this scheduler's clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::prelude::*;
    ///
    /// TestScheduler::once(|test| async move {
    ///     let start = test.now();
    ///     test.timer(Duration::from_secs(60)).await;
    ///     assert_eq!(test.now() - start, Duration::from_secs(60));
    /// });
    /// ```
    #[track_caller]
    #[doc(alias = "sleep")]
    fn timer(&self, duration: Duration) -> Task<()> {
        self.to_dyn().timer(duration)
    }

    /// [`dyn Scheduler::timer_at`](../unified_scheduler/trait.Scheduler.html#method.timer_at):
    /// finishes once this scheduler's clock reaches `deadline`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::prelude::*;
    ///
    /// TestScheduler::once(|test| async move {
    ///     let deadline = test.now() + Duration::from_secs(2);
    ///     test.timer_at(deadline).await;
    ///     assert_eq!(test.now(), deadline);
    /// });
    /// ```
    #[track_caller]
    #[doc(alias = "sleep_until")]
    fn timer_at(&self, deadline: Instant) -> Task<()> {
        self.to_dyn().timer_at(deadline)
    }

    /// [`dyn Scheduler::timeout`](../unified_scheduler/trait.Scheduler.html#method.timeout):
    /// `future` with a deadline on this scheduler's clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::Elapsed;
    /// use unified_scheduler::prelude::*;
    ///
    /// TestScheduler::once(|test| async move {
    ///     let slow = test.timer(Duration::from_secs(60));
    ///     assert_eq!(test.timeout(Duration::from_secs(30), slow).await, Err(Elapsed::new()));
    /// });
    /// ```
    #[track_caller]
    fn timeout<F: Future>(
        &self,
        duration: Duration,
        future: F,
    ) -> impl Future<Output = Result<F::Output, Elapsed>> {
        self.to_dyn().timeout(duration, future)
    }

    /// [`dyn Scheduler::interval`](../unified_scheduler/trait.Scheduler.html#method.interval):
    /// ticks every `period`, the first at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::prelude::*;
    ///
    /// TestScheduler::once(|test| async move {
    ///     let start = test.now();
    ///     let mut interval = test.interval(Duration::from_secs(1));
    ///     interval.tick().await;
    ///     assert_eq!(interval.tick().await - start, Duration::from_secs(1));
    /// });
    /// ```
    #[track_caller]
    fn interval(&self, period: Duration) -> Interval {
        self.to_dyn().interval(period)
    }

    /// [`yield_now`](crate::yield_now): lets the other tasks run first.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, SchedulerExt};
    ///
    /// let queue = Arc::new(QueueScheduler::new());
    /// queue.block(queue.yield_now());
    /// ```
    fn yield_now(&self) -> YieldNow {
        super::yield_now::yield_now()
    }

    /// [`dyn Scheduler::block`](../unified_scheduler/trait.Scheduler.html#method.block):
    /// runs `future` to completion on the calling thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, SchedulerExt};
    ///
    /// let queue = Arc::new(QueueScheduler::new());
    /// assert_eq!(queue.block(async { 6 }), 6);
    /// ```
    #[cfg(feature = "std")]
    #[track_caller]
    fn block<F: Future>(&self, future: F) -> F::Output {
        self.to_dyn().block(future)
    }

    /// [`dyn Scheduler::block_with_timeout`](../unified_scheduler/trait.Scheduler.html#method.block_with_timeout):
    /// runs `future` on the calling thread for at most `timeout`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{QueueScheduler, SchedulerExt};
    ///
    /// let queue = Arc::new(QueueScheduler::new());
    /// assert!(queue.block_with_timeout(Duration::ZERO, std::future::pending::<()>()).is_err());
    /// ```
    #[cfg(feature = "std")]
    #[track_caller]
    fn block_with_timeout<F: Future>(
        &self,
        timeout: Duration,
        future: F,
    ) -> Result<F::Output, ::core::pin::Pin<alloc::boxed::Box<F>>> {
        self.to_dyn().block_with_timeout(timeout, future)
    }
}

mod sealed {
    pub trait Sealed {}
}

impl<S: Scheduler> sealed::Sealed for Arc<S> {}

impl<S: Scheduler> SchedulerExt for Arc<S> {
    fn to_dyn(&self) -> Arc<dyn Scheduler> {
        self.clone()
    }
}
