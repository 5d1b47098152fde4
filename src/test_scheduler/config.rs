//! `TestSchedulerConfig`: the knobs of a `TestScheduler`, set before it starts.

use alloc::sync::Arc;
use core::ops::RangeInclusive;
use core::time::Duration;

use super::forced::{ForcedRun, ForcedSchedule};
use super::learned::SiteSteps;
use super::strategy::Strategy;

/// How a [`TestScheduler`](crate::TestScheduler) behaves. Build one with the methods below,
/// then make a scheduler with [`TestScheduler::with_config`](crate::TestScheduler::with_config)
/// or run a test body with [`run`](TestSchedulerConfig::run) /
/// [`run_many`](TestSchedulerConfig::run_many).
///
/// ```
/// use unified_scheduler::{TestScheduler, TestSchedulerConfig};
///
/// let config = TestSchedulerConfig::new()
///     .seed(42)
///     .randomize_order(false)
///     .block_tick_range(0..=10)
///     .num_cpus(8);
/// let scheduler = TestScheduler::with_config(config);
/// assert_eq!(scheduler.seed(), 42);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TestSchedulerConfig {
    /// The seed of every choice. Default 0.
    pub seed: u64,
    /// Pick the next runnable at random (seeded); `false` runs them in FIFO order, the same
    /// for every seed. Default `true`.
    pub randomize_order: bool,
    /// How many ticks `block_with_timeout` runs before it gives up, drawn per call from this
    /// range so that both outcomes get explored across seeds: log-uniformly (a power-of-two
    /// scale first, then a number under it), so a budget under 10 comes up about a third of
    /// the time with the default. Default `0..=1000` (Zed's).
    pub block_tick_range: RangeInclusive<usize>,
    /// Whether a `block` that cannot progress may wait for a real wake from another thread
    /// (real I/O) instead of failing. Default `false`.
    pub allow_parking: bool,
    /// What `num_cpus()` answers. Default 4.
    pub num_cpus: usize,
    /// Run each seed twice and fail at the first step where the schedules differ (the
    /// runners only). Default `false`, or `true` when the env var `CHECK_DETERMINISM` is set
    /// to anything but `0` (with `std`).
    pub check_determinism: bool,
    /// How many steps (runnables run) one scheduler, so one seed of a runner, may take
    /// before it fails as a livelock or a task that never stops yielding, naming the tasks
    /// involved. Default 10,000,000; the runners take the env var `MAX_STEPS` over it.
    /// A scheduler kept for a long time on purpose (a benchmark) sets `u64::MAX`.
    pub max_steps: u64,
    /// How long (in real time) the runners let one poll of a task or of the test body run
    /// before they report a spin loop (code that never returns to the scheduler, so no step
    /// budget can stop it) and end the process, since the stuck thread cannot be unwound.
    /// `None` turns the watchdog off. Default 60 s (the runners only, with `std`).
    pub poll_time_limit: Option<Duration>,
    /// Keep every step of the schedule, not only the last 32, for
    /// [`recent_schedule`](crate::TestScheduler::recent_schedule) and a failing seed's
    /// report; the runners also print each seed's whole schedule when it ends. Default
    /// `false`, or `true` when the env var `SCHEDULE` is set to anything but `0` (the
    /// runners only, with `std`).
    pub record_schedule: bool,
    /// With [`allow_parking`](Self::allow_parking), how long (in real time) one park may
    /// wait for a wake from another thread before the seed fails with the stuck report,
    /// instead of waiting forever for a wake that will never come. `None` waits as long as
    /// it takes. Default 15 s (Zed's).
    pub park_time_limit: Option<Duration>,
    /// How many threads the parallel runners
    /// ([`run_many_parallel`](Self::run_many_parallel), `#[unified_scheduler::test]`) run
    /// seeds on, each seed on its own scheduler; `0` means one per core. The first failing
    /// seed reported is the lowest, whatever the number of threads. Default 1, or the env var
    /// `JOBS` (with `std`).
    pub jobs: usize,
    /// Note where every clone of a task's waker is made (a backtrace per clone, so slow),
    /// and list, in the report of a test stuck with nothing to run, where the live clones
    /// of each pending task's waker were made: what the task waits on. Default `false`, or
    /// `true` when the env var `PENDING_TRACES` is set to anything but `0` (the runners only,
    /// with `std`; without `std` it does nothing).
    pub pending_traces: bool,
    /// How the next runnable is picked when `randomize_order` is on (see [`Strategy`]).
    /// Default [`Strategy::Portfolio`], which gives each seed one of [`PORTFOLIO`](crate::PORTFOLIO)
    /// (`Strategy::UniformRandom` is 0.1's walk); the runners take the env var `STRATEGY`
    /// over it (`portfolio`, `uniform`, `pct:<depth>`, `pct:<depth>:k=<choices>`, `urw`,
    /// `urw:from=<seed>`), and the replay line of a failing seed names the seed's strategy
    /// whenever it is not the uniform walk.
    pub strategy: Strategy,
    /// The expected number of choice points of a run (steps where two or more tasks could
    /// run): PCT's `k`, over which its change points are drawn. `None` (the default) lets
    /// the runners learn it, once per run, from the uniform walk of the run's first seed; a
    /// scheduler made by hand with none uses 1000.
    pub steps_hint: Option<u64>,
    /// URW's steps per task by spawn site, from [`learn_from`](Self::learn_from).
    pub(crate) site_steps: Option<Arc<SiteSteps>>,
    /// The seed whose uniform run the runners learn from (`urw:from=<seed>`), or did.
    pub(crate) learn_seed: Option<u64>,
    /// The choices to follow instead of the strategy's, from
    /// [`forced_schedule`](Self::forced_schedule).
    pub(crate) forced: Option<Arc<ForcedRun>>,
}

