//! The test runners: run an async test body over seeds, name the failing seed, replay it.
//!
//! Env overrides: `SEED=n` runs that seed alone; `ITERATIONS=k` runs seeds `SEED..SEED+k`
//! (SEED defaults to 0); `CHECK_DETERMINISM=1` runs each seed twice and compares;
//! `MAX_STEPS=n` sets the step budget of each seed; `JOBS=n` runs the parallel runners' seeds
//! on `n` threads (`parallel.rs`); `STRATEGY=...` sets the schedule strategy (`strategy.rs`); `SHRINK=1` prints a failing
//! seed's shrunk schedule under its failure (`shrink.rs`).
//!
//! The default strategy, the portfolio, gives each seed one of `PORTFOLIO` (`strategy.rs`).
//! Strategies that learn from a first run (PCT without a `steps_hint`, URW without site
//! estimates) learn once per run of many seeds: before the first seed, a recorded uniform
//! run of the first seed runs quietly, and every seed takes its number of choice points and
//! steps per spawn site (`learned.rs`). A seed's replay line names what it learned
//! (`STRATEGY=pct:3:k=12`, `STRATEGY=urw:from=0`), so one seed replays as it ran among many.
//! A failure of the learning run is reported as the uniform walk's, with its own replay line.
//!
//! Each seed ends as Zed's `end_test` does: once the body returns, what is still runnable
//! runs until the scheduler parks (a detached task's late panic fails the seed), a report
//! of a foreign-thread wake still waiting is raised, and what is left is cancelled.

use ::core::any::Any;
use ::core::future::Future;
use ::core::panic::{AssertUnwindSafe, Location};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::panic;

use super::picker::DEFAULT_STEPS_HINT;
use super::replay::{Origin, Replay};
use super::schedule_log::ScheduleStep;
use super::schedule_report::{self, CaptureOnPanic, describe};
use super::strategy::{PORTFOLIO, Strategy, StrategySpec};
use super::trace::Recording;
use super::watchdog::Watchdog;
use super::{LiveTask, TestScheduler, TestSchedulerConfig};
use crate::core::Scheduler;

impl TestScheduler {
    /// Runs the async test `body` once, with seed 0 (or `SEED`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let scheduler: Arc<dyn Scheduler> = test;
    ///     assert_eq!(scheduler.spawn(async { 1 }).await, 1);
    /// });
    /// ```
    #[track_caller]
    pub fn once<F, Fut>(body: F)
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        TestSchedulerConfig::new().run(body);
    }

    /// Runs the async test `body` with `seed` (or `SEED`).
    ///
    /// ```
    /// use unified_scheduler::TestScheduler;
    ///
    /// TestScheduler::with_seed(17, |test| async move {
    ///     assert_eq!(test.seed(), 17);
    /// });
    /// ```
    #[track_caller]
    pub fn with_seed<F, Fut>(seed: u64, body: F)
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        TestSchedulerConfig::new().seed(seed).run(body);
    }

    /// Runs the async test `body` once per seed `0..iterations` (or as `SEED` and
    /// `ITERATIONS` say). The first failing seed stops the run: it is printed with the
    /// command that replays it, and its panic goes on.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use unified_scheduler::TestScheduler;
    ///
    /// let runs = AtomicU64::new(0);
    /// TestScheduler::many(10, |_test| {
    ///     runs.fetch_add(1, Ordering::SeqCst);
    ///     async {}
    /// });
    /// # if std::env::var_os("SEED").is_none() && std::env::var_os("ITERATIONS").is_none() {
    /// assert_eq!(runs.load(Ordering::SeqCst), 10);
    /// # }
    /// ```
    #[track_caller]
    pub fn many<F, Fut>(iterations: u64, body: F)
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        TestSchedulerConfig::new().run_many(iterations, body);
    }
}

