//! The object-safe `Scheduler` trait: the one interface every backend implements.

use ::core::any::Any;
use ::core::time::Duration;

use alloc::sync::Arc;

use super::metadata::{TaskLabel, TaskMetadata};
use super::task_queue::TaskQueue;
use super::time::Instant;
#[cfg(feature = "test-scheduler")]
use super::tracking::Tracker;
use super::unparker::Unparker;

/// A runnable task: one poll of a spawned future, carrying its [`TaskMetadata`].
///
/// The spawn helpers on `dyn Scheduler` allocate it (one allocation per task, future
/// included) and hand it to [`Scheduler::schedule`] whenever the task is woken.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use unified_scheduler::{Instant, Park, Runnable, Scheduler, Unparker};
///
/// /// Remembers who asked to run, then runs it.
/// #[derive(Default)]
/// struct Describing(Mutex<Vec<String>>);
///
/// impl Scheduler for Describing {
///     fn schedule(&self, runnable: Runnable) {
///         self.0.lock().unwrap().push(runnable.metadata().to_string());
///         runnable.run(); // a toy: runs inline
///     }
///     fn schedule_after(&self, _: Duration, runnable: Runnable) { self.schedule(runnable) }
///     fn park(&self, _: Option<Duration>) -> Park { Park::Unparked }
///     fn unparker(&self) -> Unparker { Unparker::from_waker(std::task::Waker::noop().clone()) }
///     fn is_main_thread(&self) -> bool { false }
///     fn now(&self) -> Instant { Instant::now() }
/// }
///
/// let describing = Arc::new(Describing::default());
/// let scheduler: Arc<dyn Scheduler> = describing.clone();
/// scheduler.spawn(async {}).detach();
/// let seen = describing.0.lock().unwrap();
/// assert!(seen[0].starts_with("task #"), "{seen:?}");
/// assert!(seen[0].contains("spawned at "), "{seen:?}");
/// ```
pub type Runnable = async_task::Runnable<TaskMetadata>;

/// Where runnables go: the one object-safe interface of every backend.
///
/// Implementations only queue and run [`Runnable`]s; spawning, timers and blocking are
/// generic helpers on `dyn Scheduler` (see [`spawn`](#method.spawn) and its siblings), so
/// code holding an `Arc<dyn Scheduler>` works the same on a production dispatcher and on the
/// deterministic `TestScheduler`.
///
/// Eight methods are required; the rest have defaults that cost nothing, which only
/// schedulers with their own queue for wakes (`task_queue`) or their own notion of blocking
/// (`drive`) override.
///
/// [`park`](Scheduler::park) and [`unparker`](Scheduler::unparker) belong to the calling
/// thread, as in tokio and `parking`: any number of threads may block on one scheduler at
/// once, each parked on its own, and an unpark never wakes a different thread's park.
///
/// # Example: a scheduler in a dozen lines
///
/// ```
/// use std::collections::VecDeque;
/// use std::sync::{Arc, Mutex};
/// use std::time::Duration;
/// use unified_scheduler::{Instant, Park, Runnable, Scheduler, Unparker};
///
/// #[derive(Default)]
/// struct Fifo(Mutex<VecDeque<Runnable>>);
///
/// impl Scheduler for Fifo {
///     fn schedule(&self, runnable: Runnable) {
///         self.0.lock().unwrap().push_back(runnable);
///     }
///     fn schedule_after(&self, _delay: Duration, runnable: Runnable) {
///         self.schedule(runnable) // a toy: no timers
///     }
///     fn park(&self, _timeout: Option<Duration>) -> Park {
///         // Run what is queued, so `block` on this thread makes progress. Unlock before
///         // running: a task may wake itself into the queue.
///         loop {
///             let next = self.0.lock().unwrap().pop_front();
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
/// let scheduler: Arc<dyn Scheduler> = Arc::new(Fifo::default());
/// let task = scheduler.spawn(async { 6 * 7 });
/// assert_eq!(scheduler.block(task), 42);
/// ```
pub trait Scheduler: Any + Send + Sync {
    /// Queues a runnable to run on some thread of the scheduler's choosing.
    ///
    /// It may be called from any thread, including from inside a running task. It must not
    /// run the runnable inline (the caller may hold locks) and must not drop it, or the task
    /// is cancelled under its awaiter.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{QueueScheduler, Scheduler};
    /// let queue = Arc::new(QueueScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = queue.clone();
    /// let task = scheduler.spawn(async { "ran" }); // calls `schedule` once
    /// assert_eq!(queue.len(), 1);
    /// queue.run_all();
    /// assert!(task.is_finished());
    /// ```
    fn schedule(&self, runnable: Runnable);

