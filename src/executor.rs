//! GPUI-style executors: thin handles over an `Arc<dyn Scheduler>`.
//!
//! Each has its own `spawn`; everything else (`timer`, `block`, `now`, ..., and with the
//! `test-scheduler` feature the test controls such as `advance_clock`) is the scheduler's,
//! reached through `Deref`, so it is written once, on `dyn Scheduler`.

use ::core::fmt;
use ::core::future::Future;
use ::core::marker::PhantomData;
use ::core::ops::Deref;
use ::core::panic::Location;
use alloc::rc::Rc;
use alloc::sync::Arc;

use crate::core::{Priority, Scheduler, Task, TaskLabel};

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
    /// Its `TestScheduler` session: 0 (the main one) unless made by
    /// `TestScheduler::foreground()`.
    session: u16,
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

    /// Spawns a `Send` future with a [`Priority`] (see `dyn Scheduler::spawn_with_priority`).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{BackgroundExecutor, Priority, QueueScheduler};
    /// let executor = BackgroundExecutor::new(Arc::new(QueueScheduler::new()));
    /// let task = executor.spawn_with_priority(Priority::High, async { 9 });
    /// assert_eq!(executor.block(task), 9);
    /// ```
    #[track_caller]
    pub fn spawn_with_priority<F>(&self, priority: Priority, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.scheduler.spawn_with_priority(priority, future)
    }
}

impl BackgroundExecutor {
    /// Runs the future `f` makes on an OS thread of its own, for work that is not `Send`
    /// (it holds an `Rc`, a thread-local handle, a `!Send` client) or that must not share
    /// the pool (a long-lived loop), and returns its `Task`, which may be awaited anywhere.
    ///
    /// `f` itself is `Send`: it crosses to the new thread, where it is called, and the future
    /// it makes is polled and dropped there only, by a small local executor (a loop that
    /// runs the task whenever it is woken). The thread ends when the future ends: finished,
    /// or dropped because its `Task` was. Dropping the `Task` cancels the future the next
    /// time the thread gets to it. A panic in the future reaches whoever awaits the `Task`.
    /// The call waits only for the thread to start.
    ///
    /// Under the `TestScheduler` no thread is started: the future runs as a foreground task
    /// of the test's scheduler (on the test's thread, like every task there), in a session
    /// of its own, so the seed decides its interleaving like any other task's and no
    /// executor's `block` holds it back (its own thread would not wait either). It may be
    /// called from a background task there too, as in production.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use std::sync::Arc;
    /// use unified_scheduler::{BackgroundExecutor, QueueScheduler};
    ///
    /// let executor = BackgroundExecutor::new(Arc::new(QueueScheduler::new()));
    /// let here = std::thread::current().id();
    /// let task = executor.spawn_dedicated(move || async move {
    ///     let not_send = Rc::new(20); // held across the await below
    ///     futures_lite::future::yield_now().await;
    ///     (*not_send + 1, std::thread::current().id() != here)
    /// });
    /// assert_eq!(executor.block(task), (21, true));
    /// ```
    ///
    /// # Panics
    ///
    /// If the OS cannot start a thread.
    #[track_caller]
    pub fn spawn_dedicated<F, Fut>(&self, f: F) -> Task<Fut::Output>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        #[cfg(feature = "test-scheduler")]
        if let Some(test) = self.scheduler.downcast_ref::<crate::TestScheduler>() {
            let future = async move { f().await };
            let session = test.new_session();
            return on_test_loop::spawn(&self.scheduler, future, session, Location::caller());
        }
        dedicated::spawn(&self.scheduler, f, Location::caller())
    }
}

/// `spawn_dedicated` under the TestScheduler: a foreground task of the test's scheduler in
/// a session of its own (as its own thread's loop would be on production, so a `block` of
/// any executor does not hold it back), spawned like `spawn_foreground` but from anywhere
/// the test runs (a background task too, as production allows), bound to the thread that
/// spawned it.
#[cfg(feature = "test-scheduler")]
mod on_test_loop {
    use ::core::future::Future;
    use ::core::panic::Location;
    use alloc::sync::Arc;

    use crate::core::spawn::spawn_thread_bound;
    use crate::core::{Runnable, Scheduler, Task, TaskMetadata, tracking};

    pub(super) fn spawn<Fut>(
        scheduler: &Arc<dyn Scheduler>,
        future: Fut,
        session: u16,
        spawned_at: &'static Location<'static>,
    ) -> Task<Fut::Output>
    where
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let (id, watch) = tracking::register(&**scheduler);
        let metadata = TaskMetadata::new(id, None, spawned_at)
            .for_main_thread()
            .in_session(session);
        // Like every task's home, a `Weak`: queued work does not keep the scheduler alive,
        // and once it is gone a wake drops the runnable, which cancels the task.
        let home = Arc::downgrade(scheduler);
        let schedule = move |runnable: Runnable| {
            if let Some(scheduler) = home.upgrade() {
                scheduler.schedule_foreground(runnable);
            }
        };
        let (runnable, task) = match watch.track(future, id) {
            // The one `unsafe` spawn of a `!Send` future is core's, under its `ThreadBound`.
            Ok(tracked) => spawn_thread_bound(tracked, metadata, schedule),
            Err(future) => spawn_thread_bound(future, metadata, schedule),
        };
        scheduler.schedule_foreground(runnable);
        Task::spawned(task, watch)
    }
}

