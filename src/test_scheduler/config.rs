//! `TestSchedulerConfig`: the knobs of a `TestScheduler`, set before it starts.

use core::ops::RangeInclusive;

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
    /// range so that both outcomes get explored across seeds. Default `0..=1000`.
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
        }
    }

    /// Sets the seed.
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    /// assert_eq!(TestSchedulerConfig::new().seed(9).seed, 9);
    /// ```
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
    pub fn check_determinism(mut self, check: bool) -> Self {
        self.check_determinism = check;
        self
    }
}
