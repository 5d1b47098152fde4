//! The parallel runners: the seeds of one run spread over `jobs` threads (`JOBS=n`), each
//! seed on its own `TestScheduler`, so a seed's schedule is the same whatever thread runs it.
//!
//! The report stays the serial runner's: the lowest failing seed. Threads take seeds in
//! increasing order from one counter and stop taking seeds above the lowest failure seen, so
//! every seed below it has run (and passed) by the time the threads are joined. A body that
//! is only `FnMut` cannot be shared between threads: those runners stay serial and say so
//! when `JOBS` asks for more.

use ::core::future::Future;
use ::core::panic::Location;
use ::core::sync::atomic::{AtomicU64, Ordering};
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::sync::Mutex;

use super::replay::{Origin, Replay};
use super::runner::SeedFailure;
use super::watchdog::Watchdog;
use super::{TestScheduler, TestSchedulerConfig};

impl TestScheduler {
    /// Like [`many`](Self::many), but runs the seeds on one thread per core (or as many as
    /// `JOBS` says), each seed on its own scheduler; the body is `Fn + Sync` so the threads
    /// can share it (its futures need not be `Send`). The failure reported is the lowest
    /// failing seed, as with `many`.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use unified_scheduler::prelude::*;
    /// use unified_scheduler::TestScheduler;
    ///
    /// let runs = AtomicU64::new(0);
    /// TestScheduler::many_parallel(100, |test| {
    ///     runs.fetch_add(1, Ordering::Relaxed);
    ///     async move { test.timer(std::time::Duration::from_secs(1)).await }
    /// });
    /// # if std::env::var_os("SEED").is_none() && std::env::var_os("ITERATIONS").is_none() {
    /// assert_eq!(runs.load(Ordering::Relaxed), 100);
    /// # }
    /// ```
    #[track_caller]
    pub fn many_parallel<F, Fut>(iterations: u64, body: F)
    where
        F: Fn(Arc<TestScheduler>) -> Fut + Sync,
        Fut: Future<Output = ()>,
    {
        TestSchedulerConfig::new()
            .jobs(0)
            .run_many_parallel(iterations, body);
    }
}

impl TestSchedulerConfig {
    /// Like [`run_many`](Self::run_many), on [`jobs`](Self::jobs) threads (`JOBS`
    /// overrides; 1, the default, runs them in turn on the calling thread).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestSchedulerConfig};
    ///
    /// TestSchedulerConfig::new().jobs(2).run_many_parallel(10, |test| async move {
    ///     let scheduler: Arc<dyn Scheduler> = test;
    ///     assert_eq!(scheduler.spawn(async { 2 + 2 }).await, 4);
    /// });
    /// ```
    #[track_caller]
    pub fn run_many_parallel<F, Fut>(self, iterations: u64, body: F)
    where
        F: Fn(Arc<TestScheduler>) -> Fut + Sync,
        Fut: Future<Output = ()>,
    {
        if let Err(failure) = self.clone().try_run_many_parallel(iterations, &body) {
            self.shrink_if_asked(&failure, &mut &body);
            failure.report_and_resume();
        }
    }

    /// Like [`run_many_parallel`](Self::run_many_parallel), but hands the lowest failing
    /// seed back instead of printing it and panicking.
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    ///
    /// let failure = TestSchedulerConfig::new()
    ///     .jobs(2)
    ///     .try_run_many_parallel(50, |test| async move {
    ///         assert!(test.seed() % 10 != 7, "seed ends in 7");
    ///     })
    ///     .unwrap_err();
    /// # if std::env::var_os("SEED").is_none() && std::env::var_os("ITERATIONS").is_none() {
    /// assert_eq!(failure.seed, 7); // never 17 or 27, whichever thread failed first
    /// # }
    /// ```
    #[track_caller]
    pub fn try_run_many_parallel<F, Fut>(self, iterations: u64, body: F) -> Result<(), SeedFailure>
    where
        F: Fn(Arc<TestScheduler>) -> Fut + Sync,
        Fut: Future<Output = ()>,
    {
        let seed = self.seed;
        self.run_seeds_parallel(seed, iterations, body, Origin::Caller(Location::caller()))
    }

    pub(super) fn run_seeds_parallel<F, Fut>(
        self,
        first_seed: u64,
        iterations: u64,
        body: F,
        origin: Origin,
    ) -> Result<(), SeedFailure>
    where
        F: Fn(Arc<TestScheduler>) -> Fut + Sync,
        Fut: Future<Output = ()>,
    {
        let (config, seeds) = self.with_env_overrides(first_seed, iterations);
        let replay = Replay::new(origin);
        let (config, seeds) = {
            let watchdog = config.poll_time_limit.map(Watchdog::start);
            config.learn_once(seeds, watchdog.as_ref(), &mut &body, &replay)?
        };
        let seed_count = seeds.end - seeds.start;
        let threads = thread_count(config.jobs, seed_count);
        if threads <= 1 {
            let watchdog = config.poll_time_limit.map(Watchdog::start);
            let mut body = &body;
            return seeds
                .into_iter()
                .try_for_each(|seed| config.run_seed(seed, watchdog.as_ref(), &mut body, &replay));
        }
        let shared = Seeds {
            first: seeds.start,
            count: seed_count,
            next: AtomicU64::new(0),
            lowest_failed: AtomicU64::new(u64::MAX),
            failures: Mutex::new(Vec::new()),
        };
        std::thread::scope(|scope| {
            for slot in 0..threads {
                let (config, shared, replay, body) = (&config, &shared, &replay, &body);
                std::thread::Builder::new()
                    .name(alloc::format!("unified-scheduler-seeds-{slot}"))
                    .spawn_scoped(scope, move || {
                        shared.run_on_this_thread(config, replay, body)
                    })
                    .expect("could not start a thread for the parallel seeds; try JOBS=1");
            }
        });
        let failures = shared
            .failures
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        match failures.into_iter().min_by_key(|failure| failure.seed) {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }
}

/// The seeds the threads share: which to take next, and what failed.
struct Seeds {
    first: u64,
    count: u64,
    /// The index (from `first`) of the next seed to take.
    next: AtomicU64,
    /// The lowest failing index so far: no thread takes a seed at or above it.
    lowest_failed: AtomicU64,
    failures: Mutex<Vec<SeedFailure>>,
}

impl Seeds {
    fn run_on_this_thread<F, Fut>(&self, config: &TestSchedulerConfig, replay: &Replay, body: &F)
    where
        F: Fn(Arc<TestScheduler>) -> Fut + Sync,
        Fut: Future<Output = ()>,
    {
        // One watchdog per thread: each watches the seed its thread runs.
        let watchdog = config.poll_time_limit.map(Watchdog::start);
        let mut body = body;
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            if index >= self.count || index >= self.lowest_failed.load(Ordering::Acquire) {
                return;
            }
            let seed = self.first + index;
            if let Err(failure) = config.run_seed(seed, watchdog.as_ref(), &mut body, replay) {
                self.lowest_failed.fetch_min(index, Ordering::AcqRel);
                self.failures
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(failure);
            }
        }
    }
}

/// The threads to use: `jobs` (0: one per core), never more than there are seeds.
fn thread_count(jobs: usize, seeds: u64) -> usize {
    let wanted = match jobs {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    };
    usize::try_from(seeds).map_or(wanted, |seeds| wanted.min(seeds))
}
