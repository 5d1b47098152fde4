//! The generic helpers on `dyn Scheduler`: spawning, timers and downcasting.
//!
//! Each spawn is one allocation (async-task's, which holds the future, the output and the
//! schedule closure). The closure holds the task's way home: a `Weak` reference to the
//! scheduler, or the backend's own [`TaskQueue`](super::TaskQueue). Either way queued tasks
//! do not keep the scheduler alive: once it is dropped, a woken task is cancelled and its
//! awaiter sees that, instead of a leak or a hang.

use ::core::any::Any;
use ::core::future::Future;
use ::core::panic::Location;
use ::core::time::Duration;
use alloc::sync::Arc;

use async_task::{ScheduleInfo, WithInfo};

use super::metadata::{Priority, TaskLabel, TaskMetadata};
use super::scheduler::{Runnable, Scheduler};
use super::task::Task;
use super::task_queue::{Home, Wake, send_home, send_to};
use super::tracking;

/// Futures that `spawn_foreground` accepts: any future with `std`, where a thread check
/// keeps it on its thread; only `Send` futures without `std`, where no thread identity
/// exists to check against. It is implemented for you; it cannot be implemented by hand.
///
/// ```
/// use unified_scheduler::ForegroundSafe;
///
/// fn accepted<F: ForegroundSafe>(_: F) {}
/// accepted(async { std::rc::Rc::new(1) }); // a !Send future, fine with std
/// ```
#[cfg(feature = "std")]
pub trait ForegroundSafe: sealed::Sealed {}
/// Futures that `spawn_foreground` accepts: any future with `std`, where a thread check
/// keeps it on its thread; only `Send` futures without `std`, where no thread identity
/// exists to check against.
#[cfg(not(feature = "std"))]
pub trait ForegroundSafe: sealed::Sealed + Send {}

mod sealed {
    pub trait Sealed {}
}

#[cfg(feature = "std")]
impl<T: ?Sized> sealed::Sealed for T {}
#[cfg(feature = "std")]
impl<T: ?Sized> ForegroundSafe for T {}
#[cfg(not(feature = "std"))]
impl<T: ?Sized + Send> sealed::Sealed for T {}
#[cfg(not(feature = "std"))]
impl<T: ?Sized + Send> ForegroundSafe for T {}

/// Where a fresh runnable goes first.
#[derive(Clone, Copy)]
pub(crate) enum FirstRun {
    Now,
    After(Duration),
}

impl dyn Scheduler {
    /// Spawns a `Send` future onto the scheduler's background threads.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let task = scheduler.spawn(async { "hello" });
    /// assert_eq!(scheduler.block(task), "hello");
    /// ```
    #[track_caller]
    pub fn spawn<F>(self: &Arc<Self>, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_background(
            self,
            future,
            None,
            Priority::Medium,
            FirstRun::Now,
            Location::caller(),
        )
    }

    /// Spawns a `Send` future with a label; every wake goes through
    /// [`Scheduler::schedule_labeled`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler, TaskLabel};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let label = TaskLabel::new();
    /// let task = scheduler.spawn_labeled(label, async { 7 });
    /// assert_eq!(scheduler.block(task), 7);
    /// ```
    #[track_caller]
    pub fn spawn_labeled<F>(self: &Arc<Self>, label: TaskLabel, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_background(
            self,
            future,
            Some(label),
            Priority::Medium,
            FirstRun::Now,
            Location::caller(),
        )
    }

