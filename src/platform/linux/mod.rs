//! `LinuxDispatcher`: a thread pool for background work and a queue into the main thread's
//! calloop event loop for foreground work (feature `linux-calloop`, Linux and the BSDs).
//!
//! # Implementation notes
//!
//! - **Ownership.** The dispatcher owns an `Arc<Shared>`: the pool and the way to the main
//!   thread. Tasks hold clones of it as their [`TaskQueue`], so a wake touches no reference
//!   count; the worker and timer threads hold clones too, never of the dispatcher. So the
//!   user's last `Arc<dyn Scheduler>` runs `Drop`, which shuts everything down, and after
//!   that a wake cancels its task instead of queueing it.
//! - **Pool** ([`pool`]): a work-stealing deque and a LIFO slot per worker, a global queue
//!   for work from other threads, and a parking protocol that wakes one idle worker at a time
//!   and cannot lose a wakeup.
//! - **Priorities** ([`pool`]): background tasks of a priority other than the default wait
//!   in a high lane (`High`, `Realtime`) or a low lane (`Low`) that workers take from
//!   before, or after, the default work, with fixed turns so that no class starves. The
//!   default (`Medium`) path is the one above. Foreground tasks run in the order queued,
//!   whatever their priority.
//! - **Foreground** ([`foreground`]): `schedule_foreground` queues the runnable, pings the
//!   main loop (a calloop `Ping`) and unparks the main thread. The queue is drained on the
//!   main thread only: by the user's `calloop::EventLoop` (see
//!   [`LinuxDispatcher::insert_into`]), or by `park`, and so `block`/`run_until`, called on
//!   the main thread.
//! - **Blocking on the main thread runs foreground tasks.** Unlike gpui, `block` on the main
//!   thread keeps running foreground runnables while it waits, so awaiting a foreground task
//!   from the main thread cannot deadlock; those tasks run inside the blocker's stack, so a
//!   foreground task must not hold a `RefCell` borrow across `block`. On a worker, `block`
//!   first hands the worker's role to a new thread ([`pool`]); elsewhere it only parks the
//!   calling thread.
//! - **Timers** ([`timers`]): one timer thread hands fired runnables to the pool.
//! - **Panics.** Tasks are spawned with async-task's `propagate_panic`, so a panic is caught
//!   and handed to the `Task` awaiter; workers also catch around `run`, so no panic can end
//!   a worker. A destructor that panics while async-task drops a future aborts the process,
//!   as in async-task itself (it drops futures under an abort-on-unwind guard): nothing can
//!   catch that, so nothing pretends to.
//! - **Shutdown** (`Drop`): stop and join the timer thread; take every queue and mark the
//!   pool shut down; close the foreground queue; cancel the taken tasks (so a worker
//!   blocked on one of them is released, and every awaiter hears of it; off the main thread
//!   a foreground task's future is leaked inside its cancelled task, never dropped there);
//!   then join the workers, except the calling thread if it is one of them (it exits after
//!   its current task).

mod foreground;
mod pool;
mod shutdown;
mod timers;

use ::core::fmt;
use ::core::time::Duration;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::io;
use std::thread::{self, JoinHandle};

use calloop::{LoopHandle, RegistrationToken};

use self::foreground::{Foreground, ForegroundSource, MainQueue};
use self::pool::{Deque, Pool, Role, Worker};
use self::timers::Timers;
use crate::core::thread_parker;
use crate::core::{Instant, Park, Runnable, Scheduler, TaskQueue, Unparker, Wake};
use crate::platform::main_thread::{self, ParkSteps};
use crate::sync::Mutex;

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
/// background tasks, a timer thread, and a queue that carries foreground tasks to the main
/// thread (the thread that created the dispatcher) and wakes its calloop event loop.
///
/// Foreground tasks run on the main thread when it is blocked in
/// [`block`](crate::Scheduler#method.block) (or [`run_until`](LinuxDispatcher::run_until)), or when the
/// main thread's own `calloop::EventLoop` dispatches after
/// [`insert_into`](LinuxDispatcher::insert_into). Dropping the last `Arc` stops and joins
/// the threads and cancels the tasks still queued, so their awaiters see the cancellation.
/// Off the main thread, a cancelled foreground task's `!Send` future is leaked rather than
/// dropped on the wrong thread. (A task that holds the scheduler can make a worker drop the
/// last reference, so a program that must drop every foreground future drains them with
/// `block` before dropping.)
///
/// A task woken on a worker goes into that worker's LIFO slot and runs as soon as the
/// current poll returns; no other worker takes it. So a task that blocks its worker thread
/// other than through `block` delays it, as in tokio: keep blocking work off the pool.
/// `block` inside a task is safe, however many tasks do it at once and with a single
/// worker too: as tokio's `block_in_place` does, the blocked thread hands its worker role
/// (queues included) to a new thread, and exits once its task's poll is over.
///
/// Blocking on the main thread runs the other foreground tasks inside the blocker's stack
/// (unlike gpui): a foreground task that holds a `RefCell` borrow across `block` makes a
/// nested foreground task that borrows the same cell panic. Release borrows before blocking.
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
    timers: Arc<Timers>,
    main: MainQueue,
    timer_thread: Option<JoinHandle<()>>,
}

