//! `TestScheduler`: one thread, seeded random order, virtual time.
//!
//! Every choice comes from one ChaCha8 stream seeded with a `u64` (see `rng.rs`), so a seed
//! and a program give one schedule. Tasks run only on the thread that ticks the scheduler;
//! wakers and `schedule` may be called from anywhere (the state is behind a lock).

mod block;
mod config;
mod delay;
mod rng;
#[cfg(feature = "std")]
mod runner;
mod tasks;
mod trace;

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::time::Duration;

pub use config::TestSchedulerConfig;
pub use delay::RandomDelay;
#[cfg(feature = "std")]
pub use runner::SeedFailure;
pub use tasks::LiveTask;

use crate::sync::{Mutex, MutexGuard};
use crate::timers::TimerHeap;
use crate::{Runnable, TaskLabel};
use rng::SeededRng;
use tasks::TaskTable;
use trace::Trace;

/// A deterministic scheduler for tests: seeded random interleaving, virtual time, labels
/// that can be deprioritized, task lifecycle tracking, and failures that name their seed.
///
/// Use it through `Arc<dyn Scheduler>` like any scheduler; the test controls
/// ([`tick`](Self::tick), [`run_until_parked`](Self::run_until_parked),
/// [`advance_clock`](Self::advance_clock), ...) are on the type itself, and the runners
/// ([`once`](Self::once), [`with_seed`](Self::with_seed), [`many`](Self::many)) run an async
/// test body over seeds and print a replay command when one fails.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use unified_scheduler::{Scheduler, TestScheduler};
///
/// TestScheduler::many(20, |test| async move {
///     let scheduler: Arc<dyn Scheduler> = test.clone();
///     let start = scheduler.now();
///     let a = scheduler.spawn(async { 1 });
///     let b = scheduler.spawn(async { 2 });
///     scheduler.timer(Duration::from_secs(3600)).await; // virtual: no real waiting
///     assert_eq!(a.await + b.await, 3);
///     assert_eq!(scheduler.now() - start, Duration::from_secs(3600));
/// });
/// ```
pub struct TestScheduler {
    state: Mutex<State>,
    /// Set while a background runnable runs, for `is_main_thread`.
    running_background: AtomicBool,
    /// The end of the task `run_next` ran last, not yet applied to the task table (0: none).
    /// Only `std` builds collect ends this way (32-bit embedded targets lack 64-bit atomics).
    #[cfg(feature = "std")]
    pending_end: core::sync::atomic::AtomicU64,
    /// The next task id: 1, 2, 3, ... in spawn order (no lock needed to spawn). `usize`:
    /// 32-bit embedded targets have no 64-bit atomics.
    next_task_id: AtomicUsize,
    /// What `Scheduler::park` waits for; set by `Scheduler::unparker`.
    unparked: Arc<block::WakeFlag>,
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // no threads to tell apart
    owner: block::Owner,
}

struct State {
    config: TestSchedulerConfig,
    rng: SeededRng,
    /// Virtual time since the scheduler was made.
    elapsed: Duration,
    /// Background runnables; with `randomize_order` off, every runnable, in FIFO order.
    ready: VecDeque<Runnable>,
    /// Main-thread runnables, FIFO among themselves (used with `randomize_order` on).
    foreground: VecDeque<Runnable>,
    /// Runnables whose label was deprioritized when they were scheduled.
    deprioritized: VecDeque<Runnable>,
    deprioritized_labels: Vec<TaskLabel>,
    timers: TimerHeap<Duration>,
    tasks: TaskTable,
    trace: Trace,
    waiting_hint: Option<String>,
    panicked: Vec<LiveTask>,
    /// A failure found off the test's thread, raised on it at the next tick.
    pending_failure: Option<String>,
}

/// A random-number stream forked from the scheduler's seed, for tests to draw their own
/// deterministic numbers; from [`TestScheduler::rng`].
///
/// ```
/// use unified_scheduler::{TestScheduler, TestSchedulerConfig};
///
/// let draw = |seed| TestScheduler::with_config(TestSchedulerConfig::new().seed(seed)).rng().next_u64();
/// assert_eq!(draw(1), draw(1));
/// assert_ne!(draw(1), draw(2));
/// ```
pub struct TestRng(SeededRng);