    /// Queues a runnable of a task spawned with a label. The default ignores the label.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{QueueScheduler, Scheduler, TaskLabel};
    /// let queue = Arc::new(QueueScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = queue.clone();
    /// let task = scheduler.spawn_labeled(TaskLabel::new(), async { 1 });
    /// queue.run_all();
    /// assert_eq!(scheduler.block(task), 1);
    /// ```
    fn schedule_labeled(&self, runnable: Runnable, label: TaskLabel) {
        let _ = label;
        self.schedule(runnable);
    }

    /// Queues a runnable that must run on the main thread, in FIFO order with the other
    /// foreground runnables.
    ///
    /// The default panics with a message naming the scheduler type: a scheduler without a
    /// main thread cannot run `!Send` foreground work.
    ///
    /// ```should_panic
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use unified_scheduler::{Instant, Park, Runnable, Scheduler, Unparker};
    /// struct PoolOnly;
    /// impl Scheduler for PoolOnly {
    ///     fn schedule(&self, r: Runnable) { r.run(); }
    ///     fn schedule_after(&self, _: Duration, r: Runnable) { r.run(); }
    ///     fn park(&self, _: Option<Duration>) -> Park { Park::Unparked }
    ///     fn unparker(&self) -> Unparker { Unparker::from_waker(std::task::Waker::noop().clone()) }
    ///     fn is_main_thread(&self) -> bool { false }
    ///     fn now(&self) -> Instant { Instant::now() }
    /// }
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(PoolOnly);
    /// // panics: "`rust_out::PoolOnly` has no main thread: ..."
    /// let _task = scheduler.spawn_foreground(async {});
    /// ```
    #[track_caller]
    fn schedule_foreground(&self, runnable: Runnable) {
        let task = *runnable.metadata();
        // The first schedule of a foreground task happens inside `spawn_foreground`, on the
        // thread that owns the future, so dropping it here (cancelling the task) is safe.
        drop(runnable);
        panic!(
            "`{}` has no main thread: it cannot run the foreground {task}; \
             spawn it with `spawn` instead, or use a scheduler that has a main thread",
            ::core::any::type_name::<Self>()
        );
    }

    /// Queues a runnable to run once `delay` has passed on this scheduler's clock.
    ///
    /// Never early. A delay too large to represent must saturate (the runnable then never
    /// fires), not overflow.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use unified_scheduler::{QueueScheduler, Scheduler};
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let timer = scheduler.timer(Duration::from_millis(1)); // calls `schedule_after`
    /// scheduler.block(timer);
    /// ```
    fn schedule_after(&self, delay: Duration, runnable: Runnable);

    /// Blocks the calling thread until its [`unparker`](Scheduler::unparker) is used (or was
    /// used since the last `park` on this thread) or `timeout` passes, and says which. Schedulers that run work on the blocking thread (the `TestScheduler`, a
    /// single-threaded queue, a dispatcher's main thread) run it here. Each thread parks on
    /// its own: threads blocking on one scheduler at once never take each other's wakeups.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use unified_scheduler::{Park, QueueScheduler, Scheduler};
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// scheduler.unparker().unpark();
    /// assert_eq!(scheduler.park(Some(Duration::from_secs(5))), Park::Unparked);
    /// assert_eq!(scheduler.park(Some(Duration::ZERO)), Park::TimedOut);
    /// ```
    fn park(&self, timeout: Option<Duration>) -> Park;

    /// The handle that ends a [`park`](Scheduler::park) of the calling thread: get it on the
    /// thread that will park, and use it from anywhere.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{QueueScheduler, Scheduler};
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let unparker = scheduler.unparker();
    /// std::thread::spawn(move || unparker.unpark()).join().unwrap();
    /// assert_eq!(scheduler.park(None), unified_scheduler::Park::Unparked);
    /// ```
    fn unparker(&self) -> Unparker;

    /// Whether the calling code runs on this scheduler's main thread.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{QueueScheduler, Scheduler};
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// assert!(scheduler.is_main_thread());
    /// let other = scheduler.clone();
    /// assert!(!std::thread::spawn(move || other.is_main_thread()).join().unwrap());
    /// ```
    fn is_main_thread(&self) -> bool;

