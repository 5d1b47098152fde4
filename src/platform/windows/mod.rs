//! `WindowsDispatcher`: the Windows thread pool for background work and timers, and a
//! message-only window on the main thread for foreground work (feature `win-threadpool`,
//! Windows only).
//!
//! # Implementation notes
//!
//! - **Ownership.** The dispatcher owns an `Arc<Shared>`. Every thread-pool callback owns a strong
//!   reference of its own (a submitted callback gets `Arc::into_raw` as its context, a timer owns a
//!   boxed [`TimerCtx`](timers::TimerCtx) holding one) and the window holds one in its
//!   `GWLP_USERDATA`, released on `WM_NCDESTROY`. So no callback can outlive the state it touches.
//!   Tasks hold the shared state too, as their `TaskQueue` (an `Inbox`), never the dispatcher:
//!   the user's last `Arc<dyn Scheduler>` runs `Drop`, which shuts everything down, and no wake
//!   on any thread can run that `Drop`. After it, a wake cancels its task.
//! - **Background work** ([`pool`]). Runnables wait in our own FIFO queue; each `schedule` pushes
//!   one and submits one simple callback with `TrySubmitThreadpoolCallback` and a
//!   `TP_CALLBACK_ENVIRON_V3` (the callback priority of the task's `Priority`: `Low` low,
//!   `Medium` normal, `High` and `Realtime` high, one environment per priority set up once,
//!   and one queue per priority, see [`pool`]; by default a private pool of
//!   `max(cpus, 2)` threads, all started up front like the `LinuxDispatcher`'s workers, or the
//!   process-wide pool, see [`WindowsDispatcherConfig::worker_threads`]). A callback takes one
//!   runnable off the queue and runs it. Keeping the runnables in our queue (not in the callback's
//!   context) is what lets shutdown cancel queued tasks, and makes a failed submission harmless.
//! - **Submission failure: adopt, else retry.** `TrySubmitThreadpoolCallback` fails only when the
//!   system cannot allocate the callback object. The runnable is never dropped: it is already in
//!   the queue. `pending` counts submitted callbacks that have not started; every callback, after
//!   its runnable, keeps taking runnables while `queue.len() > pending`, i.e. while some runnable
//!   has no callback coming for it. So after a failed submission, if any callback is pending or
//!   running, the orphan is *adopted* by it. If none is, the submitter *retries*, sleeping 1 ms
//!   between attempts, until the pool accepts the callback.
//! - **Timers** ([`timers`]). `schedule_after` puts the runnable in one
//!   [`TimerHeap`](crate::timers::TimerHeap) (deadline order, ties in the order scheduled) and arms
//!   a thread-pool timer (`CreateThreadpoolTimer` + `SetThreadpoolTimer` with a relative due time,
//!   rounded up to 100 ns) for its deadline. A timer callback that fires early on our clock re-arms
//!   itself; otherwise it hands every due runnable of the heap to the pool, in deadline order, and
//!   closes its timer from the callback (`CloseThreadpoolTimer`). The heap, not the order in which
//!   pool timers fire, decides the order; hand-over to the pool's queue happens under the heap's
//!   lock, and the callbacks for it are submitted after the lock is released (a submission that
//!   has to retry must not hold up every other timer). Fired runnables run as ordinary pool
//!   callbacks, so a long task cannot delay a timer. A deadline past what
//!   `Instant` can represent never fires: the runnable waits for shutdown, no timer is armed.
//! - **Foreground work** ([`foreground`], [`window`]). A message-only window (`HWND_MESSAGE`)
//!   created by, and so owned by, the main thread (the thread that called `new`).
//!   `schedule_foreground` queues the runnable, posts one wake message unless one is already on its
//!   way (`posted`: a burst of foreground work posts one message), and unparks the main thread. The
//!   window procedure runs queued runnables for one time slice
//!   ([`WindowsDispatcherConfig::time_slice`], 10 ms by default, at least one runnable per message)
//!   and posts again if work remains, so the thread's other messages get their turn. Posted
//!   messages are retrieved before input and paint, so when `GetQueueStatus` says input or paint is
//!   waiting, the continuation is a one-shot window timer (`WM_TIMER` comes after both) instead.
//!   Messages go to the window, never to the thread (`PostThreadMessageW` messages are lost in
//!   modal loops), so any message loop runs foreground work: the user's own
//!   `GetMessageW`/`DispatchMessageW` loop, a modal dialog's, or ours in
//!   [`WindowsDispatcher::run_until`]. The window uses the registered window message
//!   `"unified-scheduler.WindowsDispatcher"` with `wParam` 0 (run foreground work), 1 (poll
//!   `run_until`'s future) or 2 (destroy the window).
//! - **Blocking on the main thread runs foreground tasks** (like the `LinuxDispatcher`): `park` on
//!   the main thread first runs queued foreground runnables (one time slice) and returns if it ran
//!   any; it does not dispatch other window messages (use `run_until` for that). Those foreground
//!   tasks run inside the blocker's stack (unlike gpui): a foreground task that holds a `RefCell`
//!   borrow across `block` makes a nested one that borrows it panic; release borrows first.
//!   Elsewhere `park` only parks the calling thread (on its own parker).
//! - **Blocking in a task** ([`pool`]). A task that calls `block` holds its pool thread, so
//!   `park` on a pool thread first raises the private pool's thread limit by one for as long
//!   as that task's poll lasts, and submits one more callback so the pool starts a thread for
//!   the waiting work (on the process-wide pool the submission alone grows it). However many
//!   tasks block at once, the work they wait for still runs.
//! - **Panics** (`platform/unwind.rs`). Tasks are spawned with async-task's `propagate_panic`, so a task's
//!   panic is caught and handed to its awaiter; we also catch around every `run`. A destructor
//!   that panics while async-task drops a future aborts, as in async-task itself. Every
//!   `extern "system"` callback body runs under `catch_unwind` and aborts the process with a
//!   message if anything still unwinds: unwinding into the thread pool or `user32` is UB.
//! - **Shutdown** (`Drop`, [`shutdown`]): (1) mark the timers shut down, take the heap and every
//!   armed pool timer; cancel each timer, wait for its callbacks (`WaitForThreadpoolTimerCallbacks`
//!   with cancellation) and close it. (2) Mark the pool shut down and take its queue in one
//!   critical section; callbacks still pending in the thread pool then find nothing to do. (3) Take
//!   the foreground queue. Drop them all: their tasks are cancelled, so a running task blocked on
//!   one of them is released and every awaiter hears of it (off the main thread, a foreground
//!   task's `!Send` future is leaked inside it, never dropped there). (4) Wait until no callback
//!   runs a runnable of ours, except the calling thread's own when the last reference is dropped
//!   inside a task, and until no submission is under way (a foreign thread's wake or a timer
//!   callback may have queued work and released the lock but not yet called the pool). (5) Destroy the window on the main thread, or post it a destroy request from
//!   elsewhere. (6) Close the private pool, if any.
//! - **Process exit.** A runnable is never inside a pool callback's context, so a callback the pool
//!   never runs (the process exits first) loses nothing but its reference to the shared state;
//!   runnables still queued at exit are neither run nor dropped, like any value alive when the
//!   process ends. A window whose dispatcher was dropped off the main thread, on a main thread that
//!   never pumps messages again, keeps the shared state (with empty queues) alive until the thread
//!   ends.

