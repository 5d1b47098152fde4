//! The bug corpus (tests/bug_corpus/) under the `TestScheduler`: every fixed variant
//! survives, every bug the uniform walk can find is found within 1,000 seeds and replays
//! from its seed, and the two it misses (PCT's shapes) are found by PCT and URW.

#[path = "bug_corpus/mod.rs"]
mod bug_corpus;

use bug_corpus::ours::{first_failure, run_once};
use bug_corpus::{Variant, all, named};
use unified_scheduler::{Scheduler, Strategy, TestSchedulerConfig};

/// Seeds the uniform walk gets to find a bug: issue 15's budget.
const FIND_WITHIN: u64 = 1_000;
/// Seeds each fixed variant must survive.
const FIXED_SEEDS: u64 = 200;

fn uniform(seed: u64) -> TestSchedulerConfig {
    TestSchedulerConfig::new()
        .seed(seed)
        .strategy(Strategy::UniformRandom)
}

/// The bug is found within [`FIND_WITHIN`] seeds, and its seed fails again the same way.
fn assert_found_and_replays(name: &str) {
    assert_found_and_replays_with(name, uniform);
}

/// The same under the configs `config_for` gives each seed.
fn assert_found_and_replays_with(name: &str, config_for: fn(u64) -> TestSchedulerConfig) {
    let bug = named(name);
    let (seed, message) = first_failure(bug, Variant::Buggy, FIND_WITHIN, config_for)
        .unwrap_or_else(|| panic!("{name}: no failure in {FIND_WITHIN} seeds"));
    let replay = run_once(bug, Variant::Buggy, config_for(seed));
    assert_eq!(replay, Err(message), "{name}: seed {seed} did not replay");
}

#[test]
fn the_corpus_has_at_least_12_bugs_with_distinct_names() {
    let mut names: Vec<_> = all().iter().map(|bug| bug.name).collect();
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), count, "a name is used twice");
    assert!(count >= 12, "only {count} bugs");
}

#[test]
fn every_fixed_variant_survives_every_seed() {
    let failures: Vec<_> = all()
        .into_iter()
        .filter_map(|bug| {
            first_failure(bug, Variant::Fixed, FIXED_SEEDS, uniform)
                .map(|(seed, message)| format!("{} seed {seed}: {message}", bug.name))
        })
        .collect();
    assert!(failures.is_empty(), "fixed variants failed: {failures:#?}");
}

macro_rules! found_by_the_uniform_walk {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            assert_found_and_replays(stringify!($name));
        }
    )*};
}

mod found_by_the_uniform_walk {
    use super::assert_found_and_replays;

    found_by_the_uniform_walk!(
        account,
        circular_buffer,
        reorder_5,
        twostage_3,
        wronglock,
        bluetooth_driver,
        lazy01,
        shutdown_first,
        body_races_task,
        lost_update,
        cache_check_then_act,
        cancel_torn_state,
        lock_order_deadlock,
        update_after_delete,
    );
}

/// The bugs the uniform walk misses within 1,000 seeds (a 12-step run in a row): PCT and URW
/// find them (each seed first runs the uniform walk to learn from, as the runners do).
mod missed_by_the_uniform_walk {
    use super::assert_found_and_replays_with;
    use unified_scheduler::{Strategy, TestSchedulerConfig};

    fn pct(depth: u32) -> impl Fn(u64) -> TestSchedulerConfig {
        move |seed| {
            TestSchedulerConfig::new()
                .seed(seed)
                .strategy(Strategy::Pct { depth })
        }
    }

    #[test]
    fn pct_depth2_run12_is_found_by_pct_of_depth_2() {
        assert_found_and_replays_with("pct_depth2_run12", |seed| pct(2)(seed));
    }

    #[test]
    fn pct_depth3_run12_is_found_by_urw() {
        assert_found_and_replays_with("pct_depth3_run12", |seed| {
            TestSchedulerConfig::new()
                .seed(seed)
                .strategy(Strategy::Urw)
        });
    }
}

/// Issue 15's first target, through the runner itself: the default strategy (the
/// portfolio, learning once per run as the runners do) finds every bug of the corpus
/// within 1,000 seeds, and the failing seed's replay line names its strategy.
#[test]
fn the_default_runner_finds_every_bug_within_1000_seeds() {
    if ["SEED", "ITERATIONS", "STRATEGY"]
        .iter()
        .any(|name| std::env::var_os(name).is_some())
    {
        return; // the environment chose the seeds or the strategy
    }
    for bug in all() {
        let body = bug.body;
        let failure = TestSchedulerConfig::new()
            .try_run_many(FIND_WITHIN, move |test| async move {
                let scheduler: std::sync::Arc<dyn Scheduler> = test;
                if let Err(message) = body(scheduler, Variant::Buggy).await {
                    panic!("{message}");
                }
            })
            .expect_err(bug.name);
        let strategy = Strategy::Portfolio.for_seed(failure.seed);
        assert_eq!(
            failure.replay_command.contains(" STRATEGY="),
            strategy != Strategy::UniformRandom,
            "{}: {}",
            bug.name,
            failure.replay_command
        );
    }
}
