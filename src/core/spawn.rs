//! The generic helpers on `dyn Scheduler`: spawning, timers and downcasting.
//!
//! Each spawn is one allocation (async-task's, which holds the future, the output and the
//! schedule closure). The closure holds the task's [`Home`]: a `Weak` reference to the
//! scheduler, or the backend's own [`TaskQueue`](super::TaskQueue). Either way queued tasks
//! do not keep the scheduler alive: once it is dropped, a woken task is cancelled and its
//! awaiter sees that, instead of a leak or a hang.

use alloc::sync::{Arc, Weak};
use core::any::Any;
use core::future::Future;
use core::panic::Location;
use core::time::Duration;

use async_task::{ScheduleInfo, WithInfo};

use super::task_queue::{Home, send_to};
use super::{Runnable, Scheduler, Task, TaskEnd, TaskId, TaskLabel, TaskMetadata};

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
enum FirstRun {
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
        spawn_background(self, future, None, FirstRun::Now, Location::caller())
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
        spawn_background(self, future, Some(label), FirstRun::Now, Location::caller())
    }

    /// Spawns a future, which need not be `Send`, onto the main thread.
    ///
    /// The future is polled and dropped only on the calling thread; a scheduler that runs
    /// it elsewhere gets a panic naming the task, never undefined behaviour. Panics at once if
    /// the scheduler has no main thread.
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
        spawn_foreground(self, future, Location::caller())
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

fn builder(metadata: TaskMetadata) -> async_task::Builder<TaskMetadata> {
    let builder = async_task::Builder::new().metadata(metadata);
    #[cfg(feature = "std")]
    let builder = builder.propagate_panic(true);
    builder
}

fn spawn_background<F>(
    scheduler: &Arc<dyn Scheduler>,
    future: F,
    label: Option<TaskLabel>,
    first: FirstRun,
    spawned_at: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let registration = scheduler.register_task(label, spawned_at);
    let metadata = TaskMetadata::new(registration.id, label, spawned_at, false);
    // Only the home is captured (the label is in the metadata): a smaller task.
    let home = Home::of(scheduler);
    let schedule = WithInfo(move |runnable: Runnable, info: ScheduleInfo| {
        home.send(runnable, info.woken_while_running);
    });
    let (runnable, task) = if registration.track_end {
        let tracked = tracked(future, Arc::downgrade(scheduler), registration.id);
        builder(metadata).spawn(move |_| tracked, schedule)
    } else {
        builder(metadata).spawn(move |_| future, schedule)
    };
    match first {
        FirstRun::Now => send_to(&**scheduler, runnable, label),
        FirstRun::After(delay) => scheduler.schedule_after(delay, runnable),
    }
    Task::spawned(task)
}

#[track_caller]
fn spawn_foreground<F>(
    scheduler: &Arc<dyn Scheduler>,
    future: F,
    spawned_at: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + ForegroundSafe + 'static,
    F::Output: ForegroundSafe + 'static,
{
    let registration = scheduler.register_task(None, spawned_at);
    let metadata = TaskMetadata::new(registration.id, None, spawned_at, true);
    let home = Home::of(scheduler);
    #[cfg(feature = "std")]
    let owner = super::thread_bound::current_thread_id();
    let schedule = move |runnable: Runnable| {
        // Without a scheduler, dropping the runnable cancels the task, but only its own
        // thread may drop a `!Send` future: elsewhere it is leaked.
        #[cfg(feature = "std")]
        home.send_foreground(runnable, || {
            super::thread_bound::current_thread_id() == owner
        });
        #[cfg(not(feature = "std"))]
        home.send_foreground(runnable, || true);
    };
    let tracked_id = registration.track_end.then_some(registration.id);
    let (runnable, task) = spawn_thread_bound(future, metadata, schedule, tracked_id, scheduler);
    scheduler.schedule_foreground(runnable);
    Task::spawned(task)
}

#[cfg(feature = "std")]
fn spawn_thread_bound<F, S>(
    future: F,
    metadata: TaskMetadata,
    schedule: S,
    tracked_id: Option<TaskId>,
    scheduler: &Arc<dyn Scheduler>,
) -> (Runnable, async_task::Task<F::Output, TaskMetadata>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: async_task::Schedule<TaskMetadata> + Send + Sync + 'static,
{
    use super::thread_bound::ThreadBound;
    match tracked_id {
        Some(id) => {
            let future = ThreadBound::new(tracked(future, Arc::downgrade(scheduler), id), metadata);
            // SAFETY: `ThreadBound` polls and drops the `!Send` future only on this thread
            // (elsewhere it panics or leaks, never touching the future), so the runnable may
            // travel; the future and output are `'static`; `schedule` is `Send + Sync`.
            unsafe { builder(metadata).spawn_unchecked(move |_| future, schedule) }
        }
        None => {
            let future = ThreadBound::new(future, metadata);
            // SAFETY: as above.
            unsafe { builder(metadata).spawn_unchecked(move |_| future, schedule) }
        }
    }
}

#[cfg(not(feature = "std"))]
fn spawn_thread_bound<F, S>(
    future: F,
    metadata: TaskMetadata,
    schedule: S,
    tracked_id: Option<TaskId>,
    scheduler: &Arc<dyn Scheduler>,
) -> (Runnable, async_task::Task<F::Output, TaskMetadata>)
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
    S: async_task::Schedule<TaskMetadata> + Send + Sync + 'static,
{
    match tracked_id {
        Some(id) => {
            let future = tracked(future, Arc::downgrade(scheduler), id);
            builder(metadata).spawn(move |_| future, schedule)
        }
        None => builder(metadata).spawn(move |_| future, schedule),
    }
}

/// Reports how a tracked task's future ended when it is dropped.
struct EndGuard {
    scheduler: Weak<dyn Scheduler>,
    id: TaskId,
    end: TaskEnd,
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        #[cfg(feature = "std")]
        if super::end_collector::try_collect(self.scheduler.as_ptr().cast(), self.id, self.end) {
            return; // the scheduler running this task collects its end itself
        }
        if let Some(scheduler) = self.scheduler.upgrade() {
            scheduler.task_ended(self.id, self.end);
        }
    }
}

/// `future`, reporting its end (completed, dropped or panicked) to the scheduler when it is
/// dropped, which async-task does as soon as it completes, panics or is cancelled.
fn tracked<F: Future>(future: F, scheduler: Weak<dyn Scheduler>, id: TaskId) -> Tracked<F> {
    Tracked {
        future,
        guard: EndGuard {
            scheduler,
            id,
            end: TaskEnd::Cancelled,
        },
    }
}

/// The future of a tracked task. Written by hand rather than as an `async fn`, whose state
/// machine keeps its arguments and its locals apart: a smaller task, which matters when
/// 100,000 of them are queued.
struct Tracked<F> {
    future: F,
    guard: EndGuard,
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(
        self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<F::Output> {
        // SAFETY: `future` is pinned structurally: it is never moved out of `Tracked`, and
        // is dropped in place with it; `guard` is never pinned (it is `Unpin` and only
        // written through `&mut`).
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.future` lives as long as the pinned `Tracked`.
        let future = unsafe { core::pin::Pin::new_unchecked(&mut this.future) };
        #[cfg(feature = "std")]
        let poll = match std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| future.poll(cx)))
        {
            Ok(poll) => poll,
            Err(panic) => {
                this.guard.end = TaskEnd::Panicked;
                std::panic::resume_unwind(panic)
            }
        };
        #[cfg(not(feature = "std"))]
        let poll = future.poll(cx);
        if poll.is_ready() {
            this.guard.end = TaskEnd::Completed;
        }
        poll
    }
}
