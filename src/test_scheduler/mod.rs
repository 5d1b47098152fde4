//! `TestScheduler`: one thread, seeded random order, virtual time.
//!
//! Every choice comes from one ChaCha8 stream seeded with a `u64` (see `rng.rs`), so a seed
//! and a program give one schedule. Tasks run only on the thread that ticks the scheduler;
//! wakers and `schedule` may be called from anywhere (the state is behind a lock). The parts:
//! `state.rs` (the queues and the pick policy), `tasks.rs` (lifecycle), `wait.rs` and `drive.rs`
//! (blocking under virtual time), `report.rs` (what a stuck test says), `threads.rs` (real threads),
//! `runner.rs` and `watchdog.rs` (running a test body over seeds).

mod config;
mod controls;
mod delay;
#[cfg(feature = "std")]
mod drive;
mod report;
mod rng;
#[cfg(feature = "std")]
mod runner;
mod scheduler_impl;
mod state;
mod tasks;
#[cfg(feature = "std")]
mod threads;
mod trace;
mod wait;
#[cfg(feature = "std")]
mod watchdog;

use ::core::fmt;
use ::core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use ::core::time::Duration;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

pub use config::TestSchedulerConfig;
pub use delay::RandomDelay;
#[cfg(feature = "std")]
pub use runner::SeedFailure;
pub use tasks::LiveTask;