/// What tasks, workers and the timer thread share: where runnables go, and the pool's
/// threads (a worker that blocks in a task hands its role to a new one).
struct Shared {
    pool: Pool,
    foreground: Foreground,
    /// Every pool thread started, still to be joined: workers, and threads that handed
    /// their role on and finish their task.
    threads: Mutex<Vec<JoinHandle<()>>>,
    thread_name: String,
}

impl Shared {
    /// Starts a thread that works as `role`; hands `role` back if the pool is shut down or
    /// the thread cannot be started.
    fn spawn_worker(self: &Arc<Self>, role: Role) -> Result<(), (Role, io::Error)> {
        let mut threads = self.threads.lock();
        // Checked under the lock `Drop` takes the threads with, after it shut the pool
        // down: every thread started here is joined.
        if self.pool.is_shut_down() {
            return Err((role, io::Error::other("the dispatcher is shutting down")));
        }
        // Threads that have exited are joined at once.
        threads.retain(|thread| !thread.is_finished());
        let name = format!("{}-{}", self.thread_name, role.index());
        let handed = Arc::new(Mutex::new(Some(role)));
        let (shared, for_thread) = (self.clone(), handed.clone());
        let spawned = thread::Builder::new().name(name).spawn(move || {
            let role = for_thread
                .lock()
                .take()
                .expect("a role is handed over once");
            Worker::enter(&shared.pool, role).run();
        });
        match spawned {
            Ok(handle) => {
                threads.push(handle);
                Ok(())
            }
            // The closure, and its clone of `handed`, are gone: the role is still here.
            Err(error) => Err((handed.lock().take().expect("never started"), error)),
        }
    }

    /// Hands fired timers to their queues (background ones by priority).
    fn push_fired(&self, fired: &mut Vec<Runnable>) {
        let (foreground, background): (Vec<Runnable>, Vec<Runnable>) = fired
            .drain(..)
            .partition(|runnable| runnable.metadata().foreground);
        self.pool.push_sorted(background);
        foreground.into_iter().for_each(|r| self.foreground.send(r));
    }
}

impl TaskQueue for Shared {
    fn push(&self, runnable: Runnable, wake: Wake) {
        if runnable.metadata().foreground {
            self.foreground.send(runnable);
        } else {
            self.pool.push(runnable, wake);
        }
    }
}

impl ParkSteps for LinuxDispatcher {
    fn run_foreground_slice(&self) -> usize {
        self.main.run(MAIN_BUDGET)
    }

    /// Hands this worker's role, queues included, to a new thread.
    fn lend_pool_thread(&self) {
        if let Some(role) = self.shared.pool.take_role() {
            if let Err((role, _)) = self.shared.spawn_worker(role) {
                // Shutting down, or out of threads: this thread stays the worker; its queued
                // tasks go where the other workers find them.
                self.shared.pool.put_back(role);
            }
        }
    }
}

impl LinuxDispatcher {
    /// [`with_config`](Self::with_config) with the default config (see
    /// [`PlatformDispatcher`](crate::PlatformDispatcher) for what every dispatcher offers).
    ///
    /// ```
    /// let dispatcher = unified_scheduler::LinuxDispatcher::new();
    /// assert!(format!("{dispatcher:?}").contains("idle_workers"));
    /// ```
    pub fn new() -> Self {
        Self::with_config(LinuxDispatcherConfig::default())
    }

    /// [`try_with_config`](Self::try_with_config), panicking with the OS error if the
    /// worker threads or the main loop's event file descriptor cannot be created.
    ///
    /// ```
    /// use unified_scheduler::{LinuxDispatcher, LinuxDispatcherConfig};
    ///
    /// let config = LinuxDispatcherConfig::default().thread_name("indexer");
    /// let dispatcher = LinuxDispatcher::with_config(config);
    /// # drop(dispatcher);
    /// ```
    #[track_caller]
    pub fn with_config(config: LinuxDispatcherConfig) -> Self {
        main_thread::started("LinuxDispatcher", Self::try_with_config(config))
    }

