//! `LinuxDispatcher`: a thread pool for background work and a calloop channel into the main
//! thread's event loop for foreground work (feature `linux-calloop`, Linux and the BSDs).
//!
//! # Implementation notes
//!
//! - **Ownership.** The dispatcher owns an `Arc<Shared>`; its worker threads and its timer
//!   thread hold clones of that `Arc`, never of the dispatcher, and tasks reach the
//!   dispatcher only through a `Weak`. So the user's last `Arc<dyn Scheduler>` runs `Drop`,
//!   which shuts everything down.
//! - **Pool.** One FIFO queue behind one mutex, shared by all workers. Idle workers put
//!   their index on the `idle` stack and park on their own `parking::Parker`. A producer
//!   wakes one idle worker only when no other worker is already on its way (`waking == 0`);
//!   a woken worker that finds more work than it takes wakes the next one. Every decision is
//!   made under the queue lock and parkers keep an unpark that comes before the park, so a
//!   wakeup cannot be lost; nobody spins.
//! - **Foreground.** `schedule_foreground` sends the runnable through a calloop channel and
//!   unparks the main thread. The receiving end is drained on the main thread only: by the
//!   user's `calloop::EventLoop` (see [`LinuxDispatcher::insert_into`]), or by `park`, and
//!   so `block`/`run_until`, called on the main thread.
//! - **Blocking on the main thread runs foreground tasks.** Unlike gpui, `block` on the main
//!   thread keeps running foreground runnables while it waits, so awaiting a foreground task
//!   from the main thread cannot deadlock. Elsewhere `block` only parks the calling thread.
//! - **Timers.** One timer thread keeps a [`TimerHeap`] and sleeps with
//!   `park_deadline` until the earliest deadline. All due timers fire in one wakeup and are
//!   handed to the pool in deadline order; a new timer wakes the thread only if it is due
//!   before the thread would wake anyway. Fired runnables never run on the timer thread, so a
//!   long task cannot delay another timer.
//! - **Panics.** Tasks are spawned with async-task's `propagate_panic`, so a panic is caught
//!   and handed to the `Task` awaiter; workers also catch around `run` and drop, so no panic
//!   can end a worker.
//! - **Shutdown** (`Drop`): stop and join the timer thread; take the queue and mark the pool
//!   shut down in one critical section; drop the taken background runnables (their tasks are
//!   cancelled, so a worker blocked on one of them is released); join the workers, except
//!   the calling thread if it is one of them (it exits after its current task); then drop the
//!   foreground runnables that never ran if we are on the main thread, or leak them if we
//!   are not.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::mem;
use core::panic::AssertUnwindSafe;
use core::time::Duration;
use std::io;
use std::panic::catch_unwind;
use std::sync::mpsc::SendError;
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Instant;

use calloop::channel::{self, Channel, Sender};
use calloop::{
    EventSource, LoopHandle, Poll, PostAction, Readiness, RegistrationToken, Token, TokenFactory,
};

use crate::core::current_thread_id;
use crate::sync::Mutex;
use crate::timers::TimerHeap;
use crate::{Runnable, Scheduler, Unparker};

/// How many foreground runnables one `park` on the main thread runs before it returns, so a
/// task that yields forever cannot keep `block` from polling its own future.
const MAIN_BUDGET: usize = 64;

/// The knobs of a [`LinuxDispatcher`].
///
/// ```
/// use unified_scheduler::LinuxDispatcherConfig;
///
/// let config = LinuxDispatcherConfig::default().worker_threads(3);
/// assert_eq!(config.worker_threads, 3);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinuxDispatcherConfig {
    /// How many worker threads run background tasks; at least 1 is used. The default is
    /// the machine's available parallelism, but at least 2.
    pub worker_threads: usize,
    /// The name of the worker threads (the timer thread gets `"{name}-timer"`).
    pub thread_name: String,
}

impl Default for LinuxDispatcherConfig {
    /// `max(available_parallelism, 2)` workers named `"unified-scheduler"`.
    ///
    /// ```
    /// use unified_scheduler::LinuxDispatcherConfig;
    /// assert!(LinuxDispatcherConfig::default().worker_threads >= 2);
    /// ```
    fn default() -> Self {
        let cpus = thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            worker_threads: cpus.max(2),
            thread_name: String::from("unified-scheduler"),
        }
    }
}