impl Default for TestSchedulerConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl TestSchedulerConfig {
    /// The defaults listed on each field.
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    /// let config = TestSchedulerConfig::new();
    /// assert_eq!(config.seed, 0);
    /// assert!(config.randomize_order);
    /// assert_eq!(config.block_tick_range, 0..=1000);
    /// ```
    pub fn new() -> Self {
        Self {
            seed: 0,
            randomize_order: true,
            block_tick_range: 0..=1000,
            allow_parking: false,
            num_cpus: 4,
            check_determinism: false,
            max_steps: 10_000_000,
            poll_time_limit: Some(Duration::from_secs(60)),
            record_schedule: false,
            park_time_limit: Some(Duration::from_secs(15)),
            jobs: 1,
            pending_traces: false,
            strategy: Strategy::Portfolio,
            steps_hint: None,
            site_steps: None,
            learn_seed: None,
            forced: None,
        }
    }

    /// Follow `choices` instead of the strategy (see [`ForcedSchedule`]): how a shrunk
    /// schedule ([`shrink`](Self::shrink)) is replayed. Needs `randomize_order` on.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use unified_scheduler::{ForcedSchedule, Scheduler, TaskId, TestSchedulerConfig};
    ///
    /// // Step 0 runs task 2; then the default order (task 2 ended: the lowest id) runs task 1.
    /// let order = Arc::new(AtomicU64::new(0));
    /// let seen = order.clone();
    /// TestSchedulerConfig::new()
    ///     .forced_schedule(ForcedSchedule::new([(0, TaskId::from_raw(2).unwrap())]))
    ///     .run(move |test| {
    ///         let seen = seen.clone();
    ///         async move {
    ///             let scheduler: Arc<dyn Scheduler> = test;
    ///             let (a, b) = (seen.clone(), seen.clone());
    ///             let first = scheduler.spawn(async move { a.fetch_add(1, Ordering::SeqCst) });
    ///             let second = scheduler.spawn(async move { b.fetch_add(10, Ordering::SeqCst) });
    ///             assert_eq!(first.await, 10); // task 2 ran first
    ///             second.await;
    ///         }
    ///     });
    /// assert_eq!(order.load(Ordering::SeqCst), 11);
    /// ```
    #[must_use]
    pub fn forced_schedule(mut self, choices: ForcedSchedule) -> Self {
        self.forced = Some(ForcedRun::new(choices));
        self
    }

