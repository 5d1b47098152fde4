//! `MacDispatcher`: Grand Central Dispatch for background work, timers and the main thread
//! (feature `gcd`; Apple OSes, and Linux against a libdispatch named by `LIBDISPATCH_DIR`).
//!
//! # Implementation notes
//!
//! - **Bindings** ([`ffi`]): about twenty hand-written `extern "C"` declarations, linked
//!   against `System` on Apple and `dispatch` elsewhere. Not the `dispatch2` crate: it has
//!   no binding for the main-queue hooks (`_dispatch_get_main_queue_handle_4CF`,
//!   `_dispatch_main_queue_callback_4CF`) that `block` on Linux drains the main queue with.
//! - **Ownership.** The dispatcher owns an `Arc<Shared>`. Tasks hold the shared state as
//!   their `TaskQueue` (an `Inbox`), never the dispatcher, so the user's last
//!   `Arc<dyn Scheduler>` runs `Drop` and no wake can. What GCD holds: every callback that
//!   needs the shared state owns a strong reference of its own (its context, taken back by
//!   the callback), and the timer source owns one until its cancel handler runs. A gate slot
//!   is freed only with the shared state, which no runnable of a task spawned on the
//!   dispatcher outlives (the task holds it); a fallback gate is owned by its queue too.
//! - **Background work** ([`pool`]). By default
//!   ([`worker_threads`](MacDispatcherConfig::worker_threads) `None`) a runnable goes
//!   straight to GCD: `dispatch_async_f` on the global queue of the task's QoS class, with
//!   `Runnable::into_raw()` as the context; the `extern "C"` trampoline takes it back with
//!   `from_raw` and runs it under `catch_unwind`. GCD sizes the pool. To tell whether the
//!   dispatcher is closed without a second word of context or an allocation per runnable,
//!   the trampoline itself names the dispatcher's `Gate`: one of 32 static gate slots, each
//!   with its own trampoline, claimed for the dispatcher's lifetime (`Some(n)`
//!   pools need none: their drain callbacks hold the shared state). Beyond 32 live
//!   dispatchers, a dispatcher submits to a private concurrent queue targeting the same
//!   global queue, whose queue-specific value is its gate (`dispatch_get_specific`); that
//!   queue's hop costs about as much again as the raw `dispatch_async_f` (measured), so it is
//!   only the fallback (one private queue per QoS class). A task's `Priority` picks its QoS
//!   class: `Low` `UTILITY`, `Medium` `DEFAULT`, `High` `USER_INITIATED`, `Realtime`
//!   `USER_INTERACTIVE`.
//!   With `Some(n)`, runnables wait in our own FIFO queue and at most `n` drain callbacks
//!   (each running queued runnables, 64 at most before it hands its thread back to GCD) are
//!   in flight, so `Some(1)` runs background work one task at a time in the order scheduled.
//! - **Blocking in a task.** With `Some(n)`, a task that calls `block` lends the pool one more
//!   drain callback for as long as its poll lasts, submitted to GCD's overcommit global queue,
//!   which starts a thread at once whenever all are busy. In the default mode the queued
//!   runnables are inside GCD, where nothing can move them to another thread: a blocked
//!   worker is replaced by GCD itself. On Apple that is prompt (the kernel's workqueue sees the
//!   thread block); swift-corelibs-libdispatch on Linux replaces a blocked worker only about
//!   once a second (its monitor thread, measured), so there, while every worker is blocked
//!   in `block`, work queued behind them waits up to a second per worker. Use `Some(n)` for
//!   code that blocks in tasks on Linux.
//! - **Timers** ([`timers`]). Not `dispatch_after_f`: measured on libdispatch, it is up to
//!   10% late by design, equal deadlines run out of order, delays of 2^62 ns or more become
//!   "forever" (the work is neither run nor freed), and it cannot be cancelled. Instead one
//!   [`TimerHeap`](crate::timer_heap::TimerHeap) (deadline order, ties in the order scheduled) and
//!   one dispatch timer source, leeway 0, re-armed for the earliest deadline. Its handler
//!   (on a private serial queue, which GCD backs with an overcommit thread, so blocked
//!   workers cannot hold timers back) pops what is due on our clock, re-arms (also when it
//!   fired early on our clock), and hands the due runnables over in deadline order:
//!   foreground ones to the main thread, the rest to the pool. A deadline past what
//!   `Instant` can represent never fires: the runnable waits for shutdown. A deadline more
//!   than 2^61 ns away arms the source for 2^61 ns and re-arms when it fires.
//! - **Foreground work** ([`foreground`]) runs on the process's main thread, which is what
//!   `is_main_thread` reports (`pthread_main_np()` on Apple; on Linux the thread whose id is
//!   the process id), whichever thread created the dispatcher. `schedule_foreground` queues
//!   the runnable in our own FIFO queue, submits one wake to the main queue
//!   (`dispatch_async_f` on `&_dispatch_main_q`) unless one is already on its way, and
//!   unparks the main thread. The wake runs a slice of the queue (64 runnables, then it
//!   submits itself again), so the app's run loop (or `dispatch_main`) runs foreground
//!   tasks. The runnables stay in our queue rather than in the main queue's callbacks so that
//!   shutdown can take and cancel them: GCD's main queue cannot be drained from elsewhere.
//! - **Blocking on the main thread runs foreground tasks**, as on the other backends: `park`
//!   on the main thread runs a slice of the queue and returns if it ran any. On Linux it first
//!   drains GCD's main queue itself (everything on it, ours or not) through CoreFoundation's
//!   hooks: it reads the queue's eventfd (`_dispatch_get_main_queue_handle_4CF`) and, if it
//!   was signalled, calls `_dispatch_main_queue_callback_4CF`, only ever on the main thread
//!   (libdispatch kills the process otherwise). Our foreground work unparks the main thread;
//!   work someone else submits to the main queue while it is parked runs when it next wakes.
//!   On Apple the app's run loop drains the main queue; `block` runs our own queue only. Foreground tasks run inside the blocker's stack:
//!   release `RefCell` borrows before blocking.
//! - **Panics** (`platform/unwind.rs`). Tasks are spawned with async-task's
//!   `propagate_panic`, and every `run` is under `catch_unwind`. Every `extern "C"` callback
//!   body runs under `no_unwind`, which aborts the process if anything still unwinds:
//!   unwinding into libdispatch is undefined behaviour.
//! - **Shutdown** (`Drop`, [`shutdown`]). GCD's global queues cannot be stopped, so `Drop`
//!   closes the dispatcher: (1) close the `Gate`; from now on whatever GCD calls (the
//!   trampoline of a runnable already submitted, a drain callback) drops its runnable
//!   instead of running it, and a wake cancels its task; (2) mark the timers shut down, take
//!   the heap, cancel the timer source; (3) take our background queue (`Some(n)`) and the
//!   foreground queue; (4) drop everything taken: tasks are cancelled, so awaiters see it
//!   (off the main thread a foreground task's `!Send` future is leaked inside it, never
//!   dropped there). Runnables already inside GCD are dropped when GCD calls them, on a GCD
//!   thread, soon after. Nothing is joined: polls already running finish on their GCD
//!   thread, and a task that drops the last reference inside its own poll is fine.
//! - **Process exit.** A main-queue wake that the main thread never drains (a Linux process
//!   that neither blocks on the main thread again nor drains the main queue) keeps the shared
//!   state, with empty queues, alive until the process ends.