    /// The scheduler's clock: real time in production, virtual time under test.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{QueueScheduler, Scheduler};
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let a = scheduler.now();
    /// assert!(scheduler.now() >= a);
    /// ```
    fn now(&self) -> Instant;

    /// The wall-clock time, for code that stamps times (`now` is monotonic and has no
    /// date): the system's clock in production, a virtual one under the `TestScheduler`
    /// (starting at 2026-01-01T00:00:00Z and moving with its virtual time), so stamps are
    /// deterministic in tests. A scheduler with a clock of its own overrides it; the
    /// Workers scheduler answers the isolate's `Date.now()`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{QueueScheduler, Scheduler};
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// assert!(scheduler.utc_now() > std::time::UNIX_EPOCH);
    /// ```
    #[cfg(feature = "std")]
    fn utc_now(&self) -> std::time::SystemTime {
        std::time::SystemTime::now()
    }

    /// The tracker of a scheduler that follows its tasks; only this crate's `TestScheduler`
    /// has one (a [`Tracker`] cannot be made outside this crate). The spawn helpers number
    /// tasks from it and record their ends in it. It exists only with the `test-scheduler`
    /// feature, so production spawns never ask.
    #[doc(hidden)]
    #[cfg(feature = "test-scheduler")]
    fn tracker(&self) -> Option<&Tracker> {
        None
    }

    /// The queue this scheduler's tasks push themselves into when woken, if it has one;
    /// `None` (the default) sends every wake through the scheduler itself.
    ///
    /// Spawned tasks hold what this returns, so a multi-threaded backend returns its inner
    /// shared state here: a wake then writes to no reference count every thread shares
    /// (the default upgrades a `Weak` of the scheduler on each wake). See [`TaskQueue`] for
    /// what the queue must do once the scheduler is gone.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{QueueScheduler, Scheduler};
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// assert!(scheduler.task_queue().is_none());
    /// ```
    fn task_queue(&self) -> Option<Arc<dyn TaskQueue>> {
        None
    }

    /// How many CPUs work may be spread over: the machine's count with `std` (1 if it cannot
    /// be read), 1 without.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use unified_scheduler::{QueueScheduler, Scheduler};
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// assert!(scheduler.num_cpus() >= 1);
    /// ```
    fn num_cpus(&self) -> usize {
        #[cfg(feature = "std")]
        {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
        #[cfg(not(feature = "std"))]
        {
            1
        }
    }

    /// Polls `future` on the calling thread until it is ready or `timeout` passes, and says
    /// which. This is the engine of the `block` helpers, not a `block_on(future) -> T` (that
    /// is [`block`](#method.block)): the default polls, then [`park`](Scheduler::park)s with
    /// a waker that unparks this thread. Schedulers with their own notion of time (the
    /// `TestScheduler`) override it.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use std::time::Duration;
    /// # use unified_scheduler::{Driven, QueueScheduler, Scheduler};
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let never = std::future::pending::<()>();
    /// let outcome = scheduler.drive(core::pin::pin!(never), Some(Duration::from_millis(1)));
    /// assert_eq!(outcome, Driven::TimedOut);
    /// ```
    #[cfg(feature = "std")]
    fn drive(
        &self,
        future: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = ()>>,
        timeout: Option<Duration>,
    ) -> Driven {
        super::block::park_until_ready(self, future, timeout)
    }
}

/// How a [`Scheduler::park`] ended.
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// use unified_scheduler::{Park, QueueScheduler, Scheduler};
/// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
/// assert_eq!(scheduler.park(Some(Duration::ZERO)), Park::TimedOut);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[must_use = "a park may end by timing out; check which, or bind it to `_`"]
pub enum Park {
    /// The thread's unparker was used (now, or since its last park).
    Unparked,
    /// The timeout passed first.
    TimedOut,
}

/// How a [`Scheduler::drive`] ended.
///
/// ```
/// # use std::sync::Arc;
/// use unified_scheduler::{Driven, QueueScheduler, Scheduler};
/// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
/// let outcome = scheduler.drive(core::pin::pin!(async {}), None);
/// assert_eq!(outcome, Driven::Ready);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[must_use = "a drive may end by timing out before the future is ready"]
pub enum Driven {
    /// The future is ready.
    Ready,
    /// The timeout passed first; the future is still pending.
    TimedOut,
}