    /// A dispatcher with `config`, or the error from creating the event file descriptor
    /// that wakes the main loop, or from spawning its threads.
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
        let parkers: Vec<(parking::Parker, parking::Unparker)> =
            (0..count).map(|_| parking::pair()).collect();
        let (timer_parker, timer_unparker) = parking::pair();
        let (foreground, main) = Foreground::new()?;
        let deques: Vec<Deque> = (0..count).map(|_| Deque::new_fifo()).collect();
        let shared = Arc::new(Shared {
            pool: Pool::new(&deques, parkers.iter().map(|(_, u)| u.clone()).collect()),
            foreground,
            threads: Mutex::new(Vec::with_capacity(count)),
            thread_name: config.thread_name.clone(),
        });
        let mut dispatcher = Self {
            shared,
            timers: Arc::new(Timers::new(timer_unparker)),
            main,
            timer_thread: None,
        };
        // On an error below, dropping `dispatcher` stops the threads started so far.
        for (index, ((parker, _), deque)) in parkers.into_iter().zip(deques).enumerate() {
            let role = Role::new(&dispatcher.shared.pool, index, deque, parker);
            dispatcher
                .shared
                .spawn_worker(role)
                .map_err(|(_, error)| error)?;
        }
        let (shared, timers) = (dispatcher.shared.clone(), dispatcher.timers.clone());
        let handle = thread::Builder::new()
            .name(format!("{}-timer", config.thread_name))
            .spawn(move || timers::run(&timers, &shared, &timer_parker))?;
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
    pub fn run_until<F: ::core::future::Future>(&self, future: F) -> F::Output {
        self.shared
            .foreground
            .main
            .assert_current("LinuxDispatcher::run_until");
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
        self.shared
            .foreground
            .main
            .assert_current("LinuxDispatcher::insert_into");
        let source = ForegroundSource {
            main: self.main.clone(),
        };
        handle
            .insert_source(source, |(), &mut (), _| {})
            .map_err(|error| error.error)
    }
}

impl Scheduler for LinuxDispatcher {
    fn schedule(&self, runnable: Runnable) {
        self.shared.push(runnable, Wake::Woken);
    }

    fn schedule_foreground(&self, runnable: Runnable) {
        self.shared.foreground.send(runnable);
    }

    fn schedule_after(&self, delay: Duration, runnable: Runnable) {
        if delay.is_zero() {
            return self.schedule(runnable);
        }
        self.timers.add(delay, runnable);
    }

    /// Parks the calling thread. On the main thread it first runs the foreground tasks that
    /// are waiting (up to a budget) and returns at once if it ran any; schedule of
    /// foreground work unparks it. On a worker (a task called `block`) it first hands the
    /// worker's role, queues included, to a new thread, so the pool keeps all its workers
    /// while this thread waits.
    fn park(&self, timeout: Option<Duration>) -> Park {
        main_thread::park(self.shared.foreground.main.is_current(), self, timeout)
    }

    /// The calling thread's unparker: it ends a `park` on this same thread.
    fn unparker(&self) -> Unparker {
        thread_parker::unparker()
    }

    fn is_main_thread(&self) -> bool {
        self.shared.foreground.main.is_current()
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    /// The number of worker threads.
    fn num_cpus(&self) -> usize {
        self.shared.pool.workers()
    }

    /// The dispatcher's shared queues: a wake then touches no reference count.
    fn task_queue(&self) -> Option<Arc<dyn TaskQueue>> {
        Some(self.shared.clone())
    }
}

impl fmt::Debug for LinuxDispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (queued, idle) = self.shared.pool.counts();
        f.debug_struct("LinuxDispatcher")
            .field("workers", &self.shared.pool.workers())
            .field("idle_workers", &idle)
            .field("queued", &queued)
            .field("timers", &self.timers.len())
            .field("main_thread", &self.shared.foreground.main.id())
            .finish_non_exhaustive()
    }
}

const _: fn() = super::follows_the_contract::<LinuxDispatcher>;

/// The same as [`LinuxDispatcher::new`].
///
/// ```
/// let dispatcher = unified_scheduler::LinuxDispatcher::default();
/// # drop(dispatcher);
/// ```
impl Default for LinuxDispatcher {
    fn default() -> Self {
        Self::new()
    }
}