impl TestRng {
    /// The next 64 random bits.
    ///
    /// ```
    /// use unified_scheduler::TestScheduler;
    /// let mut rng = TestScheduler::new().rng();
    /// let _ = rng.next_u64();
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n`.
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    ///
    /// ```
    /// use unified_scheduler::TestScheduler;
    /// let mut rng = TestScheduler::new().rng();
    /// assert!(rng.below(10) < 10);
    /// ```
    #[track_caller]
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "TestRng::below(0): the range 0..0 is empty");
        self.0.below(n)
    }
}

impl fmt::Debug for TestRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestRng").finish_non_exhaustive()
    }
}

impl Default for TestScheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl TestScheduler {
    /// A scheduler with the default config (seed 0, random order).
    ///
    /// ```
    /// use unified_scheduler::TestScheduler;
    /// assert_eq!(TestScheduler::new().seed(), 0);
    /// ```
    pub fn new() -> Self {
        Self::with_config(TestSchedulerConfig::new())
    }

    /// A scheduler with `config`. The calling thread becomes the test's thread: tasks run
    /// on whichever thread ticks, but wakes from other threads are reported as
    /// non-determinism unless parking is allowed.
    ///
    /// ```
    /// use unified_scheduler::{TestScheduler, TestSchedulerConfig};
    /// let test = TestScheduler::with_config(TestSchedulerConfig::new().seed(3));
    /// assert_eq!(test.seed(), 3);
    /// ```
    pub fn with_config(config: TestSchedulerConfig) -> Self {
        let state = State {
            rng: SeededRng::new(config.seed),
            config,
            elapsed: Duration::ZERO,
            ready: VecDeque::new(),
            foreground: VecDeque::new(),
            deprioritized: VecDeque::new(),
            deprioritized_labels: Vec::new(),
            timers: TimerHeap::new(),
            tasks: TaskTable::new(),
            trace: Trace::new(),
            waiting_hint: None,
            panicked: Vec::new(),
            pending_failure: None,
        };
        let owner = block::Owner::current();
        Self {
            state: Mutex::new(state),
            running_background: AtomicBool::new(false),
            next_task_id: AtomicUsize::new(1),
            #[cfg(feature = "std")]
            pending_end: core::sync::atomic::AtomicU64::new(0),
            unparked: Arc::new(block::WakeFlag::new(&owner)),
            owner,
        }
    }

    /// The seed this scheduler draws every choice from.
    ///
    /// ```
    /// use unified_scheduler::{TestScheduler, TestSchedulerConfig};
    /// assert_eq!(TestScheduler::with_config(TestSchedulerConfig::new().seed(5)).seed(), 5);
    /// ```
    pub fn seed(&self) -> u64 {
        self.lock().config.seed
    }

    /// Runs one runnable, chosen by the seeded RNG among the ready background runnables and
    /// the head of the foreground queue (deprioritized ones only if there is nothing else).
    /// Timers that are due fire first, in deadline order. `true` if something ran.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// let task = scheduler.spawn(async { 1 });
    /// assert!(test.tick());
    /// assert!(task.is_finished());
    /// assert!(!test.tick());
    /// ```
    pub fn tick(&self) -> bool {
        self.run_next(false)
    }

    /// Like [`tick`](Self::tick), but never runs a foreground runnable.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// let fg = scheduler.spawn_foreground(async {});
    /// assert!(!test.tick_background_only());
    /// assert!(test.tick());
    /// assert!(fg.is_finished());
    /// ```
    pub fn tick_background_only(&self) -> bool {
        self.run_next(true)
    }

    /// Ticks until nothing can run without moving the clock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// let inner = scheduler.clone();
    /// let task = scheduler.spawn(async move { inner.spawn(async { 2 }).await * 2 });
    /// test.run_until_parked();
    /// assert!(task.is_finished());
    /// ```
    pub fn run_until_parked(&self) {
        while self.tick() {}
    }

    /// Moves virtual time forward by `duration`: timers fire in deadline order (ties in the
    /// order they were scheduled), each at its own instant, with ready work run between them.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// let start = scheduler.now();
    /// let timer = scheduler.timer(Duration::from_millis(10));
    /// test.advance_clock(Duration::from_millis(9));
    /// assert!(!timer.is_finished());
    /// test.advance_clock(Duration::from_millis(1));
    /// assert!(timer.is_finished());
    /// assert_eq!(scheduler.now() - start, Duration::from_millis(10));
    /// ```
    pub fn advance_clock(&self, duration: Duration) {
        let target = self.lock().elapsed.saturating_add(duration);
        loop {
            self.run_until_parked();
            let mut state = self.lock();
            match state.timers.next_deadline() {
                Some(deadline) if deadline <= target => {
                    state.elapsed = state.elapsed.max(deadline);
                }
                _ => {
                    state.elapsed = state.elapsed.max(target);
                    break;
                }
            }
        }
        self.run_until_parked();
    }

