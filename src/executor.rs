//! GPUI-style executors: thin handles over an `Arc<dyn Scheduler>`.
//!
//! With the `test-scheduler` feature they also carry the test controls, which reach a
//! `TestScheduler` by downcast and do nothing on any other scheduler, so the same app code
//! runs in production and under test.

use alloc::rc::Rc;
use alloc::sync::Arc;
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::pin::Pin;
use core::time::Duration;

use alloc::boxed::Box;

use crate::{Instant, Scheduler, Task, TaskLabel};

/// Spawns `Send` work onto a scheduler's background threads.
///
/// ```
/// use std::sync::Arc;
/// use unified_scheduler::{BackgroundExecutor, QueueScheduler};
///
/// let executor = BackgroundExecutor::new(Arc::new(QueueScheduler::new()));
/// let task = executor.spawn(async { 2 + 2 });
/// assert_eq!(executor.block(task), 4);
/// ```
#[derive(Clone)]
pub struct BackgroundExecutor {
    scheduler: Arc<dyn Scheduler>,
}

/// Spawns `!Send` work onto a scheduler's main thread. It is itself `!Send`: it belongs to
/// the thread it was made on.
///
/// ```
/// use std::rc::Rc;
/// use std::sync::Arc;
/// use unified_scheduler::{ForegroundExecutor, QueueScheduler};
///
/// let executor = ForegroundExecutor::new(Arc::new(QueueScheduler::new()));
/// let shared = Rc::new(3);
/// let task = executor.spawn(async move { *shared * 2 });
/// assert_eq!(executor.block(task), 6);
/// ```
///
/// ```compile_fail
/// # use std::sync::Arc;
/// # use unified_scheduler::{ForegroundExecutor, QueueScheduler};
/// let executor = ForegroundExecutor::new(Arc::new(QueueScheduler::new()));
/// std::thread::spawn(move || drop(executor)); // error: ForegroundExecutor is not Send
/// ```
#[derive(Clone)]
pub struct ForegroundExecutor {
    scheduler: Arc<dyn Scheduler>,
    not_send: PhantomData<Rc<()>>,
}

impl BackgroundExecutor {
    /// An executor over `scheduler`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{BackgroundExecutor, QueueScheduler};
    /// let executor = BackgroundExecutor::new(Arc::new(QueueScheduler::new()));
    /// assert!(executor.num_cpus() >= 1);
    /// ```
    pub fn new(scheduler: Arc<dyn Scheduler>) -> Self {
        Self { scheduler }
    }

    /// Spawns a `Send` future; see [`spawn`](../unified_scheduler/trait.Scheduler.html#method.spawn).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{BackgroundExecutor, QueueScheduler};
    /// let executor = BackgroundExecutor::new(Arc::new(QueueScheduler::new()));
    /// assert_eq!(executor.block(executor.spawn(async { 1 })), 1);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.scheduler.spawn(future)
    }

    /// Spawns a `Send` future with a label.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{BackgroundExecutor, QueueScheduler, TaskLabel};
    /// let executor = BackgroundExecutor::new(Arc::new(QueueScheduler::new()));
    /// let task = executor.spawn_labeled(TaskLabel::new(), async { 1 });
    /// assert_eq!(executor.block(task), 1);
    /// ```
    #[track_caller]
    pub fn spawn_labeled<F>(&self, label: TaskLabel, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.scheduler.spawn_labeled(label, future)
    }
}

impl ForegroundExecutor {
    /// An executor over `scheduler`, for the calling (main) thread.
    ///
    /// # Panics
    ///
    /// If the caller is not on the scheduler's main thread: everything this executor spawns
    /// must be spawned there.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{ForegroundExecutor, QueueScheduler};
    /// let executor = ForegroundExecutor::new(Arc::new(QueueScheduler::new()));
    /// assert!(executor.is_main_thread());
    /// ```
    #[track_caller]
    pub fn new(scheduler: Arc<dyn Scheduler>) -> Self {
        assert!(
            scheduler.is_main_thread(),
            "ForegroundExecutor::new called off the scheduler's main thread (or inside one of \
             its background tasks): make the ForegroundExecutor on the main thread"
        );
        Self {
            scheduler,
            not_send: PhantomData,
        }
    }

