//! Running a corpus bug under the `TestScheduler`: one seed, or seeds until the first failure.

use std::sync::Arc;

use unified_scheduler::{Scheduler, TestSchedulerConfig};

use super::{Bug, Outcome, Variant};

/// Runs `bug` once under `config` (its seed included); `Err` carries the failure message.
pub fn run_once(bug: Bug, variant: Variant, config: TestSchedulerConfig) -> Outcome {
    let body = bug.body;
    config
        .try_run(move |test| async move {
            let scheduler: Arc<dyn Scheduler> = test;
            if let Err(message) = body(scheduler, variant).await {
                panic!("{message}");
            }
        })
        .map_err(|failure| failure.message)
}

/// The first of seeds `0..seeds` whose config (from `config_for(seed)`) makes `bug` fail.
pub fn first_failure(
    bug: Bug,
    variant: Variant,
    seeds: u64,
    config_for: impl Fn(u64) -> TestSchedulerConfig,
) -> Option<(u64, String)> {
    (0..seeds).find_map(|seed| {
        run_once(bug, variant, config_for(seed))
            .err()
            .map(|message| (seed, message))
    })
}