impl TestSchedulerConfig {
    /// Runs the async test `body` once with this config (`SEED` overrides the seed).
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    ///
    /// TestSchedulerConfig::new().randomize_order(false).run(|test| async move {
    ///     assert!(test.steps() == 0);
    /// });
    /// ```
    #[track_caller]
    pub fn run<F, Fut>(self, body: F)
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut body = body;
        if let Err(failure) = self.clone().try_run(&mut body) {
            self.shrink_if_asked(&failure, &mut body);
            failure.report_and_resume();
        }
    }

    /// Runs the async test `body` once per seed, from this config's seed on, `iterations`
    /// times (`SEED` and `ITERATIONS` override).
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    ///
    /// TestSchedulerConfig::new().seed(100).run_many(3, |test| async move {
    ///     # if std::env::var_os("SEED").is_none() {
    ///     assert!((100..103).contains(&test.seed()));
    ///     # }
    /// });
    /// ```
    #[track_caller]
    pub fn run_many<F, Fut>(self, iterations: u64, body: F)
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut body = body;
        if let Err(failure) = self.clone().try_run_many(iterations, &mut body) {
            self.shrink_if_asked(&failure, &mut body);
            failure.report_and_resume();
        }
    }

    /// With `SHRINK=1`, prints the shrunk schedule of `failure`'s seed (`shrink.rs`); only
    /// a failing seed gets here, so a passing run pays nothing.
    #[track_caller]
    pub(super) fn shrink_if_asked<F, Fut>(self, failure: &SeedFailure, body: &mut F)
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        if !std::env::var("SHRINK").is_ok_and(|v| v != "0" && !v.is_empty()) {
            return;
        }
        let (mut config, _) = self.with_env_overrides(failure.seed, 1);
        config.learn_seed = config.learn_seed.or(failure.learn_seed);
        let described = match config.seed(failure.seed).shrink(body) {
            Some(shrunk) => format!("{shrunk}"),
            None => format!(
                "SHRINK: seed {} did not fail again when its recorded schedule was forced, \
                 so it was not shrunk",
                failure.seed
            ),
        };
        std::eprintln!("\nTestScheduler: {described}");
    }

    /// Like [`run`](Self::run), but hands the failure back instead of printing it and
    /// panicking.
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    ///
    /// let failure = TestSchedulerConfig::new().seed(4).try_run(|_test| async {
    ///     panic!("broken");
    /// });
    /// # if std::env::var_os("SEED").is_none() {
    /// let failure = failure.unwrap_err();
    /// assert_eq!(failure.seed, 4);
    /// assert_eq!(failure.message, "broken");
    /// // Seed 4 is the portfolio's PCT of depth 3, which learns from the uniform walk of
    /// // the seed first: that run failed already, so the line replays it.
    /// assert!(failure.replay_command.starts_with("SEED=4 STRATEGY=uniform cargo "));
    /// # }
    /// ```
    #[track_caller]
    pub fn try_run<F, Fut>(self, body: F) -> Result<(), SeedFailure>
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let seed = self.seed;
        self.run_seeds(seed, 1, body, Origin::Caller(Location::caller()))
    }

    /// Like [`run_many`](Self::run_many), but hands the first failure back instead of
    /// printing it and panicking.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestSchedulerConfig};
    ///
    /// let outcome = TestSchedulerConfig::new().try_run_many(5, |test| async move {
    ///     let scheduler: Arc<dyn Scheduler> = test;
    ///     assert_eq!(scheduler.spawn(async { 1 }).await, 1);
    /// });
    /// assert!(outcome.is_ok());
    /// ```
    #[track_caller]
    pub fn try_run_many<F, Fut>(self, iterations: u64, body: F) -> Result<(), SeedFailure>
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let seed = self.seed;
        self.run_seeds(seed, iterations, body, Origin::Caller(Location::caller()))
    }

    pub(super) fn run_seeds<F, Fut>(
        self,
        first_seed: u64,
        iterations: u64,
        mut body: F,
        origin: Origin,
    ) -> Result<(), SeedFailure>
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let (config, seeds) = self.with_env_overrides(first_seed, iterations);
        if config.jobs != 1 && seeds.end - seeds.start > 1 {
            std::eprintln!(
                "TestScheduler: jobs = {} (JOBS) asks for threads, but this runner takes an \
                 `FnMut` body, which threads cannot share: running the seeds in turn. For \
                 threads use `many_parallel` / `run_many_parallel` (an `Fn + Sync` body) or \
                 `#[unified_scheduler::test]`.",
                config.jobs
            );
        }
        let watchdog = config.poll_time_limit.map(Watchdog::start);
        let replay = Replay::new(origin);
        let (config, seeds) = config.learn_once(seeds, watchdog.as_ref(), &mut body, &replay)?;
        for seed in seeds {
            config.run_seed(seed, watchdog.as_ref(), &mut body, &replay)?;
        }
        Ok(())
    }

    /// Applies the env overrides (`SEED`, `ITERATIONS`, `CHECK_DETERMINISM`, `MAX_STEPS`,
    /// `SCHEDULE`, `JOBS`, `STRATEGY`) and returns the config with the seeds to run.
    pub(super) fn with_env_overrides(
        mut self,
        first_seed: u64,
        iterations: u64,
    ) -> (Self, ::core::ops::Range<u64>) {
        let env_seed = env_u64("SEED");
        let env_iterations = env_u64("ITERATIONS");
        let (first_seed, iterations) = match (env_seed, env_iterations) {
            (Some(seed), None) => (seed, 1),
            (seed, Some(iterations)) => (seed.unwrap_or(0), iterations),
            (None, None) => (first_seed, iterations),
        };
        if env_seed.is_some() || env_iterations.is_some() {
            // A `SEED` left in the environment would otherwise cut every run to one seed
            // without a word.
            std::eprintln!(
                "TestScheduler: SEED/ITERATIONS from the environment: running {iterations} \
                 seed(s) from {first_seed} (the test asked for its own)"
            );
        }
        if std::env::var("CHECK_DETERMINISM").is_ok_and(|v| v != "0" && !v.is_empty()) {
            self.check_determinism = true;
        }
        if let Some(steps) = env_u64("MAX_STEPS") {
            self = self.max_steps(steps);
        }
        if std::env::var("SCHEDULE").is_ok_and(|v| v != "0" && !v.is_empty()) {
            self.record_schedule = true;
        }
        if std::env::var("PENDING_TRACES").is_ok_and(|v| v != "0" && !v.is_empty()) {
            self.pending_traces = true;
        }
        if let Some(jobs) = env_u64("JOBS") {
            self.jobs = usize::try_from(jobs).unwrap_or(usize::MAX);
        }
        if let Some(spec) = env_strategy() {
            self.strategy = spec.strategy;
            if spec.steps_hint.is_some() {
                self.steps_hint = spec.steps_hint;
            }
            if spec.learned_from.is_some() {
                self.learn_seed = spec.learned_from;
            }
        }
        (self, first_seed..first_seed.saturating_add(iterations))
    }

    /// Runs one seed of `body` with this config; its failure names the seed.
    pub(super) fn run_seed<F, Fut>(
        &self,
        seed: u64,
        watchdog: Option<&Watchdog>,
        body: &mut F,
        replay: &Replay,
    ) -> Result<(), SeedFailure>
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut config = self.clone().seed(seed);
        if config.learns_first() {
            // Not learned for the run (a run of one seed from `shrink`, say): learn now.
            let from = config.learn_seed.unwrap_or(seed);
            config = config.learn(from, watchdog, body, replay, UNIFORM_ENV)?;
        }
        let strategy = config.strategy_env();
        let run = SeedRun {
            config: config.clone(),
            watchdog,
            replay_command: replay.command(seed, &strategy),
            quiet: false,
        };
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            if config.check_determinism {
                let (first, _) = run.run(body, Recording::Record(Vec::new()));
                let Recording::Record(expected) = first else {
                    unreachable!("a recording run returns its recording")
                };
                run.run(body, Recording::Compare { expected });
            } else {
                run.run(body, Recording::Off);
            }
        }));
        let Err(panic) = outcome else { return Ok(()) };
        Err(run.failure(seed, panic, replay, &strategy))
    }

    /// Before the seeds of a run: what their strategies learn, learned once, from the
    /// uniform run of the first seed (or of `urw:from=<seed>`'s), if any seed's strategy
    /// learns (see the module docs).
    ///
    /// Returns the config and the seeds still to run: when the first seed's own strategy
    /// is the uniform walk (the portfolio's seed 0, say) and nothing asks more of its run
    /// (`check_determinism`, `record_schedule`), the learning run is that seed's run, so
    /// the body runs no extra time.
    pub(super) fn learn_once<F, Fut>(
        self,
        seeds: ::core::ops::Range<u64>,
        watchdog: Option<&Watchdog>,
        body: &mut F,
        replay: &Replay,
    ) -> Result<(Self, ::core::ops::Range<u64>), SeedFailure>
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        // The portfolio repeats every `PORTFOLIO.len()` seeds: those show every strategy.
        let learns = (seeds.clone().take(PORTFOLIO.len()))
            .any(|seed| self.clone().seed(seed).learns_first());
        if !learns {
            return Ok((self, seeds));
        }
        let from = self.learn_seed.unwrap_or(seeds.start);
        let is_first_seeds_run = from == seeds.start
            && self.strategy.for_seed(from) == Strategy::UniformRandom
            && !self.check_determinism
            && !self.record_schedule;
        // The uniform seed's own run needs no `STRATEGY` to replay; a learning run of a
        // seed whose own strategy is another does.
        let env = if is_first_seeds_run { "" } else { UNIFORM_ENV };
        let learned = self.learn(from, watchdog, body, replay, env)?;
        let rest = if is_first_seeds_run {
            seeds.start + 1..seeds.end
        } else {
            seeds
        };
        Ok((learned, rest))
    }

    /// This config with what the recorded uniform run of seed `from` teaches
    /// ([`learn_from`](Self::learn_from)); that run's failure is the uniform walk's, and is
    /// reported as such, its replay line taking `env` after the seed.
    fn learn<F, Fut>(
        self,
        from: u64,
        watchdog: Option<&Watchdog>,
        body: &mut F,
        replay: &Replay,
        env: &str,
    ) -> Result<Self, SeedFailure>
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let learning = self
            .clone()
            .seed(from)
            .strategy(Strategy::UniformRandom)
            .check_determinism(false)
            .record_schedule(true);
        let run = SeedRun {
            replay_command: replay.command(from, env),
            config: learning,
            watchdog,
            quiet: true,
        };
        let mut learned = None;
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            learned = Some(run.run(body, Recording::Off).1);
        }));
        let seed = self.seed;
        match (outcome, learned) {
            (Ok(()), Some(first)) => Ok(self.learn_from(&first).seed(seed)),
            (Err(panic), _) => Err(run.failure(from, panic, replay, env)),
            (Ok(()), None) => unreachable!("a run that returns hands its scheduler back"),
        }
    }

    /// Whether the seed's strategy learns from a uniform run first (see the module docs).
    fn learns_first(&self) -> bool {
        self.randomize_order
            && match self.strategy.for_seed(self.seed) {
                // Depth 1 has no change points, so nothing to place over `k`.
                Strategy::Pct { depth } => depth > 1 && self.steps_hint.is_none(),
                Strategy::Urw => self.site_steps.is_none(),
                _ => false,
            }
    }

    /// What the replay line puts after `SEED=n`: nothing when the seed ran the uniform
    /// walk by the code's own config, else ` STRATEGY=...` with what was learned (PCT's
    /// `k`, the seed URW learned from), so that the replay of one seed runs as it did in
    /// the run of many.
    pub(super) fn strategy_env(&self) -> String {
        let strategy = self.strategy.for_seed(self.seed);
        let spec = match strategy {
            Strategy::UniformRandom | Strategy::Portfolio => return String::new(),
            Strategy::Pct { depth: 1 } => StrategySpec::new(strategy, None), // no change points
            Strategy::Pct { .. } => StrategySpec::new(
                strategy,
                Some(self.steps_hint.unwrap_or(DEFAULT_STEPS_HINT)),
            ),
            Strategy::Urw => StrategySpec::new(strategy, None).learned_from(self.learn_seed),
        };
        format!(" STRATEGY={spec}")
    }
}