mod ffi;
mod foreground;
mod pool;
mod shutdown;
mod timers;

use ::core::fmt;
use ::core::future::Future;
use ::core::time::Duration;
use alloc::sync::Arc;
use std::io;
use std::thread;

use crate::core::thread_parker;
use crate::core::{Instant, Park, Runnable, Scheduler, TaskQueue, Unparker, Wake};
use crate::platform::main_thread::{self, ParkSteps};
use crate::sync::Mutex;

use self::ffi::Object;
use self::foreground::MainQueue;
use self::pool::Pool;
use self::timers::Timers;

/// How many foreground runnables one `park` on the main thread, or one main-queue wake, runs
/// before it returns (a wake submits itself again if work remains), so a task that yields
/// forever cannot keep `block` from polling its own future or the run loop from its other
/// sources.
const MAIN_BUDGET: usize = 64;

/// The knobs of a [`MacDispatcher`].
///
/// ```
/// use unified_scheduler::MacDispatcherConfig;
///
/// let config = MacDispatcherConfig::default().worker_threads(2);
/// assert_eq!(config.worker_threads, Some(2));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MacDispatcherConfig {
    /// `None` (the default): every background runnable goes straight to GCD's global queue
    /// of its task's QoS class (`Medium`, the default priority: `DEFAULT`; see
    /// [`Priority`](crate::Priority)), and GCD decides how many threads run them.
    ///
    /// `Some(n)`: at most `n` background runnables of this dispatcher run at once (0 counts
    /// as 1), on the `USER_INITIATED` global queue whatever their priority, started in the
    /// order they were scheduled; with 1 they run one at a time in that order. A task
    /// blocking in `block` lends the pool one more thread while it blocks. See the implementation notes of the module for what blocking
    /// in a task means in the default mode on Linux.
    pub worker_threads: Option<usize>,
}