mod foreground;
mod pool;
mod shutdown;
mod timers;
mod window;

use ::core::fmt;
use ::core::future::Future;
use ::core::pin::pin;
use ::core::time::Duration;
use alloc::sync::Arc;
use std::io;
use std::sync::Condvar;
use std::thread;

use windows_sys::Win32::System::Threading::{CloseThreadpool, PTP_POOL};

use crate::core::thread_parker;
use crate::core::{Instant, Park, Runnable, Scheduler, TaskQueue, Unparker, Wake};
use crate::platform::main_thread::{self, MainThread, ParkSteps};
use crate::sync::Mutex;

use self::foreground::MainQueue;
use self::pool::{CallbackEnvs, Pool};
use self::timers::Timers;
use self::window::{WindowHandle, window_class};

/// The knobs of a [`WindowsDispatcher`].
///
/// ```
/// use std::time::Duration;
/// use unified_scheduler::WindowsDispatcherConfig;
///
/// let config = WindowsDispatcherConfig::default()
///     .worker_threads(2)
///     .time_slice(Duration::from_millis(5));
/// assert_eq!(config.worker_threads, Some(2));
/// assert_eq!(config.time_slice, Duration::from_millis(5));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WindowsDispatcherConfig {
    /// `Some(n)`: background work and timers run on a private thread pool of this
    /// dispatcher with `n` threads (0 counts as 1), started with the dispatcher and released
    /// when it is dropped; with 1 thread, background runnables run one at a time in the order
    /// they were scheduled. The default is `Some(max(available_parallelism, 2))`.
    ///
    /// `None`: they run on the process-wide Windows thread pool, shared with the rest of the
    /// process. Windows grows that pool as it sees fit (Wine creates a thread whenever all
    /// are busy), so tasks that keep rescheduling themselves may spread over many threads.
    pub worker_threads: Option<usize>,
    /// How long one window message may run foreground work before it yields to the other
    /// messages of the main thread (it runs at least one runnable). The default is 10 ms.
    pub time_slice: Duration,
}