    /// Spawns a future, which need not be `Send`, on the main thread.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::cell::Cell;
    /// # use std::rc::Rc;
    /// # use unified_scheduler::{ForegroundExecutor, QueueScheduler};
    /// let executor = ForegroundExecutor::new(Arc::new(QueueScheduler::new()));
    /// let count = Rc::new(Cell::new(0));
    /// let c = count.clone();
    /// executor.block(executor.spawn(async move { c.set(c.get() + 1) }));
    /// assert_eq!(count.get(), 1);
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.scheduler.spawn_foreground(future)
    }
}

/// The methods both executors share, written once.
macro_rules! shared_executor_methods {
    ($executor:ident) => {
        impl $executor {
            /// The scheduler underneath.
            ///
            /// ```
            /// # use std::sync::Arc;
            /// # use unified_scheduler::*;
            #[doc = concat!("let executor = ", stringify!($executor), "::new(Arc::new(QueueScheduler::new()));")]
            /// assert!(executor.scheduler().downcast_ref::<QueueScheduler>().is_some());
            /// ```
            pub fn scheduler(&self) -> &Arc<dyn Scheduler> {
                &self.scheduler
            }

            /// A task that finishes after `duration` on the scheduler's clock.
            ///
            /// ```
            /// # use std::sync::Arc;
            /// # use std::time::Duration;
            /// # use unified_scheduler::*;
            #[doc = concat!("let executor = ", stringify!($executor), "::new(Arc::new(QueueScheduler::new()));")]
            /// executor.block(executor.timer(Duration::from_millis(1)));
            /// ```
            #[track_caller]
            pub fn timer(&self, duration: Duration) -> Task<()> {
                self.scheduler.timer(duration)
            }

            /// Runs `future` to completion on the calling thread.
            ///
            /// ```
            /// # use std::sync::Arc;
            /// # use unified_scheduler::*;
            #[doc = concat!("let executor = ", stringify!($executor), "::new(Arc::new(QueueScheduler::new()));")]
            /// assert_eq!(executor.block(async { 5 }), 5);
            /// ```
            #[track_caller]
            pub fn block<F: Future>(&self, future: F) -> F::Output {
                self.scheduler.block(future)
            }

            /// Runs `future` for at most `timeout`; the pending future comes back on timeout.
            ///
            /// ```
            /// # use std::sync::Arc;
            /// # use std::time::Duration;
            /// # use unified_scheduler::*;
            #[doc = concat!("let executor = ", stringify!($executor), "::new(Arc::new(QueueScheduler::new()));")]
            /// let pending = std::future::pending::<()>();
            /// assert!(executor.block_with_timeout(Duration::from_millis(1), pending).is_err());
            /// ```
            #[track_caller]
            pub fn block_with_timeout<F: Future>(
                &self,
                timeout: Duration,
                future: F,
            ) -> Result<F::Output, Pin<Box<F>>> {
                self.scheduler.block_with_timeout(timeout, future)
            }

            /// The scheduler's clock.
            ///
            /// ```
            /// # use std::sync::Arc;
            /// # use unified_scheduler::*;
            #[doc = concat!("let executor = ", stringify!($executor), "::new(Arc::new(QueueScheduler::new()));")]
            /// let t = executor.now();
            /// assert!(executor.now() >= t);
            /// ```
            pub fn now(&self) -> Instant {
                self.scheduler.now()
            }

            /// How many CPUs work may be spread over.
            ///
            /// ```
            /// # use std::sync::Arc;
            /// # use unified_scheduler::*;
            #[doc = concat!("let executor = ", stringify!($executor), "::new(Arc::new(QueueScheduler::new()));")]
            /// assert!(executor.num_cpus() >= 1);
            /// ```
            pub fn num_cpus(&self) -> usize {
                self.scheduler.num_cpus()
            }

            /// Whether the caller runs on the scheduler's main thread.
            ///
            /// ```
            /// # use std::sync::Arc;
            /// # use unified_scheduler::*;
            #[doc = concat!("let executor = ", stringify!($executor), "::new(Arc::new(QueueScheduler::new()));")]
            /// assert!(executor.is_main_thread());
            /// ```
            pub fn is_main_thread(&self) -> bool {
                self.scheduler.is_main_thread()
            }
        }

        #[cfg(feature = "test-scheduler")]
        impl $executor {
            fn test_scheduler(&self) -> Option<&crate::TestScheduler> {
                self.scheduler.downcast_ref::<crate::TestScheduler>()
            }

            /// Under a `TestScheduler`: makes tasks with `label` run only when nothing else
            /// can. Elsewhere: nothing.
            ///
            /// ```
            /// # use std::sync::{Arc, Mutex};
            /// # use unified_scheduler::*;
            /// let order = Arc::new(Mutex::new(Vec::new()));
            /// let test = Arc::new(TestScheduler::new());
            #[doc = concat!("let executor = ", stringify!($executor), "::new(test.clone());")]
            /// let slow = TaskLabel::new();
            /// executor.deprioritize(slow);
            /// for (label, name) in [(Some(slow), "slow"), (None, "fast")] {
            ///     let order = order.clone();
            ///     let work = async move { order.lock().unwrap().push(name) };
            ///     match label {
            ///         Some(label) => executor.scheduler().spawn_labeled(label, work).detach(),
            ///         None => executor.scheduler().spawn(work).detach(),
            ///     }
            /// }
            /// test.run_until_parked();
            /// assert_eq!(*order.lock().unwrap(), ["fast", "slow"]);
            ///
            #[doc = concat!("let production = ", stringify!($executor), "::new(Arc::new(QueueScheduler::new()));")]
            /// production.deprioritize(TaskLabel::new()); // a no-op in production
            /// ```
            pub fn deprioritize(&self, label: TaskLabel) {
                if let Some(test) = self.test_scheduler() {
                    test.deprioritize(label);
                }
            }

            /// Under a `TestScheduler`: runs one runnable, `Some(true)` if one ran. Elsewhere
            /// `None`.
            ///
            /// ```
            /// # use std::sync::Arc;
            /// # use unified_scheduler::*;
            #[doc = concat!("let executor = ", stringify!($executor), "::new(Arc::new(TestScheduler::new()));")]
            /// executor.scheduler().spawn(async {}).detach();
            /// assert_eq!(executor.tick(), Some(true));
            /// assert_eq!(executor.tick(), Some(false));
            #[doc = concat!("let production = ", stringify!($executor), "::new(Arc::new(QueueScheduler::new()));")]
            /// assert_eq!(production.tick(), None);
            /// ```
            pub fn tick(&self) -> Option<bool> {
                self.test_scheduler().map(crate::TestScheduler::tick)
            }

            /// Under a `TestScheduler`: runs until nothing can run without moving the clock.
            /// Elsewhere: nothing.
            ///
            /// ```
            /// # use std::sync::Arc;
            /// # use unified_scheduler::*;
            /// let test = Arc::new(TestScheduler::new());
            #[doc = concat!("let executor = ", stringify!($executor), "::new(test.clone());")]
            /// let task = executor.scheduler().spawn(async { 1 });
            /// executor.run_until_parked();
            /// assert!(task.is_finished());
            /// ```
            pub fn run_until_parked(&self) {
                if let Some(test) = self.test_scheduler() {
                    test.run_until_parked();
                }
            }

            /// Under a `TestScheduler`: moves virtual time forward by `duration`, firing
            /// timers on the way. Elsewhere: nothing.
            ///
            /// ```
            /// # use std::sync::Arc;
            /// # use std::time::Duration;
            /// # use unified_scheduler::*;
            #[doc = concat!("let executor = ", stringify!($executor), "::new(Arc::new(TestScheduler::new()));")]
            /// let timer = executor.timer(Duration::from_secs(60));
            /// executor.advance_clock(Duration::from_secs(60));
            /// assert!(timer.is_finished());
            /// ```
            pub fn advance_clock(&self, duration: Duration) {
                if let Some(test) = self.test_scheduler() {
                    test.advance_clock(duration);
                }
            }

            /// Under a `TestScheduler`: yields a seeded number of times, so other tasks may
            /// run in between. Elsewhere: ready at once.
            ///
            /// ```
            /// # use std::sync::Arc;
            /// # use unified_scheduler::*;
            #[doc = concat!("let executor = ", stringify!($executor), "::new(Arc::new(QueueScheduler::new()));")]
            /// executor.block(executor.simulate_random_delay());
            /// ```
            pub fn simulate_random_delay(&self) -> crate::RandomDelay {
                match self.test_scheduler() {
                    Some(test) => test.simulate_random_delay(),
                    None => crate::RandomDelay::none(),
                }
            }
        }
    };
}

shared_executor_methods!(BackgroundExecutor);
shared_executor_methods!(ForegroundExecutor);

impl fmt::Debug for BackgroundExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackgroundExecutor").finish_non_exhaustive()
    }
}

impl fmt::Debug for ForegroundExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForegroundExecutor").finish_non_exhaustive()
    }
}