impl LinuxDispatcherConfig {
    /// The same config with `count` worker threads (0 counts as 1).
    ///
    /// ```
    /// use unified_scheduler::LinuxDispatcherConfig;
    /// assert_eq!(LinuxDispatcherConfig::default().worker_threads(1).worker_threads, 1);
    /// ```
    #[must_use]
    pub fn worker_threads(mut self, count: usize) -> Self {
        self.worker_threads = count;
        self
    }

    /// The same config with worker threads named `name`.
    ///
    /// ```
    /// use unified_scheduler::LinuxDispatcherConfig;
    /// let config = LinuxDispatcherConfig::default().thread_name("indexer");
    /// assert_eq!(config.thread_name, "indexer");
    /// ```
    #[must_use]
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }
}

/// The production [`Scheduler`] for Linux and the BSDs: a pool of worker threads for
/// background tasks, a timer thread, and a calloop channel that carries foreground tasks to
/// the main thread (the thread that created the dispatcher).
///
/// Foreground tasks run on the main thread when it is blocked in
/// [`block`](crate::Scheduler#method.block) (or [`run_until`](LinuxDispatcher::run_until)), or when the
/// main thread's own `calloop::EventLoop` dispatches after
/// [`insert_into`](LinuxDispatcher::insert_into). Dropping the last `Arc` stops and joins
/// the threads and cancels the tasks still queued. Queued foreground tasks are dropped only
/// if that happens on the main thread; elsewhere they are leaked, never dropped on the wrong
/// thread. (The last reference can be a waker's for an instant on a worker thread, so a
/// program that must not leak foreground work drains it with `block` before dropping.)
///
/// ```
/// use std::rc::Rc;
/// use std::sync::Arc;
/// use unified_scheduler::{LinuxDispatcher, Scheduler};
///
/// let scheduler: Arc<dyn Scheduler> = Arc::new(LinuxDispatcher::new());
/// let background = scheduler.spawn(async { 6 * 7 });
/// let not_send = Rc::new(1);
/// let foreground = scheduler.spawn_foreground(async move { *not_send });
/// // Blocking on the main thread also runs foreground tasks.
/// assert_eq!(scheduler.block(async { background.await + foreground.await }), 43);
/// ```
pub struct LinuxDispatcher {
    shared: Arc<Shared>,
    main: Arc<MainQueue>,
    main_thread: ThreadId,
    workers: Vec<JoinHandle<()>>,
    timer_thread: Option<JoinHandle<()>>,
}

/// What the worker and timer threads share with the dispatcher.
struct Shared {
    pool: Mutex<Pool>,
    /// One per worker, by index.
    worker_unparkers: Box<[parking::Unparker]>,
    timers: Mutex<Timers>,
    timer_unparker: parking::Unparker,
    foreground: Sender<Runnable>,
    /// Wakes the main thread when it is parked in `park`/`block`.
    main_unparker: Unparker,
}

struct Pool {
    queue: VecDeque<Runnable>,
    /// Indices of parked workers, most recently parked last.
    idle: Vec<usize>,
    /// Workers taken off `idle` and unparked that have not yet looked at the queue.
    waking: usize,
    shutdown: bool,
}

struct Timers {
    heap: TimerHeap<Instant>,
    /// Timers too far away for `Instant` to represent: they never fire.
    never: Vec<Runnable>,
    sleep: TimerSleep,
    shutdown: bool,
}

/// What the timer thread is doing, so `schedule_after` unparks it only when needed.
#[derive(Clone, Copy)]
enum TimerSleep {
    /// It will look at the heap before it sleeps again.
    Awake,
    /// Parked until this instant.
    Until(Instant),
    /// Parked with no timer pending.
    Forever,
}

/// The receiving end of the foreground channel, used only on the main thread.
struct MainQueue {
    state: Mutex<MainState>,
}

struct MainState {
    channel: Channel<Runnable>,
    /// Received by the user's event loop, not yet run (FIFO before the channel).
    pending: VecDeque<Runnable>,
    /// Whether the channel is registered with a user's `calloop::EventLoop`.
    inserted: bool,
}

impl MainQueue {
    fn next(&self) -> Option<Runnable> {
        let mut state = self.state.lock();
        match state.pending.pop_front() {
            Some(runnable) => Some(runnable),
            None => state.channel.try_recv().ok(),
        }
    }

