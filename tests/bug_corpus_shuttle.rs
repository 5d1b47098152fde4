//! The shuttle adapter of benches/bug_corpus.rs is sound: under shuttle's schedulers every
//! fixed variant of the corpus passes and the buggy ones the bench reports as found are
//! found, so the bench's shuttle columns measure shuttle, not the adapter.
#![cfg(not(target_arch = "wasm32"))] // shuttle is no dev-dependency there

#[path = "bug_corpus/mod.rs"]
mod bug_corpus;
#[path = "../benches/common/shuttle_adapter.rs"]
mod shuttle_adapter;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use bug_corpus::{Bug, Variant, all, named};
use shuttle::scheduler::{PctScheduler, RandomScheduler};
use shuttle_adapter::ShuttleScheduler;
use unified_scheduler::Scheduler;

/// Runs `bug` under `scheduler` for as many iterations as it has; `Err` carries the first
/// failure's panic message.
fn run<S: shuttle::scheduler::Scheduler + 'static>(
    bug: Bug,
    variant: Variant,
    scheduler: S,
) -> Result<(), String> {
    let mut config = shuttle::Config::new();
    config.failure_persistence = shuttle::FailurePersistence::None;
    let body = bug.body;
    catch_unwind(AssertUnwindSafe(|| {
        shuttle::Runner::new(scheduler, config).run(move || {
            let scheduler: Arc<dyn Scheduler> = Arc::new(ShuttleScheduler::default());
            if let Err(message) = scheduler.block(body(scheduler.clone(), variant)) {
                panic!("{message}");
            }
        });
    }))
    .map_err(|panic| {
        let text = panic.downcast_ref::<&str>().map(|s| s.to_string());
        text.or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default()
    })
}

/// Shuttle's PCT refuses a program that never has two runnable tasks, as the fixed
/// variants that await their task first are: that is no failure of the variant.
fn passes(outcome: Result<(), String>) -> bool {
    match outcome {
        Ok(()) => true,
        Err(message) => message.contains("did not exercise any concurrency"),
    }
}

#[test]
fn every_fixed_variant_passes_under_shuttle_random_and_pct() {
    let failing: Vec<_> = all()
        .into_iter()
        .filter(|bug| {
            !passes(run(
                *bug,
                Variant::Fixed,
                RandomScheduler::new_from_seed(1, 100),
            )) || !passes(run(
                *bug,
                Variant::Fixed,
                PctScheduler::new_from_seed(1, 3, 100),
            ))
        })
        .map(|bug| bug.name)
        .collect();
    assert!(
        failing.is_empty(),
        "fixed variants failed under shuttle: {failing:?}"
    );
}

#[test]
fn shuttle_finds_a_lost_update_and_a_deadlock_through_the_adapter() {
    for name in ["lost_update", "lock_order_deadlock"] {
        let outcome = run(
            named(name),
            Variant::Buggy,
            RandomScheduler::new_from_seed(1, 100),
        );
        assert!(outcome.is_err(), "{name}: not found in 100 iterations");
    }
}

#[test]
fn shuttle_pct_finds_the_depth_2_bug_the_uniform_walk_misses() {
    let bug = named("pct_depth2_run12");
    let outcome = run(bug, Variant::Buggy, PctScheduler::new_from_seed(1, 2, 200));
    assert!(outcome.is_err(), "PCT d=2: not found in 200 iterations");
}
