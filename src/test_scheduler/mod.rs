//! `TestScheduler`: one thread, seeded random order, virtual time.
//!
//! Every choice comes from one ChaCha8 stream seeded with a `u64` (see `rng.rs`), so a seed
//! and a program give one schedule. Tasks run only on the thread that ticks the scheduler;
//! wakers and `schedule` may be called from anywhere (the state is behind a lock). The parts:
//! `state.rs` (the queues and the pick policy; `strategy.rs`, `picker.rs`, `pct.rs`, `urw.rs`
//! and `learned.rs` the non-default schedule strategies; `forced.rs` a forced schedule and
//! `shrink.rs` shrinking a failing seed's schedule with it), `tasks.rs` (lifecycle), `wait.rs` and `drive.rs`
//! (blocking under virtual time), `report.rs` (what a stuck test says), `threads.rs` (real threads),
//! `runner.rs` and `watchdog.rs` (running a test body over seeds), `parallel.rs` (seeds on
//! several threads), `replay.rs` (the line that
//! replays a failing seed), `test_attr.rs` (what `#[unified_scheduler::test]` calls).
//! `step.rs` runs one step (pick a runnable, run it, collect how its task ended);
//! `controls.rs` puts the test controls on `dyn Scheduler` and builds the executors.

mod config;
mod controls;
mod delay;
#[cfg(feature = "std")]
mod drive;
mod forced;
#[cfg(feature = "std")]
mod hints;
mod learned;
#[cfg(feature = "std")]
mod parallel;
mod pct;
#[cfg(feature = "std")]
mod pending_traces;
mod picker;
mod prefetch;
#[cfg(feature = "std")]
mod replay;
mod report;
mod rng;
#[cfg(feature = "std")]
mod runner;
mod schedule_log;
#[cfg(feature = "std")]
mod schedule_report;
mod scheduler_impl;
#[cfg(feature = "std")]
mod shrink;
#[cfg(feature = "std")]
mod spare_queues;
mod state;
mod step;
mod strategy;
mod tasks;
#[cfg(feature = "macros")]
mod test_attr;
#[cfg(feature = "std")]
mod threads;
mod time_controls;
mod trace;
mod urw;
mod wait;
#[cfg(feature = "std")]
mod watchdog;
mod window;

use ::core::fmt;
use ::core::sync::atomic::{AtomicBool, AtomicUsize};
use ::core::time::Duration;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

pub use config::TestSchedulerConfig;
pub use delay::RandomDelay;
pub use forced::ForcedSchedule;
#[cfg(feature = "macros")]
pub use replay::TestSite;
pub use rng::TestRng;
#[cfg(feature = "std")]
pub use runner::SeedFailure;
pub use schedule_log::ScheduleStep;
#[cfg(feature = "std")]
pub use shrink::{ShrunkSchedule, ShrunkStep};
pub use strategy::{PORTFOLIO, Strategy, StrategyParseError, StrategySpec};
pub use tasks::LiveTask;
#[cfg(feature = "macros")]
pub use test_attr::{Inject, Seeds, TestOutcome, run_test};
pub use time_controls::PendingTaskCounts;

use crate::core::TaskLabel;
use crate::core::tracking::Tracker;
use crate::sync::Mutex;
use state::{Pick, State};

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
    /// Where the tasks' live waker clones were made, with `pending_traces` on.
    #[cfg(feature = "std")]
    pending_traces: Option<Arc<pending_traces::PendingTraces>>,
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
        #[cfg(feature = "std")]
        let pending_traces = config
            .pending_traces
            .then(|| Arc::new(pending_traces::PendingTraces::default()));
        #[cfg(feature = "std")]
        let tracker = match &pending_traces {
            Some(traces) => {
                Tracker::with_waker_hook(Arc::new(pending_traces::Hook(traces.clone())))
            }
            None => Tracker::new(),
        };
        #[cfg(not(feature = "std"))]
        let tracker = Tracker::new();
        Self {
            state: Mutex::new(State::new(config)),
            tracker,
            running_background: AtomicBool::new(false),
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
            #[cfg(feature = "std")]
            pending_traces,
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
        self.run_next(Pick::Any)
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
        self.run_next(Pick::BackgroundOnly)
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
        TestRng::forked_from(self.lock().rng.next_u64())
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
    /// use std::sync::{Arc, Mutex};
    /// use std::task::{Poll, Waker};
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// test.allow_parking();
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// // Real I/O in miniature: a real thread delivers a value and wakes the waiting future.
    /// let slot: Arc<Mutex<(Option<i32>, Option<Waker>)>> = Arc::default();
    /// let sender = slot.clone();
    /// std::thread::spawn(move || {
    ///     let waker = {
    ///         let mut slot = sender.lock().unwrap();
    ///         slot.0 = Some(5);
    ///         slot.1.take()
    ///     };
    ///     waker.map(Waker::wake);
    /// });
    /// let value = std::future::poll_fn(|cx| {
    ///     let mut slot = slot.lock().unwrap();
    ///     match slot.0.take() {
    ///         Some(value) => Poll::Ready(value),
    ///         None => {
    ///             slot.1 = Some(cx.waker().clone());
    ///             Poll::Pending
    ///         }
    ///     }
    /// });
    /// assert_eq!(scheduler.block(value), 5);
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

    /// The last steps this scheduler ran (32, or all of them with
    /// [`record_schedule`](TestSchedulerConfig::record_schedule)), oldest first: which task
    /// ran, spawned where, at what virtual time. A failing seed's report shows the same.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// let task = scheduler.spawn(async {});
    /// test.run_until_parked();
    /// let steps = test.recent_schedule();
    /// assert_eq!(steps.len(), 1);
    /// assert_eq!((steps[0].step, steps[0].task.id, steps[0].at), (0, task.id(), Duration::ZERO));
    /// ```
    pub fn recent_schedule(&self) -> Vec<schedule_log::ScheduleStep> {
        self.lock().schedule.recent_or_all()
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
}

impl fmt::Debug for TestScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("TestScheduler")
            .field("seed", &state.config.seed)
            .field("elapsed", &state.elapsed)
            .field("ready", &(state.ready.len() + state.in_order.len()))
            .field(
                "foreground",
                &state
                    .sessions
                    .iter()
                    .map(|queue| queue.len())
                    .sum::<usize>(),
            )
            .field("deprioritized", &state.deprioritized.len())
            .field("timers", &state.timers.len())
            .field("steps", &state.trace.steps())
            .finish_non_exhaustive()
    }
}