    fn drain(&self) -> Vec<Runnable> {
        let mut state = self.state.lock();
        let mut all: Vec<Runnable> = state.pending.drain(..).collect();
        while let Ok(runnable) = state.channel.try_recv() {
            all.push(runnable);
        }
        all
    }
}

std::thread_local! {
    /// The parker `park` uses on this thread, and its unparker as handed out by `unparker`.
    static PARKER: (parking::Parker, Unparker) = {
        let (parker, unparker) = parking::pair();
        (parker, Unparker::from(unparker))
    };
}

/// Runs a runnable; a panic (already caught by async-task for spawned tasks) never unwinds
/// into the worker loop.
fn run_guarded(runnable: Runnable) {
    let _ = catch_unwind(AssertUnwindSafe(|| runnable.run()));
}

/// Drops a runnable (cancelling its task); a panicking destructor does not unwind further.
fn drop_guarded(runnable: Runnable) {
    let _ = catch_unwind(AssertUnwindSafe(|| drop(runnable)));
}

impl Default for LinuxDispatcher {
    fn default() -> Self {
        Self::new()
    }
}

impl LinuxDispatcher {
    /// A dispatcher with the default config; the calling thread becomes its main thread.
    ///
    /// # Panics
    ///
    /// If the threads or the calloop channel cannot be created; see
    /// [`try_with_config`](LinuxDispatcher::try_with_config).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{LinuxDispatcher, Scheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(LinuxDispatcher::new());
    /// assert!(scheduler.is_main_thread());
    /// ```
    pub fn new() -> Self {
        Self::with_config(LinuxDispatcherConfig::default())
    }

    /// A dispatcher with `config`; the calling thread becomes its main thread.
    ///
    /// # Panics
    ///
    /// If the threads or the calloop channel cannot be created.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{LinuxDispatcher, LinuxDispatcherConfig, Scheduler};
    ///
    /// let config = LinuxDispatcherConfig::default().worker_threads(1);
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(LinuxDispatcher::with_config(config));
    /// assert_eq!(scheduler.num_cpus(), 1);
    /// ```
    pub fn with_config(config: LinuxDispatcherConfig) -> Self {
        match Self::try_with_config(config) {
            Ok(dispatcher) => dispatcher,
            Err(error) => panic!("cannot start the LinuxDispatcher's threads: {error}"),
        }
    }

