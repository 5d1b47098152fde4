//! Where a woken task goes: [`TaskQueue`], a backend's optional fast path, and [`Home`],
//! the way back a spawn picks for its task (a background task's closure keeps only the
//! pointer inside; see `spawn_at_home`).
//!
//! By default a task holds a `Weak` of its scheduler and upgrades it on every wake. That is
//! one atomic write to a reference count all threads share, on every wake: harmless on one
//! thread, a cache line bouncing between cores on a thread pool. A backend that implements
//! [`Scheduler::task_queue`] hands out its inner queue instead; the task holds that strongly
//! and a wake costs no shared write beyond the queue's own.

use alloc::sync::{Arc, Weak};

use super::metadata::TaskLabel;
use super::scheduler::{Runnable, Scheduler};

/// The queue a backend's tasks push themselves into when they are woken, in place of the
/// [`Scheduler`] itself (see [`Scheduler::task_queue`]).
///
/// Tasks hold it strongly, so it outlives the scheduler: once the scheduler is dropped,
/// `push` must drop the runnable (cancelling its task, so its awaiter sees that) rather
/// than queue it. That holds for foreground runnables too, on any thread: the spawn helpers
/// wrap a foreground future so that a drop off its own thread leaks only the future and
/// never touches it.
///
/// ```
/// use std::collections::VecDeque;
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use unified_scheduler::{Instant, Park, Runnable, Scheduler, TaskQueue, Unparker, Wake};
///
/// /// What tasks hold: the queue, `None` once the scheduler is gone.
/// struct Inner(Mutex<Option<VecDeque<Runnable>>>);
///
/// impl TaskQueue for Inner {
///     fn push(&self, runnable: Runnable, _wake: Wake) {
///         let mut queue = self.0.lock().unwrap();
///         match queue.as_mut() {
///             Some(queue) => queue.push_back(runnable),
///             None => {
///                 drop(queue); // never drop a task under the lock: it may wake others
///                 drop(runnable);
///             }
///         }
///     }
/// }
///
/// struct Fifo(Arc<Inner>);
///
/// impl Scheduler for Fifo {
///     fn schedule(&self, runnable: Runnable) {
///         self.0.push(runnable, Wake::Woken);
///     }
///     fn task_queue(&self) -> Option<Arc<dyn TaskQueue>> {
///         Some(self.0.clone())
///     }
///     fn schedule_after(&self, _delay: Duration, runnable: Runnable) {
///         self.schedule(runnable) // a toy: no timers
///     }
///     fn park(&self, _timeout: Option<Duration>) -> Park {
///         loop {
///             // Unlock before running: the task may wake itself into the queue.
///             let next = self.0.0.lock().unwrap().as_mut().and_then(|q| q.pop_front());
///             match next {
///                 Some(runnable) => runnable.run(),
///                 None => return Park::Unparked,
///             };
///         }
///     }
///     fn unparker(&self) -> Unparker {
///         Unparker::from_waker(std::task::Waker::noop().clone())
///     }
///     fn is_main_thread(&self) -> bool {
///         false
///     }
///     fn now(&self) -> Instant {
///         Instant::now()
///     }
/// }
///
/// impl Drop for Fifo {
///     fn drop(&mut self) {
///         // Cancel what is queued; later wakes find `None` and cancel their task.
///         let queued = self.0.0.lock().unwrap().take();
///         drop(queued);
///     }
/// }
///
/// let scheduler: Arc<dyn Scheduler> = Arc::new(Fifo(Arc::new(Inner(Mutex::new(Some(
///     VecDeque::new(),
/// ))))));
/// let task = scheduler.spawn(async {
///     futures_lite::future::yield_now().await; // this wake goes through `Inner::push`
///     7
/// });
/// assert_eq!(scheduler.block(task), 7);
/// ```
pub trait TaskQueue: Send + Sync {
    /// Queues a woken task, as [`Scheduler::schedule`] would (or `schedule_foreground` for a
    /// foreground task, or `schedule_labeled` for a labeled one: see the runnable's
    /// metadata). [`Wake::Yielded`] says the task woke itself while it was running: a fair
    /// queue puts it behind the work already waiting.
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use unified_scheduler::{Runnable, TaskId, TaskMetadata, TaskQueue, Wake};
    ///
    /// #[derive(Default)]
    /// struct Recorder(Mutex<Vec<(Runnable, Wake)>>);
    ///
    /// impl TaskQueue for Recorder {
    ///     fn push(&self, runnable: Runnable, wake: Wake) {
    ///         self.0.lock().unwrap().push((runnable, wake));
    ///     }
    /// }
    ///
    /// let queue = Recorder::default();
    /// let metadata = TaskMetadata::here(TaskId::next_global(), None);
    /// let (runnable, task) = async_task::Builder::new()
    ///     .metadata(metadata)
    ///     .spawn(|_| async { 1 }, |_| {});
    /// queue.push(runnable, Wake::Woken);
    /// let (runnable, wake) = queue.0.lock().unwrap().pop().unwrap();
    /// assert_eq!(wake, Wake::Woken);
    /// runnable.run();
    /// assert!(task.is_finished());
    /// ```
    fn push(&self, runnable: Runnable, wake: Wake);
}