impl MacDispatcherConfig {
    /// The same config with at most `count` background runnables running at once (0 counts
    /// as 1).
    ///
    /// ```
    /// use unified_scheduler::MacDispatcherConfig;
    /// assert_eq!(MacDispatcherConfig::default().worker_threads(1).worker_threads, Some(1));
    /// ```
    #[must_use]
    pub fn worker_threads(mut self, count: usize) -> Self {
        self.worker_threads = Some(count);
        self
    }

    /// The same config with GCD deciding how many background runnables run at once (the
    /// default).
    ///
    /// ```
    /// use unified_scheduler::MacDispatcherConfig;
    /// let config = MacDispatcherConfig::default().worker_threads(3).gcd_width();
    /// assert_eq!(config.worker_threads, None);
    /// ```
    #[must_use]
    pub fn gcd_width(mut self) -> Self {
        self.worker_threads = None;
        self
    }
}

/// The production [`Scheduler`] for Apple OSes, over Grand Central Dispatch: background tasks
/// on GCD's global queues (one per QoS class, by the task's priority), timers on a dispatch timer source, foreground
/// tasks on the process's main thread through the main queue.
///
/// Foreground tasks run whenever the main queue is drained (the app's run loop,
/// `dispatch_main`), and while the main thread is blocked in
/// [`block`](crate::Scheduler#method.block) or [`run_until`](MacDispatcher::run_until). Dropping
/// the last `Arc` closes the dispatcher: queued tasks are cancelled, and whatever GCD still
/// calls afterwards is dropped instead of run, so awaiters see the cancellation.
///
/// On Linux it runs against swift-corelibs-libdispatch (build with `LIBDISPATCH_DIR` set, see
/// the README); there `block` on the main thread also drains GCD's main queue.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use unified_scheduler::{MacDispatcher, Scheduler};
///
/// let scheduler: Arc<dyn Scheduler> = Arc::new(MacDispatcher::new());
/// let inner = scheduler.clone();
/// let background = scheduler.spawn(async move {
///     inner.timer(Duration::from_millis(1)).await;
///     6 * 7
/// });
/// assert_eq!(scheduler.block(background), 42);
/// ```
pub struct MacDispatcher {
    shared: Arc<Shared>,
    /// Handed to every task as its `TaskQueue`.
    inbox: Arc<Inbox>,
}

/// What the callbacks and the tasks share with the dispatcher.
struct Shared {
    pool: Pool,
    timers: Mutex<Timers>,
    /// The timer source; its context is a strong reference to this state, released by its
    /// cancel handler.
    timer_source: Object,
    /// The serial queue the timer source's handlers run on.
    _timer_queue: Object,
    main: Mutex<MainQueue>,
    /// What `num_cpus` reports.
    threads: usize,
}

/// What tasks hold to wake into the dispatcher (see `Scheduler::task_queue`): the shared
/// state itself, so a wake touches no reference count of the dispatcher and can never run
/// its `Drop`. After shutdown, a wake cancels its task.
struct Inbox(Arc<Shared>);

impl TaskQueue for Inbox {
    fn push(&self, runnable: Runnable, _wake: Wake) {
        if runnable.metadata().foreground {
            self.0.send_foreground(runnable);
        } else {
            self.0.push(runnable);
        }
    }
}

impl ParkSteps for MacDispatcher {
    /// On Linux, drains GCD's main queue first; then runs a slice of our foreground queue.
    fn run_foreground_slice(&self) -> usize {
        foreground::register_main_thread();
        let drained = usize::from(foreground::drain_main_queue());
        drained + self.shared.run_main_slice()
    }

    /// With `Some(n)`, lends the pool one more drain callback while this task blocks.
    fn lend_pool_thread(&self) {
        self.shared.begin_blocking();
    }
}

impl MacDispatcher {
    /// [`with_config`](Self::with_config) with the default config (see
    /// [`PlatformDispatcher`](crate::PlatformDispatcher) for what every dispatcher offers).
    ///
    /// ```
    /// let dispatcher = unified_scheduler::MacDispatcher::new();
    /// assert!(format!("{dispatcher:?}").contains("worker_threads: None"));
    /// ```
    pub fn new() -> Self {
        Self::with_config(MacDispatcherConfig::default())
    }

    /// [`try_with_config`](Self::try_with_config), panicking if libdispatch cannot create
    /// the dispatcher's queues or its timer source.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{MacDispatcher, MacDispatcherConfig, Scheduler};
    ///
    /// let one = MacDispatcher::with_config(MacDispatcherConfig::default().worker_threads(1));
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(one);
    /// assert_eq!(scheduler.num_cpus(), 1);
    /// ```
    #[track_caller]
    pub fn with_config(config: MacDispatcherConfig) -> Self {
        main_thread::started("MacDispatcher", Self::try_with_config(config))
    }