impl Default for WindowsDispatcherConfig {
    /// A private pool of `max(available_parallelism, 2)` threads and a 10 ms time slice.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::WindowsDispatcherConfig;
    ///
    /// let config = WindowsDispatcherConfig::default();
    /// assert!(config.worker_threads.unwrap() >= 2);
    /// assert_eq!(config.time_slice, Duration::from_millis(10));
    /// ```
    fn default() -> Self {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            worker_threads: Some(cpus.max(2)),
            time_slice: Duration::from_millis(10),
        }
    }
}

impl WindowsDispatcherConfig {
    /// The same config with a private thread pool of `count` threads (0 counts as 1).
    ///
    /// ```
    /// use unified_scheduler::WindowsDispatcherConfig;
    /// assert_eq!(WindowsDispatcherConfig::default().worker_threads(1).worker_threads, Some(1));
    /// ```
    #[must_use]
    pub fn worker_threads(mut self, count: usize) -> Self {
        self.worker_threads = Some(count);
        self
    }

    /// The same config on the process-wide Windows thread pool instead of a private one.
    ///
    /// ```
    /// use unified_scheduler::WindowsDispatcherConfig;
    /// assert_eq!(WindowsDispatcherConfig::default().process_pool().worker_threads, None);
    /// ```
    #[must_use]
    pub fn process_pool(mut self) -> Self {
        self.worker_threads = None;
        self
    }

    /// The same config with foreground work run in slices of `slice` per window message.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::WindowsDispatcherConfig;
    ///
    /// let config = WindowsDispatcherConfig::default().time_slice(Duration::from_millis(1));
    /// assert_eq!(config.time_slice, Duration::from_millis(1));
    /// ```
    #[must_use]
    pub fn time_slice(mut self, slice: Duration) -> Self {
        self.time_slice = slice;
        self
    }
}

/// The production [`Scheduler`] for Windows: background tasks and timers on the Windows
/// thread pool, foreground tasks on the main thread (the thread that created the
/// dispatcher) through a message-only window.
///
/// Foreground tasks run whenever the main thread dispatches window messages: in your own
/// message loop, in a modal loop, in [`run_until`](WindowsDispatcher::run_until) (the
/// dispatcher runs the loop itself), or in [`pump_pending`](WindowsDispatcher::pump_pending);
/// and while the main thread is blocked in [`block`](crate::Scheduler#method.block). Dropping the last
/// `Arc` cancels the tasks still queued and waits for running callbacks.
///
/// ```
/// use std::rc::Rc;
/// use std::sync::Arc;
/// use unified_scheduler::{Scheduler, WindowsDispatcher};
///
/// let scheduler: Arc<dyn Scheduler> = Arc::new(WindowsDispatcher::new());
/// let background = scheduler.spawn(async { 6 * 7 });
/// let not_send = Rc::new(1);
/// let foreground = scheduler.spawn_foreground(async move { *not_send });
/// // Blocking on the main thread also runs foreground tasks.
/// assert_eq!(scheduler.block(async { background.await + foreground.await }), 43);
/// ```
pub struct WindowsDispatcher {
    shared: Arc<Shared>,
    /// Handed to every task as its `TaskQueue`.
    inbox: Arc<Inbox>,
    /// The private pool (0 when the config asked for the process-wide pool).
    private_pool: PTP_POOL,
}