/// The replay line's env for a failure of the uniform walk whatever the code configured.
const UNIFORM_ENV: &str = " STRATEGY=uniform";

/// A seed whose run failed, from [`TestSchedulerConfig::try_run`] and
/// [`try_run_many`](TestSchedulerConfig::try_run_many).
///
/// ```
/// use unified_scheduler::TestSchedulerConfig;
///
/// let failure = TestSchedulerConfig::new()
///     .try_run_many(10, |test| async move { assert!(test.seed() < 3, "too big") })
///     .unwrap_err();
/// # if std::env::var_os("SEED").is_none() && std::env::var_os("ITERATIONS").is_none() {
/// assert_eq!(failure.seed, 3);
/// assert!(failure.to_string().starts_with("seed 3 failed: too big"));
/// # }
/// ```
#[derive(thiserror::Error)]
#[error("seed {seed} failed: {message}; replay with `{replay_command}`")]
#[non_exhaustive]
pub struct SeedFailure {
    /// The failing seed.
    pub seed: u64,
    /// The one-line command that replays it, e.g. `SEED=17 cargo test --test foo -- bar --exact`.
    pub replay_command: String,
    /// The panic message (or a placeholder when the panic was not a string).
    pub message: String,
    /// The last steps of the failing run (all of them with `SCHEDULE=1`), oldest first;
    /// the panicking runners print them.
    pub schedule: Box<[ScheduleStep]>,
    /// How many steps the failing run took in all.
    pub total_steps: u64,
    /// What the report prints after the seed: the command, what it runs, alternatives
    /// (boxed, as is `schedule`, to keep the `Err` of `try_run` small).
    replay_report: Box<str>,
    /// The seed the run learned from, if it did: a shrink of this seed learns the same.
    learn_seed: Option<u64>,
    /// The original panic, for `resume`; behind a lock so the failure is `Sync` (it can go
    /// into `anyhow::Error` or `Box<dyn Error + Send + Sync>`).
    panic: Box<std::sync::Mutex<Box<dyn Any + Send>>>,
}

