//! What `#[unified_scheduler::test]` expands to calls: the runner over the seeds the
//! attribute names, the parameters it injects by type, and the outcomes a body may return.
//! Not public API (`unified_scheduler::__private`): only the macro's expansion uses it, and
//! it may change in any release.

use ::core::fmt::Debug;
use ::core::future::Future;
use alloc::sync::Arc;

use super::replay::{Origin, TestSite};
use super::{TestScheduler, TestSchedulerConfig};
use crate::core::Scheduler;
use crate::executor::{BackgroundExecutor, ForegroundExecutor};

/// The seeds a test runs, from its attribute (`SEED`/`ITERATIONS` override them all).
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum Seeds {
    /// `seed = first` (default 0), `iterations = count` (default 1).
    Range {
        /// The first seed.
        first: u64,
        /// How many seeds, from `first` on.
        count: u64,
    },
    /// `seeds(1, 5, 9)`.
    List(&'static [u64]),
}

/// Runs a `#[unified_scheduler::test]` body over `seeds`; panics with the first failure,
/// printing its replay line. The body is `Fn + Sync` so the parallel runner can share it
/// (`JOBS=n`).
#[doc(hidden)]
pub fn run_test<F, Fut>(site: &'static TestSite, seeds: Seeds, config: TestSchedulerConfig, body: F)
where
    F: Fn(Arc<TestScheduler>) -> Fut + Sync,
    Fut: Future<Output: TestOutcome>,
{
    let body = |test| {
        let run = body(test);
        async move { run.await.check() }
    };
    let origin = Origin::Test(site);
    let from_env = std::env::var_os("SEED").is_some() || std::env::var_os("ITERATIONS").is_some();
    let shrink_with = config.clone();
    let outcome = match seeds {
        Seeds::Range { first, count } => config.run_seeds_parallel(first, count, body, origin),
        // The environment's seeds replace the list, as they replace a range.
        Seeds::List(_) if from_env => config.run_seeds_parallel(0, 1, body, origin),
        Seeds::List(list) => list
            .iter()
            .try_for_each(|&seed| config.clone().run_seeds_parallel(seed, 1, body, origin)),
    };
    if let Err(failure) = outcome {
        shrink_with.shrink_if_asked(&failure, &mut { body });
        failure.report_and_resume();
    }
}

/// What a test body may return: `()`, or `Result<(), E>` whose `Err` fails the seed with
/// the error's `Debug`, as `#[test]` and `#[tokio::test]` do.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a #[unified_scheduler::test] body returns `()` or `Result<(), E>` with \
               `E: Debug`, not `{Self}`"
)]
pub trait TestOutcome {
    /// Panics if the outcome is a failure.
    fn check(self);
}

impl TestOutcome for () {
    fn check(self) {}
}

impl<E: Debug> TestOutcome for Result<(), E> {
    #[track_caller]
    fn check(self) {
        if let Err(error) = self {
            panic!("the test returned Err({error:?})");
        }
    }
}

/// A parameter the macro hands the body, made from the seed's scheduler.
#[doc(hidden)]
pub trait Inject {
    /// The parameter for the seed run by `test`.
    fn inject(test: &Arc<TestScheduler>) -> Self;
}

impl Inject for Arc<TestScheduler> {
    fn inject(test: &Arc<TestScheduler>) -> Self {
        test.clone()
    }
}

impl Inject for Arc<dyn Scheduler> {
    fn inject(test: &Arc<TestScheduler>) -> Self {
        test.clone()
    }
}

impl Inject for BackgroundExecutor {
    fn inject(test: &Arc<TestScheduler>) -> Self {
        test.background()
    }
}

impl Inject for ForegroundExecutor {
    fn inject(test: &Arc<TestScheduler>) -> Self {
        test.foreground()
    }
}