/// `spawn_dedicated` off the TestScheduler: one OS thread per task, running a local loop.
mod dedicated {
    use ::core::cell::Cell;
    use ::core::future::Future;
    use ::core::panic::Location;
    use alloc::rc::Rc;
    use alloc::sync::Arc;
    use std::sync::mpsc;

    use crate::core::{Runnable, Scheduler, Task, TaskMetadata};

    /// What dedicated threads are called.
    pub(super) const THREAD_NAME: &str = "unified-scheduler-dedicated";

    #[track_caller]
    pub(super) fn spawn<F, Fut>(
        scheduler: &Arc<dyn Scheduler>,
        f: F,
        spawned_at: &'static Location<'static>,
    ) -> Task<Fut::Output>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let (id, watch) = crate::core::tracking::register(&**scheduler);
        let metadata = TaskMetadata::new(id, None, spawned_at);
        let (handle, handed) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name(alloc::string::String::from(THREAD_NAME))
            .spawn(move || run(f, metadata, handle))
            .unwrap_or_else(|error| {
                panic!("spawn_dedicated at {spawned_at}: cannot start a thread: {error}")
            });
        let task = handed
            .recv()
            .expect("a dedicated thread hands back its task before it runs anything");
        Task::spawned(task, watch)
    }

    /// Sets its flag when dropped: the future ended (finished, or dropped unfinished).
    struct Ended(Rc<Cell<bool>>);

    impl Drop for Ended {
        fn drop(&mut self) {
            self.0.set(true);
        }
    }

    /// The thread: spawns the task here (so its `!Send` future never leaves this thread),
    /// hands its `Task` back, and runs it whenever it is woken, until the future has ended.
    fn run<F, Fut>(
        f: F,
        metadata: TaskMetadata,
        handle: mpsc::SyncSender<async_task::Task<Fut::Output, TaskMetadata>>,
    ) where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + 'static,
        Fut::Output: Send + 'static,
    {
        let ended = Rc::new(Cell::new(false));
        let guard = Ended(ended.clone());
        // `f` runs at the first poll, so a panic in it reaches the awaiter too; an unpolled
        // future dropped (the `Task` was) still drops the guard.
        let future = async move {
            let _guard = guard;
            f().await
        };
        let (queue, woken) = mpsc::channel::<Runnable>();
        let schedule = move |runnable: Runnable| {
            // Fails only once this loop is gone, which it is only after the future ended:
            // the runnable has nothing left to run.
            let _ = queue.send(runnable);
        };
        let (runnable, task) = async_task::Builder::new()
            .metadata(metadata)
            .propagate_panic(true)
            .spawn_local(move |_| future, schedule);
        if handle.send(task).is_err() {
            return; // the caller is gone (it cannot be: it waits for this)
        }
        runnable.run();
        while !ended.get() {
            match woken.recv() {
                Ok(runnable) => {
                    runnable.run();
                }
                Err(_) => break,
            }
        }
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
        Self::in_session(scheduler, 0)
    }

    /// An executor of a `TestScheduler` session of its own (`TestScheduler::foreground`).
    #[track_caller]
    pub(crate) fn in_session(scheduler: Arc<dyn Scheduler>, session: u16) -> Self {
        assert!(
            scheduler.is_main_thread(),
            "ForegroundExecutor::new called off the scheduler's main thread (or inside one of \
             its background tasks): make the ForegroundExecutor on the main thread"
        );
        Self {
            scheduler,
            session,
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
        crate::core::spawn::spawn_foreground_in_session(
            &self.scheduler,
            future,
            self.session,
            Location::caller(),
        )
    }

    /// Runs `future` to completion on this thread, as `dyn Scheduler::block` does. Under
    /// the `TestScheduler`, an executor from
    /// [`TestScheduler::foreground`](crate::TestScheduler::foreground) is a session of its
    /// own, and while it blocks its own foreground tasks wait (Zed's re-entrancy guard:
    /// on a real main thread they could not run either); other sessions' tasks and
    /// background tasks go on.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{ForegroundExecutor, QueueScheduler};
    /// let executor = ForegroundExecutor::new(Arc::new(QueueScheduler::new()));
    /// assert_eq!(executor.block(async { 5 }), 5);
    /// ```
    #[track_caller]
    pub fn block<F: Future>(&self, future: F) -> F::Output {
        #[cfg(feature = "test-scheduler")]
        if self.session != 0 {
            if let Some(test) = self.scheduler.downcast_ref::<crate::TestScheduler>() {
                let _blocked = test.block_session(self.session);
                return self.scheduler.block(future);
            }
        }
        self.scheduler.block(future)
    }

    /// [`block`](Self::block) with a timeout, as `dyn Scheduler::block_with_timeout` (the
    /// same session rule under the `TestScheduler`).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use unified_scheduler::{ForegroundExecutor, QueueScheduler};
    /// let executor = ForegroundExecutor::new(Arc::new(QueueScheduler::new()));
    /// let done = executor.block_with_timeout(Duration::from_secs(1), async { 5 });
    /// assert_eq!(done.ok(), Some(5));
    /// ```
    #[track_caller]
    pub fn block_with_timeout<F: Future>(
        &self,
        timeout: ::core::time::Duration,
        future: F,
    ) -> Result<F::Output, ::core::pin::Pin<alloc::boxed::Box<F>>> {
        #[cfg(feature = "test-scheduler")]
        if self.session != 0 {
            if let Some(test) = self.scheduler.downcast_ref::<crate::TestScheduler>() {
                let _blocked = test.block_session(self.session);
                return self.scheduler.block_with_timeout(timeout, future);
            }
        }
        self.scheduler.block_with_timeout(timeout, future)
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