    /// Spawns a `Send` future with a [`Priority`], which every backend reads from the task's
    /// metadata to order its queues (see [`Priority`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Priority, QueueScheduler, Scheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let task = scheduler.spawn_with_priority(Priority::High, async { 8 });
    /// assert_eq!(scheduler.block(task), 8);
    /// ```
    #[track_caller]
    pub fn spawn_with_priority<F>(
        self: &Arc<Self>,
        priority: Priority,
        future: F,
    ) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_background(
            self,
            future,
            None,
            priority,
            FirstRun::Now,
            Location::caller(),
        )
    }

    /// Spawns a future, which need not be `Send`, onto the main thread.
    ///
    /// The future is polled and dropped only on the calling thread; a scheduler that runs
    /// it elsewhere gets a panic naming the task, never undefined behaviour.
    ///
    /// # Panics
    ///
    /// At the call, naming where it was called, if the caller is not on the scheduler's main
    /// thread (another OS thread, or a background task of a scheduler that tells them apart,
    /// the `TestScheduler` included), and if the scheduler has no main thread at all.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let not_send = Rc::new(5);
    /// let task = scheduler.spawn_foreground(async move { *not_send + 1 });
    /// assert_eq!(scheduler.block(task), 6);
    /// ```
    #[track_caller]
    pub fn spawn_foreground<F>(self: &Arc<Self>, future: F) -> Task<F::Output>
    where
        F: Future + ForegroundSafe + 'static,
        F::Output: ForegroundSafe + 'static,
    {
        spawn_foreground_in_session(self, future, 0, Location::caller())
    }

    /// A task that finishes once `duration` has passed on this scheduler's clock.
    ///
    /// `Duration::ZERO` is ready at once; durations too large for the clock saturate (the
    /// timer then never fires) rather than overflow. Dropping the task cancels the timer.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let start = scheduler.now();
    /// scheduler.block(scheduler.timer(Duration::from_millis(2)));
    /// assert!(scheduler.now() - start >= Duration::from_millis(2));
    /// assert!(scheduler.timer(Duration::ZERO).is_finished());
    /// ```
    #[track_caller]
    pub fn timer(self: &Arc<Self>, duration: Duration) -> Task<()> {
        if duration.is_zero() {
            return Task::ready(());
        }
        spawn_background(
            self,
            async {},
            None,
            Priority::Medium,
            FirstRun::After(duration),
            Location::caller(),
        )
    }

    /// The scheduler as its concrete type, if it is a `T`.
    ///
    /// This is how test-only operations reach the `TestScheduler` through an
    /// `Arc<dyn Scheduler>` while staying no-ops on production schedulers.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// assert!(scheduler.downcast_ref::<QueueScheduler>().is_some());
    /// ```
    pub fn downcast_ref<T: Scheduler>(&self) -> Option<&T> {
        (self as &dyn Any).downcast_ref::<T>()
    }
}

/// Fails a `spawn_foreground` called off the main thread, at the call: production would
/// fail later (at the awaiter, with the future leaked), so every scheduler fails here.
#[cold]
#[track_caller]
fn off_main_thread(caller: &'static Location<'static>) -> ! {
    #[cfg(feature = "std")]
    let here = std::thread::current();
    #[cfg(feature = "std")]
    let here = alloc::format!(
        "thread {:?} ({:?})",
        here.name().unwrap_or("<unnamed>"),
        here.id()
    );
    #[cfg(not(feature = "std"))]
    let here = "a thread that is not the main thread";
    panic!(
        "spawn_foreground called at {caller} on {here}, which is not the scheduler's main \
         thread (or inside one of its background tasks): foreground tasks must be spawned \
         on the main thread. Spawn it with `spawn` if it is `Send`, or spawn it from code \
         that runs on the main thread (a foreground task, or the test body)"
    )
}

fn builder(metadata: TaskMetadata) -> async_task::Builder<TaskMetadata> {
    let builder = async_task::Builder::new().metadata(metadata);
    #[cfg(feature = "std")]
    let builder = builder.propagate_panic(true);
    builder
}

// Inlined into `spawn` and its siblings: a call of its own cost 45 instructions a spawn
// (`benches/instructions.rs`).
#[inline]
pub(crate) fn spawn_background<F>(
    scheduler: &Arc<dyn Scheduler>,
    future: F,
    label: Option<TaskLabel>,
    priority: Priority,
    first: FirstRun,
    spawned_at: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (id, watch) = tracking::register(&**scheduler);
    let metadata = TaskMetadata::new(id, label, spawned_at).with_priority(priority);
    // With the TestScheduler's feature, a task it tracks gets an end guard (see `tracking`).
    #[cfg(feature = "test-scheduler")]
    let (runnable, task) = match watch.track(future, id) {
        Ok(tracked) => spawn_at_home(scheduler, metadata, tracked),
        Err(future) => spawn_at_home(scheduler, metadata, future),
    };
    #[cfg(not(feature = "test-scheduler"))]
    let (runnable, task) = spawn_at_home(scheduler, metadata, future);
    match first {
        FirstRun::Now => send_to(&**scheduler, runnable, label),
        FirstRun::After(delay) => scheduler.schedule_after(delay, runnable),
    }
    Task::spawned(task, watch)
}