    /// A dispatcher with `config`, or the error from spawning its threads.
    ///
    /// # Panics
    ///
    /// If calloop cannot create the channel's event file descriptor.
    ///
    /// ```
    /// use unified_scheduler::{LinuxDispatcher, LinuxDispatcherConfig};
    ///
    /// let dispatcher = LinuxDispatcher::try_with_config(LinuxDispatcherConfig::default())?;
    /// # drop(dispatcher);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn try_with_config(config: LinuxDispatcherConfig) -> io::Result<Self> {
        let count = config.worker_threads.max(1);
        let (sender, channel) = channel::channel();
        let parkers: Vec<(parking::Parker, parking::Unparker)> =
            (0..count).map(|_| parking::pair()).collect();
        let (timer_parker, timer_unparker) = parking::pair();
        let shared = Arc::new(Shared {
            pool: Mutex::new(Pool {
                queue: VecDeque::with_capacity(1024),
                idle: Vec::with_capacity(count),
                waking: 0,
                shutdown: false,
            }),
            worker_unparkers: parkers.iter().map(|(_, u)| u.clone()).collect(),
            timers: Mutex::new(Timers {
                heap: TimerHeap::new(),
                never: Vec::new(),
                sleep: TimerSleep::Awake,
                shutdown: false,
            }),
            timer_unparker,
            foreground: sender,
            main_unparker: PARKER.with(|(_, unparker)| unparker.clone()),
        });
        let main = Arc::new(MainQueue {
            state: Mutex::new(MainState {
                channel,
                pending: VecDeque::new(),
                inserted: false,
            }),
        });
        let mut dispatcher = Self {
            shared,
            main,
            main_thread: current_thread_id(),
            workers: Vec::with_capacity(count),
            timer_thread: None,
        };
        // On an error below, dropping `dispatcher` stops the threads started so far.
        for (index, (parker, _)) in parkers.into_iter().enumerate() {
            let shared = dispatcher.shared.clone();
            let handle = thread::Builder::new()
                .name(format!("{}-{index}", config.thread_name))
                .spawn(move || worker_loop(&shared, index, &parker))?;
            dispatcher.workers.push(handle);
        }
        let shared = dispatcher.shared.clone();
        let handle = thread::Builder::new()
            .name(format!("{}-timer", config.thread_name))
            .spawn(move || timer_loop(&shared, &timer_parker))?;
        dispatcher.timer_thread = Some(handle);
        Ok(dispatcher)
    }

    /// Runs `future` to completion on the main thread, running foreground tasks while it
    /// waits: the dispatcher drives the main loop itself. The same as
    /// [`block`](crate::Scheduler#method.block) called on the main thread.
    ///
    /// # Panics
    ///
    /// If called from a thread other than the main thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{LinuxDispatcher, Scheduler};
    ///
    /// let dispatcher = Arc::new(LinuxDispatcher::new());
    /// let scheduler: Arc<dyn Scheduler> = dispatcher.clone();
    /// let task = scheduler.spawn_foreground(async { "on main" });
    /// assert_eq!(dispatcher.run_until(task), "on main");
    /// ```
    #[track_caller]
    pub fn run_until<F: core::future::Future>(&self, future: F) -> F::Output {
        assert!(
            self.is_main_thread(),
            "LinuxDispatcher::run_until must be called on the main thread (the thread that \
             created the dispatcher)"
        );
        (self as &dyn Scheduler).block(future)
    }

    /// Inserts the dispatcher's foreground source into the main thread's own calloop
    /// `EventLoop`, so the loop runs foreground tasks as they arrive, between its other
    /// sources (Wayland, X11, ...). Returns the token to remove it with.
    ///
    /// Blocking on the main thread still runs foreground tasks too. The source can be
    /// inserted into one loop at a time; it goes away when the dispatcher is dropped.
    ///
    /// # Errors
    ///
    /// calloop's error if the source cannot be registered, or if it already is (an
    /// `OtherError`).
    ///
    /// # Panics
    ///
    /// If called from a thread other than the main thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{LinuxDispatcher, Scheduler};
    ///
    /// let mut event_loop = calloop::EventLoop::<bool>::try_new().unwrap();
    /// let dispatcher = Arc::new(LinuxDispatcher::new());
    /// dispatcher.insert_into(&event_loop.handle()).unwrap();
    ///
    /// let scheduler: Arc<dyn Scheduler> = dispatcher.clone();
    /// scheduler.spawn_foreground(async { println!("hello from the main loop") }).detach();
    /// let stop = event_loop.get_signal();
    /// scheduler
    ///     .spawn_foreground(async move { stop.stop() })
    ///     .detach();
    /// let mut done = false;
    /// event_loop.run(None, &mut done, |_| {}).unwrap();
    /// ```
    #[track_caller]
    pub fn insert_into<Data>(
        &self,
        handle: &LoopHandle<'_, Data>,
    ) -> calloop::Result<RegistrationToken> {
        assert!(
            self.is_main_thread(),
            "LinuxDispatcher::insert_into must be called on the main thread (the thread that \
             created the dispatcher)"
        );
        let source = ForegroundSource {
            main: self.main.clone(),
        };
        handle
            .insert_source(source, |(), &mut (), _| {})
            .map_err(|error| error.error)
    }

    /// Runs the foreground runnables that are waiting, up to `budget`; how many ran.
    fn run_main_queue(&self, budget: usize) -> usize {
        let mut ran = 0;
        while ran < budget {
            match self.main.next() {
                Some(runnable) => runnable.run(),
                None => break,
            };
            ran += 1;
        }
        ran
    }
}

impl Shared {
    fn push(&self, runnable: Runnable) {
        let mut pool = self.pool.lock();
        pool.queue.push_back(runnable);
        let wake = pool.wake_one();
        drop(pool);
        if let Some(worker) = wake {
            self.worker_unparkers[worker].unpark();
        }
    }

    fn push_batch(&self, runnables: &mut Vec<Runnable>) {
        let mut foreground = Vec::new();
        let mut pool = self.pool.lock();
        for runnable in runnables.drain(..) {
            if runnable.metadata().foreground {
                foreground.push(runnable);
            } else {
                pool.queue.push_back(runnable);
            }
        }
        let wake = pool.wake_one();
        drop(pool);
        if let Some(worker) = wake {
            self.worker_unparkers[worker].unpark();
        }
        for runnable in foreground {
            self.send_foreground(runnable);
        }
    }