/// Why a task is being queued: how [`TaskQueue::push`] tells a fresh wake from a yield.
///
/// ```
/// use unified_scheduler::Wake;
/// assert_eq!(Wake::from_woken_while_running(true), Wake::Yielded);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Something else woke the task (a timer, a channel, another task), or it is new.
    Woken,
    /// The task woke itself while it was running: it yielded, and a fair queue puts it
    /// behind the work already waiting.
    Yielded,
}

impl Wake {
    /// From async-task's `ScheduleInfo::woken_while_running`.
    ///
    /// ```
    /// use unified_scheduler::Wake;
    /// assert_eq!(Wake::from_woken_while_running(false), Wake::Woken);
    /// ```
    pub const fn from_woken_while_running(woken_while_running: bool) -> Self {
        if woken_while_running {
            Self::Yielded
        } else {
            Self::Woken
        }
    }
}

/// Where a spawned task goes on every wake. A foreground task's closure holds it; a
/// background spawn matches on it once and builds a closure that holds only the pointer.
pub(super) enum Home {
    /// The scheduler itself, weakly, so queued tasks do not keep it alive.
    Scheduler(Weak<dyn Scheduler>),
    /// The backend's own queue (see [`Scheduler::task_queue`]).
    Queue(Arc<dyn TaskQueue>),
}

impl Home {
    #[inline]
    pub(super) fn of(scheduler: &Arc<dyn Scheduler>) -> Self {
        match scheduler.task_queue() {
            Some(queue) => Self::Queue(queue),
            None => Self::Scheduler(Arc::downgrade(scheduler)),
        }
    }

    /// Sends a woken foreground task home. With no scheduler left, dropping the runnable
    /// cancels the task, on any thread: off its own thread the future inside is leaked, not
    /// dropped (see `ThreadBound`), and the awaiter still hears of the cancellation.
    pub(super) fn send_foreground(&self, runnable: Runnable) {
        match self {
            Self::Queue(queue) => queue.push(runnable, Wake::Woken),
            Self::Scheduler(weak) => match weak.upgrade() {
                Some(scheduler) => scheduler.schedule_foreground(runnable),
                None => drop(runnable),
            },
        }
    }
}

/// Sends a woken background task to its scheduler, held weakly. With no scheduler left,
/// dropping the runnable cancels the task.
#[inline]
pub(super) fn send_home(scheduler: &Weak<dyn Scheduler>, runnable: Runnable) {
    if let Some(scheduler) = scheduler.upgrade() {
        let label = runnable.metadata().label;
        send_to(&*scheduler, runnable, label);
    }
}

/// Queues a background runnable on `scheduler`, through `schedule_labeled` if it has a label.
#[inline]
pub(super) fn send_to(scheduler: &dyn Scheduler, runnable: Runnable, label: Option<TaskLabel>) {
    match label {
        Some(label) => scheduler.schedule_labeled(runnable, label),
        None => scheduler.schedule(runnable),
    }
}