    /// Sets the schedule strategy (see the field and [`Strategy`]).
    ///
    /// ```
    /// use unified_scheduler::{Strategy, TestSchedulerConfig};
    /// let config = TestSchedulerConfig::new().strategy(Strategy::Pct { depth: 3 });
    /// assert_eq!(config.strategy, Strategy::Pct { depth: 3 });
    /// ```
    #[must_use]
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Sets the expected run length, PCT's `k` (see the field).
    ///
    /// ```
    /// use unified_scheduler::{Strategy, TestSchedulerConfig};
    /// let config = TestSchedulerConfig::new()
    ///     .strategy(Strategy::Pct { depth: 2 })
    ///     .steps_hint(Some(40));
    /// assert_eq!(config.steps_hint, Some(40));
    /// ```
    #[must_use]
    pub fn steps_hint(mut self, steps: Option<u64>) -> Self {
        self.steps_hint = steps;
        self
    }

    /// Sets the seed.
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    /// assert_eq!(TestSchedulerConfig::new().seed(9).seed, 9);
    /// ```
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Random (seeded) order, or plain FIFO.
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    /// assert!(!TestSchedulerConfig::new().randomize_order(false).randomize_order);
    /// ```
    #[must_use]
    pub fn randomize_order(mut self, randomize: bool) -> Self {
        self.randomize_order = randomize;
        self
    }

    /// The range `block_with_timeout` draws its tick budget from.
    ///
    /// # Panics
    ///
    /// If the range is empty (`start > end`).
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    /// let config = TestSchedulerConfig::new().block_tick_range(5..=5);
    /// assert_eq!(config.block_tick_range, 5..=5);
    /// ```
    #[must_use]
    #[track_caller]
    pub fn block_tick_range(mut self, range: RangeInclusive<usize>) -> Self {
        assert!(
            range.start() <= range.end(),
            "block_tick_range {range:?} is empty; give a range like 0..=1000 (start <= end)"
        );
        self.block_tick_range = range;
        self
    }

    /// Lets `block` wait for real wakes from other threads.
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    /// assert!(TestSchedulerConfig::new().allow_parking(true).allow_parking);
    /// ```
    #[must_use]
    pub fn allow_parking(mut self, allow: bool) -> Self {
        self.allow_parking = allow;
        self
    }

    /// What `num_cpus()` answers.
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    /// assert_eq!(TestSchedulerConfig::new().num_cpus(2).num_cpus, 2);
    /// ```
    #[must_use]
    #[track_caller]
    pub fn num_cpus(mut self, n: usize) -> Self {
        assert!(n > 0, "num_cpus must be at least 1");
        self.num_cpus = n;
        self
    }

    /// Runs each seed twice in the runners and fails where the schedules differ.
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    /// assert!(TestSchedulerConfig::new().check_determinism(true).check_determinism);
    /// ```
    #[must_use]
    pub fn check_determinism(mut self, check: bool) -> Self {
        self.check_determinism = check;
        self
    }

    /// How many steps one seed may take before it fails (see the field).
    ///
    /// # Panics
    ///
    /// If `steps` is zero.
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    ///
    /// let failure = TestSchedulerConfig::new()
    ///     .max_steps(100)
    ///     .try_run(|test| async move {
    ///         let scheduler: std::sync::Arc<dyn unified_scheduler::Scheduler> = test;
    ///         // Never stops yielding: a livelock in miniature.
    ///         scheduler
    ///             .spawn(async { loop { futures_lite::future::yield_now().await } })
    ///             .await
    ///     })
    ///     .unwrap_err();
    /// # if std::env::var_os("MAX_STEPS").is_none() {
    /// assert!(failure.message.contains("step budget ran out after 100 steps"));
    /// # }
    /// ```
    #[must_use]
    #[track_caller]
    pub fn max_steps(mut self, steps: u64) -> Self {
        assert!(
            steps > 0,
            "max_steps(0) would fail every seed at once; give e.g. 1_000_000"
        );
        self.max_steps = steps;
        self
    }