impl SeedFailure {
    /// Goes on with the original panic, as the panicking runners do.
    ///
    /// ```should_panic
    /// use unified_scheduler::TestSchedulerConfig;
    ///
    /// let failure = TestSchedulerConfig::new()
    ///     .try_run(|_test| async { panic!("original") })
    ///     .unwrap_err();
    /// failure.resume(); // panics with "original"
    /// ```
    pub fn resume(self) -> ! {
        let panic = self
            .panic
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        panic::resume_unwind(panic)
    }

    pub(super) fn report_and_resume(self) -> ! {
        std::eprintln!(
            "\nTestScheduler: {}\nTestScheduler: seed {} failed. {}",
            schedule_report::describe(self.seed, &self.schedule, self.total_steps),
            self.seed,
            self.replay_report
        );
        self.resume()
    }
}

impl ::core::fmt::Debug for SeedFailure {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.debug_struct("SeedFailure")
            .field("seed", &self.seed)
            .field("replay_command", &self.replay_command)
            .field("message", &self.message)
            .field("total_steps", &self.total_steps)
            .finish_non_exhaustive()
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        String::from(*message)
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        String::from("<a panic without a string message>")
    }
}

/// One seed's run: its config, the watchdog that watches it, its replay command.
struct SeedRun<'a> {
    config: TestSchedulerConfig,
    watchdog: Option<&'a Watchdog>,
    replay_command: String,
    /// A learning run: print no schedule, even with `record_schedule`.
    quiet: bool,
}