    fn send_foreground(&self, runnable: Runnable) {
        if let Err(SendError(runnable)) = self.foreground.send(runnable) {
            // The receiver lives as long as the dispatcher, and only a live dispatcher
            // schedules, so this cannot happen. If it did, we may be on a thread where the
            // `!Send` future must not be dropped: leak it.
            mem::forget(runnable);
        }
        self.main_unparker.unpark();
    }
}

impl Pool {
    /// Takes one idle worker to unpark, unless another one is already waking up.
    fn wake_one(&mut self) -> Option<usize> {
        if self.waking > 0 || self.queue.is_empty() {
            return None;
        }
        let worker = self.idle.pop()?;
        self.waking += 1;
        Some(worker)
    }
}

fn worker_loop(shared: &Shared, index: usize, parker: &parking::Parker) {
    let mut pool = shared.pool.lock();
    loop {
        if let Some(runnable) = pool.queue.pop_front() {
            let wake = pool.wake_one();
            drop(pool);
            if let Some(worker) = wake {
                shared.worker_unparkers[worker].unpark();
            }
            run_guarded(runnable);
            pool = shared.pool.lock();
            continue;
        }
        if pool.shutdown {
            return;
        }
        pool.idle.push(index);
        drop(pool);
        parker.park();
        pool = shared.pool.lock();
        match pool.idle.iter().position(|&worker| worker == index) {
            // Unparked by shutdown or spuriously: still listed as idle.
            Some(at) => {
                pool.idle.swap_remove(at);
            }
            // Taken off `idle` by a producer, which counted us as waking.
            None => pool.waking -= 1,
        }
    }
}

fn timer_loop(shared: &Shared, parker: &parking::Parker) {
    let mut fired = Vec::new();
    loop {
        let mut timers = shared.timers.lock();
        timers.sleep = TimerSleep::Awake;
        if timers.shutdown {
            return;
        }
        let now = Instant::now();
        while let Some((_, runnable)) = timers.heap.pop_due(now) {
            fired.push(runnable);
        }
        if !fired.is_empty() {
            drop(timers);
            shared.push_batch(&mut fired);
            continue;
        }
        match timers.heap.next_deadline() {
            Some(deadline) => {
                timers.sleep = TimerSleep::Until(deadline);
                drop(timers);
                parker.park_deadline(deadline);
            }
            None => {
                timers.sleep = TimerSleep::Forever;
                drop(timers);
                parker.park();
            }
        }
    }
}

impl Scheduler for LinuxDispatcher {
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
        let mut timers = self.shared.timers.lock();
        let Some(deadline) = Instant::now().checked_add(delay) else {
            timers.never.push(runnable);
            return;
        };
        timers.heap.push(deadline, runnable);
        let wake = match timers.sleep {
            TimerSleep::Awake => false,
            TimerSleep::Forever => true,
            TimerSleep::Until(wake_at) => deadline < wake_at,
        };
        if wake {
            timers.sleep = TimerSleep::Awake;
        }
        drop(timers);
        if wake {
            self.shared.timer_unparker.unpark();
        }
    }

    /// Parks the calling thread. On the main thread it first runs the foreground tasks that
    /// are waiting (up to a budget) and returns `true` at once if it ran any; schedule of
    /// foreground work unparks it.
    fn park(&self, timeout: Option<Duration>) -> bool {
        if self.is_main_thread() && self.run_main_queue(MAIN_BUDGET) > 0 {
            return true;
        }
        PARKER.with(|(parker, _)| match timeout {
            None => {
                parker.park();
                true
            }
            Some(timeout) => parker.park_timeout(timeout),
        })
    }

    /// The calling thread's unparker: it ends a `park` on this same thread.
    fn unparker(&self) -> Unparker {
        PARKER.with(|(_, unparker)| unparker.clone())
    }

    fn is_main_thread(&self) -> bool {
        current_thread_id() == self.main_thread
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    /// The number of worker threads.
    fn num_cpus(&self) -> usize {
        self.shared.worker_unparkers.len()
    }
}

