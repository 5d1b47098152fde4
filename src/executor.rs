//! GPUI-style executors: thin handles over an `Arc<dyn Scheduler>`.
//!
//! Each has its own `spawn`; everything else (`timer`, `block`, `now`, ..., and with the
//! `test-scheduler` feature the test controls such as `advance_clock`) is the scheduler's,
//! reached through `Deref`, so it is written once, on `dyn Scheduler`.

use ::core::fmt;
use ::core::future::Future;
use ::core::marker::PhantomData;
use ::core::ops::Deref;
use alloc::rc::Rc;
use alloc::sync::Arc;

use crate::core::{Scheduler, Task, TaskLabel};

/// Spawns `Send` work onto a scheduler's background threads.
///
/// It dereferences to its `Arc<dyn Scheduler>`, so the scheduler's helpers (`timer`,
/// `block`, `block_with_timeout`, `now`, the test controls) are the executor's too.
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
/// the thread it was made on. Like [`BackgroundExecutor`], it dereferences to its
/// `Arc<dyn Scheduler>`.
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

impl BackgroundExecutor {
    /// The scheduler underneath.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{BackgroundExecutor, QueueScheduler};
    /// let executor = BackgroundExecutor::new(Arc::new(QueueScheduler::new()));
    /// assert!(executor.scheduler().downcast_ref::<QueueScheduler>().is_some());
    /// ```
    pub fn scheduler(&self) -> &Arc<dyn Scheduler> {
        &self.scheduler
    }
}

impl ForegroundExecutor {
    /// The scheduler underneath.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{ForegroundExecutor, QueueScheduler};
    /// let executor = ForegroundExecutor::new(Arc::new(QueueScheduler::new()));
    /// assert!(executor.scheduler().downcast_ref::<QueueScheduler>().is_some());
    /// ```
    pub fn scheduler(&self) -> &Arc<dyn Scheduler> {
        &self.scheduler
    }
}

/// The scheduler's helpers, on the executor: `executor.block(task)`.
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// # use unified_scheduler::{BackgroundExecutor, QueueScheduler};
/// let executor = BackgroundExecutor::new(Arc::new(QueueScheduler::new()));
/// executor.block(executor.timer(Duration::from_millis(1)));
/// assert!(executor.is_main_thread());
/// ```
impl Deref for BackgroundExecutor {
    type Target = Arc<dyn Scheduler>;

    fn deref(&self) -> &Arc<dyn Scheduler> {
        &self.scheduler
    }
}

/// The scheduler's helpers, on the executor: `executor.block(task)`.
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// # use unified_scheduler::{ForegroundExecutor, QueueScheduler};
/// let executor = ForegroundExecutor::new(Arc::new(QueueScheduler::new()));
/// let start = executor.now();
/// executor.block(executor.timer(Duration::from_millis(1)));
/// assert!(executor.now() > start);
/// ```
impl Deref for ForegroundExecutor {
    type Target = Arc<dyn Scheduler>;

    fn deref(&self) -> &Arc<dyn Scheduler> {
        &self.scheduler
    }
}

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