    /// From now on, tasks with `label` run only when nothing else can, every time they are
    /// scheduled.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use unified_scheduler::{Scheduler, TaskLabel, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// let slow = TaskLabel::new();
    /// test.deprioritize(slow);
    /// let order = Arc::new(Mutex::new(Vec::new()));
    /// let o = order.clone();
    /// scheduler.spawn_labeled(slow, async move { o.lock().unwrap().push("slow") }).detach();
    /// for _ in 0..3 {
    ///     let o = order.clone();
    ///     scheduler.spawn(async move { o.lock().unwrap().push("fast") }).detach();
    /// }
    /// test.run_until_parked();
    /// assert_eq!(*order.lock().unwrap(), ["fast", "fast", "fast", "slow"]);
    /// ```
    pub fn deprioritize(&self, label: TaskLabel) {
        let mut state = self.lock();
        if !state.deprioritized_labels.contains(&label) {
            state.deprioritized_labels.push(label);
        }
    }

    /// Whether the task is running: spawned, and its future neither finished nor dropped.
    /// A task dropped while waiting stops running once the scheduler has dropped its
    /// future (at the next `tick`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// let task = scheduler.spawn(async {});
    /// let id = task.id();
    /// assert!(test.is_task_running(id));
    /// test.run_until_parked();
    /// assert!(!test.is_task_running(id));
    /// ```
    pub fn is_task_running(&self, id: crate::TaskId) -> bool {
        self.lock().tasks.is_running(id)
    }

    /// Every task that is running, in spawn order.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// let _waiting = scheduler.spawn(std::future::pending::<()>());
    /// test.run_until_parked();
    /// assert_eq!(test.live_tasks().len(), 1);
    /// ```
    pub fn live_tasks(&self) -> Vec<LiveTask> {
        self.lock().tasks.live().collect()
    }

    /// A future that yields a seeded number of times (0 to 9), so that other tasks may run
    /// in between: sprinkle it where a real system could be slow.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// let delay = test.simulate_random_delay();
    /// scheduler.block(async move { delay.await });
    /// ```
    pub fn simulate_random_delay(&self) -> RandomDelay {
        RandomDelay::new(self.lock().rng.below(10))
    }

    /// A random stream forked from this scheduler's seed, for the test's own choices.
    ///
    /// ```
    /// use unified_scheduler::TestScheduler;
    /// let mut rng = TestScheduler::new().rng();
    /// assert!(rng.below(6) < 6);
    /// ```
    pub fn rng(&self) -> TestRng {
        TestRng(SeededRng::new(self.lock().rng.next_u64()))
    }

    /// Says what the test is waiting for; shown when a `block` gets stuck.
    ///
    /// ```
    /// use unified_scheduler::TestScheduler;
    /// let test = TestScheduler::new();
    /// test.set_waiting_hint(Some("the server's reply"));
    /// test.set_waiting_hint(None::<String>);
    /// ```
    pub fn set_waiting_hint(&self, hint: Option<impl Into<String>>) {
        self.lock().waiting_hint = hint.map(Into::into);
    }

    /// Lets a `block` that cannot progress wait for real wakes from other threads (real
    /// I/O), and stops reporting such wakes as non-determinism.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// test.allow_parking();
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// let (tx, rx) = async_channel_like();
    /// std::thread::spawn(move || tx.send(5).unwrap());
    /// assert_eq!(scheduler.block(rx), 5);
    /// # fn async_channel_like() -> (std::sync::mpsc::Sender<i32>, impl std::future::Future<Output = i32>) {
    /// #     let (tx, rx) = std::sync::mpsc::channel();
    /// #     let (wtx, wrx) = std::sync::mpsc::channel::<std::task::Waker>();
    /// #     let (otx, orx) = std::sync::mpsc::channel();
    /// #     std::thread::spawn(move || { let v = rx.recv().unwrap(); otx.send(v).unwrap(); if let Ok(w) = wrx.recv() { w.wake() } });
    /// #     let mut wtx = Some(wtx);
    /// #     (tx, std::future::poll_fn(move |cx| match orx.try_recv() {
    /// #         Ok(v) => std::task::Poll::Ready(v),
    /// #         Err(_) => { if let Some(w) = wtx.take() { w.send(cx.waker().clone()).unwrap(); } match orx.try_recv() { Ok(v) => std::task::Poll::Ready(v), Err(_) => std::task::Poll::Pending } }
    /// #     }))
    /// # }
    /// ```
    pub fn allow_parking(&self) {
        self.lock().config.allow_parking = true;
    }