impl Drop for LinuxDispatcher {
    fn drop(&mut self) {
        let here = current_thread_id();
        // 1. The timer thread runs no user code, so joining it cannot deadlock.
        self.shared.timers.lock().shutdown = true;
        self.shared.timer_unparker.unpark();
        if let Some(handle) = self.timer_thread.take() {
            let _ = handle.join();
        }
        let mut dropped: Vec<Runnable> = {
            let mut timers = self.shared.timers.lock();
            let mut all: Vec<Runnable> = timers.heap.drain().collect();
            all.append(&mut timers.never);
            all
        };
        // 2. Stop the pool and take its queue in one step: a worker finds either work from
        // before the shutdown or the shutdown itself.
        {
            let mut pool = self.shared.pool.lock();
            pool.shutdown = true;
            dropped.extend(pool.queue.drain(..));
        }
        for unparker in self.shared.worker_unparkers.iter() {
            unparker.unpark();
        }
        // 3. Cancel the background tasks before joining, so a worker blocked on one of them
        // sees the cancellation and returns. Nothing can queue more: tasks reach the
        // dispatcher through a `Weak`, which no longer upgrades.
        let mut foreground = Vec::new();
        for runnable in dropped {
            if runnable.metadata().foreground {
                foreground.push(runnable);
            } else {
                drop_guarded(runnable);
            }
        }
        // 4. Join the workers; a worker dropping the dispatcher exits after its current task.
        for handle in self.workers.drain(..) {
            if handle.thread().id() != here {
                let _ = handle.join();
            }
        }
        // 5. Foreground runnables that never ran.
        foreground.extend(self.main.drain());
        if here == self.main_thread {
            foreground.into_iter().for_each(drop_guarded);
        } else {
            // Leak them: a `!Send` future may only be dropped on its own thread, and we are
            // not on the main thread. Their awaiters (on the main thread) never resolve.
            foreground.into_iter().for_each(mem::forget);
        }
    }
}

impl fmt::Debug for LinuxDispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (queued, idle) = {
            let pool = self.shared.pool.lock();
            (pool.queue.len(), pool.idle.len())
        };
        let timers = self.shared.timers.lock().heap.len();
        f.debug_struct("LinuxDispatcher")
            .field("workers", &self.shared.worker_unparkers.len())
            .field("idle_workers", &idle)
            .field("queued", &queued)
            .field("timers", &timers)
            .field("main_thread", &self.main_thread)
            .finish_non_exhaustive()
    }
}

/// The event source `insert_into` registers: the foreground channel, run on dispatch.
struct ForegroundSource {
    main: Arc<MainQueue>,
}

impl ForegroundSource {
    fn already_inserted() -> calloop::Error {
        calloop::Error::OtherError(
            "the LinuxDispatcher's foreground source is already in an event loop".into(),
        )
    }
}

impl EventSource for ForegroundSource {
    type Event = ();
    type Metadata = ();
    type Ret = ();
    type Error = channel::ChannelError;

    fn process_events<C>(
        &mut self,
        readiness: Readiness,
        token: Token,
        _callback: C,
    ) -> Result<PostAction, Self::Error>
    where
        C: FnMut((), &mut ()),
    {
        let (action, received) = {
            let mut state = self.main.state.lock();
            let MainState {
                channel, pending, ..
            } = &mut *state;
            let before = pending.len();
            let action = channel.process_events(readiness, token, |event, &mut ()| {
                if let channel::Event::Msg(runnable) = event {
                    pending.push_back(runnable);
                }
            })?;
            (action, pending.len() - before)
        };
        // Run what this dispatch received (and what was left from before, first). Newer
        // runnables pinged the loop and run on its next dispatch, so other sources get
        // their turn. The lock is not held while a task runs: it may block or spawn.
        for _ in 0..received {
            match self.main.next() {
                Some(runnable) => runnable.run(),
                None => break,
            };
        }
        Ok(action)
    }

    fn register(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        let mut state = self.main.state.lock();
        if state.inserted {
            return Err(Self::already_inserted());
        }
        state.channel.register(poll, factory)?;
        state.inserted = true;
        Ok(())
    }

    fn reregister(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        self.main.state.lock().channel.reregister(poll, factory)
    }

    fn unregister(&mut self, poll: &mut Poll) -> calloop::Result<()> {
        let mut state = self.main.state.lock();
        state.channel.unregister(poll)?;
        state.inserted = false;
        Ok(())
    }
}