/// What the callbacks and the window share with the dispatcher.
struct Shared {
    pool: Mutex<Pool>,
    /// Signalled when a callback stops running runnables after shutdown.
    pool_idle: Condvar,
    /// One callback environment per callback priority.
    envs: CallbackEnvs,
    timers: Mutex<Timers>,
    main: Mutex<MainQueue>,
    /// The message-only window, owned by the main thread.
    hwnd: WindowHandle,
    /// Wakes the main thread when it is parked in `park`/`block`.
    /// The thread that created the dispatcher; woken when foreground work arrives.
    main_thread: MainThread,
    time_slice: Duration,
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

impl ParkSteps for WindowsDispatcher {
    fn run_foreground_slice(&self) -> usize {
        self.shared.run_main_slice()
    }

    /// Raises the private pool's thread limit while this pool thread's task blocks.
    fn lend_pool_thread(&self) {
        self.shared.begin_blocking();
    }
}

impl WindowsDispatcher {
    /// [`with_config`](Self::with_config) with the default config (see
    /// [`PlatformDispatcher`](crate::PlatformDispatcher) for what every dispatcher offers).
    ///
    /// ```
    /// let dispatcher = unified_scheduler::WindowsDispatcher::new();
    /// assert!(format!("{dispatcher:?}").contains("private_pool: true"));
    /// ```
    pub fn new() -> Self {
        Self::with_config(WindowsDispatcherConfig::default())
    }

    /// [`try_with_config`](Self::try_with_config), panicking with the OS error if the
    /// window or the private thread pool cannot be created.
    ///
    /// ```
    /// use unified_scheduler::{WindowsDispatcher, WindowsDispatcherConfig};
    ///
    /// let dispatcher = WindowsDispatcher::with_config(WindowsDispatcherConfig::default().process_pool());
    /// assert!(format!("{dispatcher:?}").contains("private_pool: false"));
    /// ```
    #[track_caller]
    pub fn with_config(config: WindowsDispatcherConfig) -> Self {
        main_thread::started("WindowsDispatcher", Self::try_with_config(config))
    }

    /// A dispatcher with `config`, or the OS error from creating its window or its private
    /// thread pool.
    ///
    /// ```
    /// use unified_scheduler::{WindowsDispatcher, WindowsDispatcherConfig};
    ///
    /// let dispatcher = WindowsDispatcher::try_with_config(WindowsDispatcherConfig::default())?;
    /// # drop(dispatcher);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_with_config(config: WindowsDispatcherConfig) -> io::Result<Self> {
        let (class, _) = window_class()?;
        let (envs, private_pool, threads) = pool::callback_envs(config.worker_threads)?;
        let hwnd = match window::create(class) {
            Ok(hwnd) => hwnd,
            Err(error) => {
                if private_pool != 0 {
                    // SAFETY: nothing was bound to the pool yet.
                    unsafe { CloseThreadpool(private_pool) };
                }
                return Err(error);
            }
        };
        let shared = Arc::new(Shared {
            pool: Mutex::new(Pool::new()),
            pool_idle: Condvar::new(),
            envs,
            timers: Mutex::new(Timers::new()),
            main: Mutex::new(MainQueue::new()),
            hwnd,
            main_thread: MainThread::current(),
            time_slice: config.time_slice,
            threads,
        });
        window::attach(hwnd, shared.clone());
        Ok(Self {
            inbox: Arc::new(Inbox(shared.clone())),
            shared,
            private_pool,
        })
    }