    /// Undoes [`allow_parking`](Self::allow_parking).
    ///
    /// ```
    /// use unified_scheduler::TestScheduler;
    /// let test = TestScheduler::new();
    /// test.allow_parking();
    /// test.forbid_parking();
    /// ```
    pub fn forbid_parking(&self) {
        self.lock().config.allow_parking = false;
    }

    /// Sets what `num_cpus()` answers.
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    /// let test = Arc::new(TestScheduler::new());
    /// test.set_num_cpus(16);
    /// let scheduler: Arc<dyn Scheduler> = test;
    /// assert_eq!(scheduler.num_cpus(), 16);
    /// ```
    #[track_caller]
    pub fn set_num_cpus(&self, n: usize) {
        assert!(n > 0, "num_cpus must be at least 1");
        self.lock().config.num_cpus = n;
    }

    /// A hash of the sequence of tasks run so far: equal for equal schedules. Assert it to
    /// pin a schedule down.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler, TestSchedulerConfig};
    ///
    /// let run = |seed| {
    ///     let test = Arc::new(TestScheduler::with_config(TestSchedulerConfig::new().seed(seed)));
    ///     let scheduler: Arc<dyn Scheduler> = test.clone();
    ///     for _ in 0..10 {
    ///         scheduler.spawn(async {}).detach();
    ///     }
    ///     test.run_until_parked();
    ///     test.fingerprint()
    /// };
    /// assert_eq!(run(7), run(7));
    /// assert_ne!(run(7), run(8));
    /// ```
    pub fn fingerprint(&self) -> u64 {
        self.lock().trace.fingerprint()
    }

    /// How many runnables have run so far.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    /// let test = Arc::new(TestScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// scheduler.spawn(async {}).detach();
    /// test.run_until_parked();
    /// assert_eq!(test.steps(), 1);
    /// ```
    pub fn steps(&self) -> u64 {
        self.lock().trace.steps()
    }

    /// Drops every queued runnable and timer (cancelling their tasks); the runners call it
    /// after each seed so tasks that hold the scheduler cannot keep it alive.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// let task = scheduler.spawn(async {}).fallible();
    /// test.clear();
    /// assert_eq!(scheduler.block(task), None);
    /// ```
    pub fn clear(&self) {
        let dropped = {
            let mut state = self.lock();
            let mut dropped: Vec<Runnable> = state.ready.drain(..).collect();
            dropped.extend(state.foreground.drain(..));
            dropped.extend(state.deprioritized.drain(..));
            dropped.extend(state.timers.drain());
            dropped
        };
        // Outside the lock: dropping a future may wake or end other tasks.
        drop(dropped);
    }

    /// The state, with the end of the last task run applied (see `run_next`).
    fn lock(&self) -> MutexGuard<'_, State> {
        #[allow(unused_mut)] // only `std` builds apply a collected end
        let mut state = self.state.lock();
        #[cfg(feature = "std")]
        if self.pending_end.load(Ordering::Relaxed) != 0 {
            let (id, end) = decode_end(self.pending_end.swap(0, Ordering::Relaxed));
            state.task_ended(id, end);
        }
        state
    }

    /// Picks and runs the next runnable; see `tick`.
    fn run_next(&self, background_only: bool) -> bool {
        let runnable = {
            let mut state = self.lock();
            if let Some(failure) = state.pending_failure.take() {
                drop(state);
                panic!("{failure}");
            }
            let Some(runnable) = state.pick(background_only) else {
                return false;
            };
            if let Some(divergence) = state.trace.step(LiveTask::from(runnable.metadata())) {
                let seed = state.config.seed;
                drop(state);
                // Dropped here it would cancel a task mid-report; leak it: the test is over.
                core::mem::forget(runnable);
                panic!(
                    "non-deterministic schedule for seed {seed}: {divergence}. Something \
                     outside the seed decides the order: a HashMap's iteration order, real \
                     time, a real thread waking a task, or state left over from another run"
                );
            }
            runnable
        };
        let background = !runnable.metadata().foreground;
        let _flag = BackgroundFlag::set(&self.running_background, background);
        self.run_runnable(runnable);
        true
    }

    /// Runs one runnable. With `std`, the task's end (if it ends now) comes back directly and
    /// is applied at the next lock, sparing a lock and a `Weak` upgrade per task.
    #[cfg(feature = "std")]
    fn run_runnable(&self, runnable: Runnable) {
        let me: *const Self = self;
        if let Some((id, end)) = crate::core::run_collecting_end(me.cast(), runnable) {
            // Only `run_next` stores here, after its own `lock` emptied the slot.
            self.pending_end
                .store(encode_end(id, end), Ordering::Relaxed);
        }
    }

    #[cfg(not(feature = "std"))]
    fn run_runnable(&self, runnable: Runnable) {
        runnable.run();
    }
}