/// Spawns `future` with a schedule closure that holds only its way home: the backend's own
/// queue, or the scheduler weakly. Two closure types, not one holding a [`Home`]: that enum
/// of two fat pointers has no niche for its tag, so it is three words, and every wake
/// matched on it. Without it a trivial `TestScheduler` task is 104 bytes, not 112 (a
/// 112-byte malloc chunk, not 128), and the spawn helper takes 13 to 19 fewer instructions
/// a task (`benches/instructions.rs`).
#[inline]
fn spawn_at_home<F>(
    scheduler: &Arc<dyn Scheduler>,
    metadata: TaskMetadata,
    future: F,
) -> (Runnable, async_task::Task<F::Output, TaskMetadata>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match Home::of(scheduler) {
        Home::Queue(queue) => {
            let schedule = WithInfo(move |runnable: Runnable, info: ScheduleInfo| {
                queue.push(
                    runnable,
                    Wake::from_woken_while_running(info.woken_while_running),
                );
            });
            builder(metadata).spawn(move |_| future, schedule)
        }
        Home::Scheduler(scheduler) => {
            let schedule = move |runnable: Runnable| send_home(&scheduler, runnable);
            builder(metadata).spawn(move |_| future, schedule)
        }
    }
}

/// `spawn_foreground` in a `TestScheduler` session (0: the main one; production schedulers
/// have only that one and never look).
#[track_caller]
pub(crate) fn spawn_foreground_in_session<F>(
    scheduler: &Arc<dyn Scheduler>,
    future: F,
    session: u16,
    spawned_at: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + ForegroundSafe + 'static,
    F::Output: ForegroundSafe + 'static,
{
    if !scheduler.is_main_thread() {
        off_main_thread(spawned_at);
    }
    let (id, watch) = tracking::register(&**scheduler);
    let metadata = TaskMetadata::new(id, None, spawned_at)
        .for_main_thread()
        .in_session(session);
    let home = Home::of(scheduler);
    // Without a scheduler, dropping the runnable cancels the task; off its thread only the
    // task is dropped, its `!Send` future is leaked by `ThreadBound` (with `std`).
    let schedule = move |runnable: Runnable| home.send_foreground(runnable);
    #[cfg(feature = "test-scheduler")]
    let (runnable, task) = match watch.track(future, id) {
        Ok(tracked) => spawn_thread_bound(tracked, metadata, schedule),
        Err(future) => spawn_thread_bound(future, metadata, schedule),
    };
    #[cfg(not(feature = "test-scheduler"))]
    let (runnable, task) = spawn_thread_bound(future, metadata, schedule);
    scheduler.schedule_foreground(runnable);
    Task::spawned(task, watch)
}

#[cfg(feature = "std")]
pub(crate) fn spawn_thread_bound<F, S>(
    future: F,
    metadata: TaskMetadata,
    schedule: S,
) -> (Runnable, async_task::Task<F::Output, TaskMetadata>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: async_task::Schedule<TaskMetadata> + Send + Sync + 'static,
{
    let future = super::thread_bound::ThreadBound::new(future, metadata);
    // SAFETY: async-task requires that the runnable of a `!Send` future be used and dropped
    // only on the thread that spawned it. `ThreadBound` keeps that promise for every use
    // that touches the future (the invariant in `core`'s module docs): it polls it only on
    // this thread (elsewhere it panics) and drops it only here (elsewhere it leaks it), so
    // running or dropping the runnable on another thread never touches the `!Send` state.
    // The output is produced only by a poll (so on this thread) and reaches only the
    // `Task`, which is `!Send` when the output is. The schedule closure is `Send + Sync`,
    // and so are the wakers built on it. The future and output are `'static`.
    unsafe { builder(metadata).spawn_unchecked(move |_| future, schedule) }
}

#[cfg(not(feature = "std"))]
fn spawn_thread_bound<F, S>(
    future: F,
    metadata: TaskMetadata,
    schedule: S,
) -> (Runnable, async_task::Task<F::Output, TaskMetadata>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: async_task::Schedule<TaskMetadata> + Send + Sync + 'static,
{
    builder(metadata).spawn(move |_| future, schedule)
}