use crate::core::Runnable;
use crate::core::TaskLabel;
use crate::core::tracking::Tracker;
use crate::sync::{Mutex, MutexGuard};
use report::{FINAL_STRETCH, budget_report};
use rng::SeededRng;
use state::State;

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
    /// Numbers the tasks 1, 2, 3, ... and collects how they end.
    tracker: Tracker,
    /// Set while a background runnable runs, for `is_main_thread`.
    running_background: AtomicBool,
    /// The end of the task `run_next` ran last, not yet applied to the task table (0: none).
    /// Only `std` builds collect ends this way (32-bit embedded targets lack 64-bit atomics).
    #[cfg(feature = "std")]
    pending_end: ::core::sync::atomic::AtomicU64,
    /// Steps started and blocked futures polled: what the runner's watchdog watches (only a
    /// change matters, so it may wrap).
    progress: AtomicUsize,
    /// Threads parked for a real wake (with parking allowed): not stuck, only waiting.
    #[cfg(feature = "std")]
    parked_for_real: AtomicUsize,
    /// How many `block`s are in progress (the outermost one may be the test body).
    #[cfg(feature = "std")]
    block_depth: AtomicUsize,
    /// What `Scheduler::park` waits for without `std` (with `std`, each thread has its own).
    #[cfg(not(feature = "std"))]
    unparked: Arc<wait::WakeFlag>,
    #[cfg(feature = "std")]
    owner: threads::Owner,
    /// Wakes from other OS threads, reported on the test's thread.
    #[cfg(feature = "std")]
    foreign: Arc<threads::ForeignWakes>,
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
    ///
    /// # Panics
    ///
    /// If the config's fields were set by hand to values its setters refuse (`num_cpus` of
    /// 0, an empty `block_tick_range`, `max_steps` of 0).
    #[track_caller]
    pub fn with_config(config: TestSchedulerConfig) -> Self {
        config.validate();
        #[cfg(feature = "std")]
        let foreign = Arc::new(threads::ForeignWakes::new(
            config.seed,
            config.allow_parking,
        ));
        Self {
            state: Mutex::new(State::new(config)),
            tracker: Tracker::new(),
            running_background: AtomicBool::new(false),
            #[cfg(feature = "std")]
            pending_end: ::core::sync::atomic::AtomicU64::new(0),
            progress: AtomicUsize::new(0),
            #[cfg(feature = "std")]
            parked_for_real: AtomicUsize::new(0),
            #[cfg(feature = "std")]
            block_depth: AtomicUsize::new(0),
            #[cfg(not(feature = "std"))]
            unparked: Arc::new(wait::WakeFlag::new()),
            #[cfg(feature = "std")]
            owner: threads::Owner::current(),
            #[cfg(feature = "std")]
            foreign,
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
            match state.next_deadline() {
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

    /// Whether the task is running: spawned, its future neither finished nor dropped, and
    /// its `Task` neither dropped nor cancelled (dropping a `Task` cancels it at once, even
    /// if the scheduler drops the future itself only at its next run).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// let task = scheduler.spawn(async {});
    /// let id = task.id();
    /// assert!(test.is_live(id));
    /// test.run_until_parked();
    /// assert!(!test.is_live(id));
    ///
    /// let waiting = scheduler.spawn(std::future::pending::<()>());
    /// let id = waiting.id();
    /// test.run_until_parked();
    /// assert!(test.is_live(id));
    /// drop(waiting);
    /// assert!(!test.is_live(id));
    /// ```
    ///
    /// Through an `Arc<dyn Scheduler>`, ask
    /// [`is_task_running`](../unified_scheduler/trait.Scheduler.html#method.is_task_running),
    /// which answers `None` on schedulers that do not track tasks.
    pub fn is_live(&self, id: crate::core::TaskId) -> bool {
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
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// test.set_waiting_hint(Some("the server's reply"));
    /// let stuck = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    ///     scheduler.block(std::future::pending::<()>())
    /// }));
    /// let report = stuck.unwrap_err().downcast::<String>().unwrap();
    /// assert!(report.contains("waiting for: the server's reply"), "{report}");
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
        self.set_parking(true);
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
        self.set_parking(false);
    }

    fn set_parking(&self, allowed: bool) {
        self.lock().config.allow_parking = allowed;
        #[cfg(feature = "std")]
        self.foreign.allow(allowed);
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
        let dropped = self.lock().take_all();
        // Outside the lock: dropping a future may wake or end other tasks.
        drop(dropped);
    }

    /// The state, with every task end recorded so far applied (see `run_next`). Runnables
    /// of cancelled timers taken off the heap under it are dropped when it is released.
    fn lock(&self) -> Locked<'_> {
        let mut state = self.state.lock();
        state.apply_log(self.tracker.log());
        #[cfg(feature = "std")]
        if self.pending_end.load(Ordering::Relaxed) != 0 {
            let (id, end) = decode_end(self.pending_end.swap(0, Ordering::Relaxed));
            state.task_ended(id, end);
        }
        Locked(Some(state))
    }

    /// Picks and runs the next runnable; see `tick`.
    fn run_next(&self, background_only: bool) -> bool {
        let runnable = {
            let mut state = self.lock();
            #[cfg(feature = "std")]
            if let Some(failure) = self.foreign.take() {
                drop(state);
                panic!("{failure}");
            }
            let Some(runnable) = state.pick(background_only) else {
                return false;
            };
            let task = LiveTask::from(runnable.metadata());
            let steps = state.trace.steps();
            if steps >= state.config.max_steps {
                let report = budget_report(&state, task);
                // Back in the queue: `clear` drops it, outside any lock, when the seed ends.
                state.push_ready(runnable);
                drop(state);
                panic!("{report}");
            }
            if steps + FINAL_STRETCH >= state.config.max_steps {
                state.final_steps.push(task.id);
            }
            state.last_run = Some(task);
            if let Some(divergence) = state.trace.step(task) {
                let seed = state.config.seed;
                state.push_ready(runnable);
                drop(state);
                panic!(
                    "non-deterministic schedule for seed {seed}: {divergence}. Something \
                     outside the seed decides the order: a HashMap's iteration order, real \
                     time, a real thread waking a task, or state left over from another run"
                );
            }
            runnable
        };
        self.progress();
        let background = !runnable.metadata().foreground;
        let _flag = BackgroundFlag::set(&self.running_background, background);
        self.run_runnable(runnable);
        true
    }

    /// Runs one runnable. With `std`, the task's end (if it ends now) comes back directly and
    /// is applied at the next lock, sparing a lock per task. A nested run (a task that
    /// blocks, or ticks, inside its own poll) may have left an end there: the later store
    /// takes the slot and applies the earlier end itself, so no end is ever lost.
    #[cfg(feature = "std")]
    fn run_runnable(&self, runnable: Runnable) {
        if let Some((id, end)) = crate::core::tracking::run_collecting(self.tracker.log(), runnable)
        {
            let earlier = self
                .pending_end
                .swap(encode_end(id, end), Ordering::Relaxed);
            if earlier != 0 {
                let (id, end) = decode_end(earlier);
                self.state.lock().task_ended(id, end);
            }
        }
    }

    #[cfg(not(feature = "std"))]
    fn run_runnable(&self, runnable: Runnable) {
        runnable.run();
    }

    /// Notes progress for the runner's watchdog: only a change matters, so a plain load and
    /// store (no read-modify-write on the hot path) will do, even if two threads tick.
    fn progress(&self) {
        let seen = self.progress.load(Ordering::Relaxed);
        self.progress.store(seen.wrapping_add(1), Ordering::Relaxed);
    }

    /// A `block` begins: it describes itself for the stuck report until dropped.
    #[cfg(feature = "std")]
    fn enter_block(&self) -> report::Blocked<'_> {
        let (in_runner, running) = {
            let state = self.lock();
            (state.in_runner, state.last_run)
        };
        report::Blocked::enter(&self.block_depth, in_runner, running)
    }

    /// Runs `park` with the calling thread counted as parked for a real wake.
    #[cfg(feature = "std")]
    fn parked_for_real<R>(&self, park: impl FnOnce() -> R) -> R {
        struct Parked<'a>(&'a AtomicUsize);
        impl Drop for Parked<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.parked_for_real.fetch_add(1, Ordering::Relaxed);
        let _parked = Parked(&self.parked_for_real);
        park()
    }
}