/// A task end packed in a `u64` (never 0): the id, shifted, and the kind in the low bits.
#[cfg(feature = "std")]
fn encode_end(id: crate::TaskId, end: crate::TaskEnd) -> u64 {
    let kind = match end {
        crate::TaskEnd::Completed => 1,
        crate::TaskEnd::Cancelled => 2,
        _ => 3,
    };
    (id.as_u64() << 2) | kind
}

#[cfg(feature = "std")]
fn decode_end(packed: u64) -> (crate::TaskId, crate::TaskEnd) {
    let end = match packed & 3 {
        1 => crate::TaskEnd::Completed,
        2 => crate::TaskEnd::Cancelled,
        _ => crate::TaskEnd::Panicked,
    };
    let id = crate::TaskId::from_raw(packed >> 2).expect("a packed end holds a task id");
    (id, end)
}

impl TestScheduler {}

/// Marks "a background runnable is running" for `is_main_thread`, even if it unwinds.
struct BackgroundFlag<'a>(&'a AtomicBool);

impl<'a> BackgroundFlag<'a> {
    fn set(flag: &'a AtomicBool, background: bool) -> Self {
        flag.store(background, Ordering::Relaxed);
        Self(flag)
    }
}

impl Drop for BackgroundFlag<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

impl State {
    /// The next runnable, by the rules on `TestScheduler::tick`.
    fn pick(&mut self, background_only: bool) -> Option<Runnable> {
        if let Some((_, timer)) = self.timers.pop_due(self.elapsed) {
            return Some(timer);
        }
        if !self.config.randomize_order {
            let index = if background_only {
                self.ready.iter().position(|r| !r.metadata().foreground)
            } else if self.ready.is_empty() {
                None
            } else {
                Some(0)
            };
            return match index {
                Some(index) => self.ready.remove(index),
                None => self.deprioritized.pop_front(),
            };
        }
        let foreground = usize::from(!background_only && !self.foreground.is_empty());
        let candidates = self.ready.len() + foreground;
        if candidates > 0 {
            let choice = self.rng.below(candidates);
            return if choice < self.ready.len() {
                self.ready.swap_remove_back(choice)
            } else {
                self.foreground.pop_front()
            };
        }
        if self.deprioritized.is_empty() {
            return None;
        }
        let choice = self.rng.below(self.deprioritized.len());
        self.deprioritized.swap_remove_back(choice)
    }

    fn task_ended(&mut self, id: crate::TaskId, end: crate::TaskEnd) {
        if let Some(task) = self.tasks.end(id) {
            if end == crate::TaskEnd::Panicked {
                self.panicked.push(task);
            }
        }
    }

    fn push_ready(&mut self, runnable: Runnable) {
        if runnable.metadata().foreground && self.config.randomize_order {
            self.foreground.push_back(runnable);
        } else {
            self.ready.push_back(runnable);
        }
    }
}

impl fmt::Debug for TestScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("TestScheduler")
            .field("seed", &state.config.seed)
            .field("elapsed", &state.elapsed)
            .field("ready", &state.ready.len())
            .field("foreground", &state.foreground.len())
            .field("deprioritized", &state.deprioritized.len())
            .field("timers", &state.timers.len())
            .field("steps", &state.trace.steps())
            .finish_non_exhaustive()
    }
}

mod scheduler_impl;