    /// Runs `future` to completion on the main thread while running a Windows message loop:
    /// the dispatcher runs the loop itself. Foreground tasks run (in time slices) and every
    /// other window of the thread keeps getting its messages. A `WM_QUIT` received meanwhile
    /// is posted again once the future is done, so the caller's own loop sees it.
    ///
    /// # Panics
    ///
    /// If called from a thread other than the main thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{Scheduler, WindowsDispatcher};
    ///
    /// let dispatcher = Arc::new(WindowsDispatcher::new());
    /// let scheduler: Arc<dyn Scheduler> = dispatcher.clone();
    /// let inner = scheduler.clone();
    /// let task = scheduler.spawn_foreground(async move {
    ///     inner.timer(Duration::from_millis(1)).await;
    ///     "on main"
    /// });
    /// assert_eq!(dispatcher.run_until(task), "on main");
    /// ```
    #[track_caller]
    pub fn run_until<F: Future>(&self, future: F) -> F::Output {
        self.shared
            .main_thread
            .assert_current("WindowsDispatcher::run_until");
        window::run_message_loop(self.shared.hwnd, pin!(future))
    }

    /// Runs the foreground tasks that are waiting, for at most one time slice (at least one
    /// task if any is waiting); returns how many ran. For message loops that do not dispatch
    /// every message (say, one filtered to its own window) or for a game loop with no
    /// messages at all. Work left over stays queued, with a wake message posted, so the next
    /// call or the next message loop runs it.
    ///
    /// # Panics
    ///
    /// If called from a thread other than the main thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use unified_scheduler::{Scheduler, WindowsDispatcher};
    ///
    /// let dispatcher = Arc::new(WindowsDispatcher::new());
    /// let scheduler: Arc<dyn Scheduler> = dispatcher.clone();
    /// let ran = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..3 {
    ///     let ran = ran.clone();
    ///     scheduler.spawn_foreground(async move { ran.fetch_add(1, Ordering::SeqCst); }).detach();
    /// }
    /// let mut total = 0;
    /// while total < 3 {
    ///     total += dispatcher.pump_pending();
    /// }
    /// assert_eq!(ran.load(Ordering::SeqCst), 3);
    /// ```
    #[track_caller]
    pub fn pump_pending(&self) -> usize {
        self.shared
            .main_thread
            .assert_current("WindowsDispatcher::pump_pending");
        self.shared.run_main_slice()
    }
}

impl Scheduler for WindowsDispatcher {
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
        self.shared.arm_timer(delay, runnable);
    }

    /// Parks the calling thread. On the main thread it first runs the foreground tasks that
    /// are waiting (one time slice) and returns `true` at once if it ran any; scheduling
    /// foreground work unparks it. On a pool thread (a task called `block`) the pool is
    /// first lent one more thread for as long as the task blocks, so blocked tasks never
    /// starve the work they wait for.
    fn park(&self, timeout: Option<Duration>) -> Park {
        main_thread::park(self.shared.main_thread.is_current(), self, timeout)
    }

    /// The calling thread's unparker: it ends a `park` on this same thread.
    fn unparker(&self) -> Unparker {
        thread_parker::unparker()
    }

    fn is_main_thread(&self) -> bool {
        self.shared.main_thread.is_current()
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    /// The private pool's maximum thread count, or the machine's parallelism for the
    /// process-wide pool.
    fn num_cpus(&self) -> usize {
        self.shared.threads
    }

    /// The dispatcher's shared state: a wake then touches no reference count of the
    /// dispatcher, and never runs its `Drop`.
    fn task_queue(&self) -> Option<Arc<dyn TaskQueue>> {
        Some(self.inbox.clone())
    }
}

impl fmt::Debug for WindowsDispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (queued, running) = {
            let pool = self.shared.pool.lock();
            (pool.len(), pool.running)
        };
        let timers = self.shared.timers.lock().heap.len();
        let foreground = self.shared.main.lock().queue.len();
        f.debug_struct("WindowsDispatcher")
            .field("threads", &self.shared.threads)
            .field("private_pool", &(self.private_pool != 0))
            .field("queued", &queued)
            .field("running", &running)
            .field("foreground_queued", &foreground)
            .field("timers", &timers)
            .field("main_thread", &self.shared.main_thread.id())
            .finish_non_exhaustive()
    }
}

const _: fn() = super::follows_the_contract::<WindowsDispatcher>;

/// The same as [`WindowsDispatcher::new`].
///
/// ```
/// let dispatcher = unified_scheduler::WindowsDispatcher::default();
/// # drop(dispatcher);
/// ```
impl Default for WindowsDispatcher {
    fn default() -> Self {
        Self::new()
    }
}