/// The locked state; runnables discarded under the lock (cancelled timers) are dropped
/// after it is released, since dropping a task may wake its awaiter, which schedules.
struct Locked<'a>(Option<MutexGuard<'a, State>>);

impl ::core::ops::Deref for Locked<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        self.0.as_ref().expect("held until dropped")
    }
}

impl ::core::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.0.as_mut().expect("held until dropped")
    }
}

impl Drop for Locked<'_> {
    #[inline]
    fn drop(&mut self) {
        if self
            .0
            .as_ref()
            .is_some_and(|state| !state.discarded.is_empty())
        {
            self.drop_discarded();
        }
    }
}

impl Locked<'_> {
    #[cold]
    fn drop_discarded(&mut self) {
        if let Some(mut state) = self.0.take() {
            let discarded = ::core::mem::take(&mut state.discarded);
            drop(state);
            drop(discarded);
        }
    }
}

/// A task end packed in a `u64` (never 0): the id, shifted, and the kind in the low bits.
#[cfg(feature = "std")]
fn encode_end(id: crate::core::TaskId, end: crate::core::tracking::TaskEnd) -> u64 {
    let kind = match end {
        crate::core::tracking::TaskEnd::Completed => 1,
        crate::core::tracking::TaskEnd::Cancelled => 2,
        crate::core::tracking::TaskEnd::Panicked => 3,
    };
    (id.as_u64() << 2) | kind
}

#[cfg(feature = "std")]
fn decode_end(packed: u64) -> (crate::core::TaskId, crate::core::tracking::TaskEnd) {
    let end = match packed & 3 {
        1 => crate::core::tracking::TaskEnd::Completed,
        2 => crate::core::tracking::TaskEnd::Cancelled,
        _ => crate::core::tracking::TaskEnd::Panicked,
    };
    let id = crate::core::TaskId::from_raw(packed >> 2).expect("a packed end holds a task id");
    (id, end)
}

/// Marks whether a background runnable is running, for `is_main_thread`, and puts back
/// what was there before when dropped (even on unwinding): a task that ticks the scheduler
/// itself stays a background task after the nested run.
struct BackgroundFlag<'a> {
    flag: &'a AtomicBool,
    before: bool,
}

impl<'a> BackgroundFlag<'a> {
    fn set(flag: &'a AtomicBool, background: bool) -> Self {
        // Only the ticking thread writes it; others only read it.
        let before = flag.load(Ordering::Relaxed);
        flag.store(background, Ordering::Relaxed);
        Self { flag, before }
    }
}

impl Drop for BackgroundFlag<'_> {
    fn drop(&mut self) {
        self.flag.store(self.before, Ordering::Relaxed);
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