impl SeedRun<'_> {
    /// The failure of this run of `seed`, which panicked with `panic`.
    fn failure(
        self,
        seed: u64,
        panic: Box<dyn Any + Send>,
        replay: &Replay,
        strategy: &str,
    ) -> SeedFailure {
        let (schedule, total_steps) = schedule_report::take_failed();
        SeedFailure {
            seed,
            schedule: schedule.into(),
            total_steps,
            message: super::hints::with_hints(panic_message(&*panic)),
            replay_command: self.replay_command,
            replay_report: replay.report(seed, strategy).into(),
            learn_seed: self.config.learn_seed,
            panic: Box::new(std::sync::Mutex::new(panic)),
        }
    }

    /// Runs `body` for the seed and ends the test (see the module docs); returns the
    /// recording it made and the scheduler it ran on.
    fn run<F, Fut>(&self, body: &mut F, recording: Recording) -> (Recording, Arc<TestScheduler>)
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let test = Arc::new(TestScheduler::with_config(self.config.clone()));
        {
            let mut state = test.lock();
            state.trace.recording = recording;
            state.in_runner = true;
        }
        if let Some(watchdog) = self.watchdog {
            watchdog.watch(&test, &self.replay_command);
        }
        // Whatever happens, nothing of this seed (a task holding the scheduler) outlives it.
        let _clear = ClearOnDrop(&test);
        let _schedule = CaptureOnPanic(&test);
        let scheduler: Arc<dyn Scheduler> = test.clone();
        scheduler.block(body(test.clone()));
        test.run_until_parked();
        if let Some(failure) = test.foreign.take() {
            panic!("{failure}");
        }
        let (divergence, panicked, live, recording) = {
            let mut state = test.lock();
            let divergence = state.trace.finish();
            let recording = ::core::mem::replace(&mut state.trace.recording, Recording::Off);
            let live: Vec<LiveTask> = state.tasks.live().collect();
            (
                divergence,
                state.tasks.ended.panicked.first().copied(),
                live,
                recording,
            )
        };
        if let Some(divergence) = divergence {
            panic!(
                "non-deterministic schedule for seed {}: {divergence}",
                test.seed()
            );
        }
        if let Some(task) = panicked {
            panic_in_task(task, &live);
        }
        if self.config.record_schedule && !self.quiet {
            let state = test.lock();
            let schedule = state.schedule.recent_or_all();
            // The seed from the state held: `test.seed()` would take the lock again.
            let described = describe(state.config.seed, &schedule, state.schedule.steps());
            std::eprintln!("TestScheduler: {described}");
        }
        drop(_schedule);
        drop(_clear);
        (recording, test)
    }
}

/// Drops every queued runnable when a seed ends, however it ends: this breaks reference
/// cycles (a task holding the scheduler), so nothing leaks across seeds.
struct ClearOnDrop<'a>(&'a TestScheduler);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.clear();
    }
}

fn panic_in_task(task: LiveTask, live: &[LiveTask]) -> ! {
    let mut message = format!("{task} panicked (its message is printed above)");
    if !live.is_empty() {
        message.push_str("; still live when the test ended (now cancelled):");
        for task in live {
            message.push_str(&format!("\n  {task}"));
        }
    }
    panic!("{message}");
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    match value.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!(
            "env var {name}={value:?} is not a whole number; unset it or give e.g. {name}=17"
        ),
    }
}

fn env_strategy() -> Option<StrategySpec> {
    let value = std::env::var("STRATEGY").ok()?;
    if value.trim().is_empty() {
        return None;
    }
    match value.parse() {
        Ok(spec) => Some(spec),
        Err(error) => panic!("env var STRATEGY: {error}; or unset it"),
    }
}