    /// How long one poll may run before the runners report a spin loop (see the field).
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::TestSchedulerConfig;
    ///
    /// let config = TestSchedulerConfig::new().poll_time_limit(Some(Duration::from_secs(5)));
    /// assert_eq!(config.poll_time_limit, Some(Duration::from_secs(5)));
    /// ```
    #[must_use]
    pub fn poll_time_limit(mut self, limit: Option<Duration>) -> Self {
        self.poll_time_limit = limit;
        self
    }

    /// How long one park may wait for a real wake (see the field).
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::TestSchedulerConfig;
    ///
    /// let config = TestSchedulerConfig::new().park_time_limit(Some(Duration::from_secs(60)));
    /// assert_eq!(config.park_time_limit, Some(Duration::from_secs(60)));
    /// ```
    #[must_use]
    pub fn park_time_limit(mut self, limit: Option<Duration>) -> Self {
        self.park_time_limit = limit;
        self
    }

    /// How many threads the parallel runners use (see the field; `0`: one per core).
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use unified_scheduler::TestSchedulerConfig;
    ///
    /// let runs = AtomicU64::new(0);
    /// TestSchedulerConfig::new().jobs(2).run_many_parallel(20, |_test| {
    ///     runs.fetch_add(1, Ordering::Relaxed);
    ///     async {}
    /// });
    /// # if std::env::var_os("SEED").is_none() && std::env::var_os("ITERATIONS").is_none() {
    /// assert_eq!(runs.load(Ordering::Relaxed), 20);
    /// # }
    /// ```
    #[must_use]
    pub fn jobs(mut self, threads: usize) -> Self {
        self.jobs = threads;
        self
    }

    /// Keep the whole schedule (see the field).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler, TestSchedulerConfig};
    ///
    /// let test = Arc::new(TestScheduler::with_config(
    ///     TestSchedulerConfig::new().record_schedule(true),
    /// ));
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// for _ in 0..100 {
    ///     scheduler.spawn(async {}).detach();
    /// }
    /// test.run_until_parked();
    /// assert_eq!(test.recent_schedule().len(), 100); // all of them, not the last 32
    /// ```
    #[must_use]
    pub fn record_schedule(mut self, record: bool) -> Self {
        self.record_schedule = record;
        self
    }

    /// Note where each task's waker clones are made, for the stuck report (see the field).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::task::{Poll, Waker};
    /// use unified_scheduler::{Scheduler, TestScheduler, TestSchedulerConfig};
    ///
    /// let test = Arc::new(TestScheduler::with_config(
    ///     TestSchedulerConfig::new().pending_traces(true),
    /// ));
    /// let scheduler: Arc<dyn Scheduler> = test.clone();
    /// // A task that keeps its waker and never wakes it.
    /// let kept: Arc<std::sync::Mutex<Option<Waker>>> = Arc::default();
    /// let slot = kept.clone();
    /// let task = scheduler.spawn(std::future::poll_fn(move |cx| {
    ///     *slot.lock().unwrap() = Some(cx.waker().clone());
    ///     Poll::<()>::Pending
    /// }));
    /// let stuck = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scheduler.block(task)));
    /// let report = stuck.unwrap_err().downcast::<String>().unwrap();
    /// assert!(report.contains("its waker was cloned at"), "{report}");
    /// # test.clear();
    /// ```
    #[must_use]
    pub fn pending_traces(mut self, capture: bool) -> Self {
        self.pending_traces = capture;
        self
    }

    /// Panics, naming the field, if a field was set by hand to what its setter refuses.
    #[track_caller]
    pub(crate) fn validate(&self) {
        assert!(
            self.num_cpus > 0,
            "TestSchedulerConfig::num_cpus is 0; it must be at least 1"
        );
        assert!(
            self.block_tick_range.start() <= self.block_tick_range.end(),
            "TestSchedulerConfig::block_tick_range {:?} is empty; give a range like 0..=1000",
            self.block_tick_range
        );
        assert!(
            self.max_steps > 0,
            "TestSchedulerConfig::max_steps is 0; give e.g. 1_000_000"
        );
        assert!(
            self.strategy != Strategy::Pct { depth: 0 },
            "TestSchedulerConfig::strategy is Pct {{ depth: 0 }}; the depth must be at least 1"
        );
    }
}