    /// A dispatcher with `config`, or an error if libdispatch cannot create its queues or its
    /// timer source (it returns null only when out of memory).
    ///
    /// ```
    /// use unified_scheduler::{MacDispatcher, MacDispatcherConfig};
    ///
    /// let dispatcher = MacDispatcher::try_with_config(MacDispatcherConfig::default())?;
    /// # drop(dispatcher);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_with_config(config: MacDispatcherConfig) -> io::Result<Self> {
        let width = config.worker_threads.map(|n| n.max(1));
        let pool = Pool::new(width)?;
        let (timer_queue, timer_source) = timers::create_source()?;
        let threads =
            width.unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
        let shared = Arc::new(Shared {
            pool,
            timers: Mutex::new(Timers::new()),
            timer_source,
            _timer_queue: timer_queue,
            main: Mutex::new(MainQueue::new()),
            threads,
        });
        timers::start_source(&shared);
        if foreground::is_main_thread() {
            foreground::register_main_thread();
        }
        Ok(Self {
            inbox: Arc::new(Inbox(shared.clone())),
            shared,
        })
    }

    /// Runs `future` to completion on the main thread, running foreground tasks while it
    /// waits (on Linux, everything on GCD's main queue too): the same as
    /// [`block`](crate::Scheduler#method.block) called on the main thread. On Apple, an app
    /// usually runs its run loop instead, which drains the main queue.
    ///
    /// # Panics
    ///
    /// If called from a thread other than the process's main thread.
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use unified_scheduler::{MacDispatcher, Scheduler};
    ///
    /// // In `main`: foreground work needs the process's main thread.
    /// let dispatcher = Arc::new(MacDispatcher::new());
    /// let scheduler: Arc<dyn Scheduler> = dispatcher.clone();
    /// let task = scheduler.spawn_foreground(async { "on main" });
    /// assert_eq!(dispatcher.run_until(task), "on main");
    /// ```
    #[track_caller]
    pub fn run_until<F: Future>(&self, future: F) -> F::Output {
        foreground::assert_main_thread("MacDispatcher::run_until");
        (self as &dyn Scheduler).block(future)
    }
}

impl Scheduler for MacDispatcher {
    fn schedule(&self, runnable: Runnable) {
        if runnable.metadata().foreground {
            self.shared.send_foreground(runnable);
        } else {
            self.shared.push(runnable);
        }
    }

    fn schedule_foreground(&self, runnable: Runnable) {
        self.shared.send_foreground(runnable);
    }

    fn schedule_after(&self, delay: Duration, runnable: Runnable) {
        if delay.is_zero() {
            return self.schedule(runnable);
        }
        self.shared.add_timer(delay, runnable);
    }

    /// Parks the calling thread. On the main thread it first runs waiting foreground work
    /// (on Linux, GCD's main queue, then a slice of the foreground queue) and returns at once
    /// if it ran any; scheduling foreground work unparks it. On a pool thread of a
    /// dispatcher with `worker_threads: Some(n)` (a task called `block`), the pool is first
    /// lent one more thread for as long as the task blocks.
    fn park(&self, timeout: Option<Duration>) -> Park {
        main_thread::park(foreground::is_main_thread(), self, timeout)
    }

    /// The calling thread's unparker: it ends a `park` on this same thread.
    fn unparker(&self) -> Unparker {
        thread_parker::unparker()
    }

    /// Whether this is the process's main thread (whichever thread created the dispatcher).
    fn is_main_thread(&self) -> bool {
        foreground::is_main_thread()
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    /// `n` for `worker_threads: Some(n)`, else the machine's available parallelism.
    fn num_cpus(&self) -> usize {
        self.shared.threads
    }

    /// The dispatcher's shared state: a wake then touches no reference count of the
    /// dispatcher, and never runs its `Drop`.
    fn task_queue(&self) -> Option<Arc<dyn TaskQueue>> {
        Some(self.inbox.clone())
    }
}

impl fmt::Debug for MacDispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (queued, running) = self.shared.pool.counts();
        let timers = self.shared.timers.lock().heap.len();
        let foreground = self.shared.main.lock().queue.len();
        f.debug_struct("MacDispatcher")
            .field("worker_threads", &self.shared.pool.width())
            .field("queued", &queued)
            .field("running", &running)
            .field("foreground_queued", &foreground)
            .field("timers", &timers)
            .field("gate_slot", &self.shared.pool.gate_slot())
            .finish_non_exhaustive()
    }
}

const _: fn() = super::follows_the_contract::<MacDispatcher>;

/// The same as [`MacDispatcher::new`].
///
/// ```
/// let dispatcher = unified_scheduler::MacDispatcher::default();
/// # drop(dispatcher);
/// ```
impl Default for MacDispatcher {
    fn default() -> Self {
        Self::new()
    }
}
