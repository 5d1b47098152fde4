//! TestScheduler schedule strategies: the uniform walk kept as it was, PCT (priorities with
//! change points, a fairness fallback) and URW (weights by estimated remaining steps), each
//! deterministic per seed; `STRATEGY` parsing; the replay line naming the strategy.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures_lite::future::yield_now;
use unified_scheduler::{
    Scheduler, SchedulerExt, Strategy, StrategySpec, TestScheduler, TestSchedulerConfig,
};

fn scheduler(config: TestSchedulerConfig) -> (Arc<TestScheduler>, Arc<dyn Scheduler>) {
    let test = Arc::new(TestScheduler::with_config(config));
    let scheduler: Arc<dyn Scheduler> = test.clone();
    (test, scheduler)
}

/// Whether the runners were told another strategy from outside (then the replay-line
/// checks do not apply).
fn strategy_from_env() -> bool {
    std::env::var_os("STRATEGY").is_some_and(|v| !v.is_empty())
}

/// 8 tasks that yield a few times, some spawning a child: returns the schedule's
/// fingerprint and the scheduler (for its step count and schedule).
fn workload(config: TestSchedulerConfig) -> (u64, Arc<TestScheduler>) {
    let (test, scheduler) = scheduler(config);
    for i in 0..8u32 {
        let inner = scheduler.clone();
        scheduler
            .spawn(async move {
                for _ in 0..(i % 4) {
                    yield_now().await;
                }
                if i % 3 == 0 {
                    inner.spawn(async { yield_now().await }).await;
                }
            })
            .detach();
    }
    test.run_until_parked();
    (test.fingerprint(), test)
}

/// The config of `strategy` for `seed`, with what it learns from a uniform run of the seed.
fn learned(strategy: Strategy, seed: u64) -> TestSchedulerConfig {
    let (_, first) = workload(
        TestSchedulerConfig::new()
            .seed(seed)
            .strategy(Strategy::UniformRandom)
            .record_schedule(true),
    );
    TestSchedulerConfig::new()
        .seed(seed)
        .strategy(strategy)
        .learn_from(&first)
}

#[test]
fn the_portfolio_is_the_default_and_its_uniform_seeds_are_the_uniform_walk() {
    assert_eq!(TestSchedulerConfig::new().strategy, Strategy::Portfolio);
    let mut uniform_seeds = 0;
    for seed in 0..40 {
        let (default, _) = workload(TestSchedulerConfig::new().seed(seed));
        let (named, _) = workload(
            TestSchedulerConfig::new()
                .seed(seed)
                .strategy(Strategy::UniformRandom),
        );
        if Strategy::Portfolio.for_seed(seed) == Strategy::UniformRandom {
            uniform_seeds += 1;
            assert_eq!(default, named, "seed {seed}");
        }
    }
    assert_eq!(uniform_seeds, 4); // 0, 11, 22, 33
}

#[test]
fn pct_and_urw_are_deterministic_per_seed_and_differ_across_seeds() {
    for strategy in [Strategy::Pct { depth: 3 }, Strategy::Urw] {
        let mut seen = HashSet::new();
        for seed in 0..16 {
            let (first, _) = workload(learned(strategy, seed));
            let (again, _) = workload(learned(strategy, seed));
            assert_eq!(first, again, "{strategy} seed {seed} replays differently");
            seen.insert(first);
        }
        assert!(
            seen.len() >= 8,
            "{strategy}: only {} distinct schedules over 16 seeds",
            seen.len()
        );
        // And not the uniform walk under another name.
        let (uniform, _) = workload(TestSchedulerConfig::new().seed(3));
        let (other, _) = workload(learned(strategy, 3));
        assert_ne!(uniform, other, "{strategy} picked as the uniform walk did");
    }
}

#[test]
fn pct_depth_1_runs_the_highest_priority_task_to_completion_before_the_others() {
    let mut orders = HashSet::new();
    for seed in 0..30 {
        let (test, scheduler) = scheduler(
            TestSchedulerConfig::new()
                .seed(seed)
                .strategy(Strategy::Pct { depth: 1 }),
        );
        let log = Arc::new(Mutex::new(String::new()));
        for name in ['x', 'y', 'z'] {
            let log = log.clone();
            scheduler
                .spawn(async move {
                    for _ in 0..5 {
                        log.lock().unwrap().push(name);
                        yield_now().await;
                    }
                })
                .detach();
        }
        test.run_until_parked();
        let log = log.lock().unwrap().clone();
        let first: Vec<char> = log.chars().step_by(5).collect();
        let expected: String = first.iter().flat_map(|&c| [c; 5]).collect();
        assert_eq!(log, expected, "seed {seed}: a task was interrupted");
        orders.insert(first);
    }
    assert!(orders.len() > 1, "every seed gave the same priorities");
}

/// The depth-2 bug: `b` runs one step, then `a` runs all 10 of its steps in a row, then
/// `b` its second. Returns whether the run hit it.
fn depth_two_bug(config: TestSchedulerConfig) -> (bool, Arc<TestScheduler>) {
    let (test, scheduler) = scheduler(config);
    let log = Arc::new(Mutex::new(String::new()));
    let a_log = log.clone();
    scheduler
        .spawn(async move {
            for _ in 0..10 {
                a_log.lock().unwrap().push('a');
                yield_now().await;
            }
        })
        .detach();
    let b_log = log.clone();
    scheduler
        .spawn(async move {
            b_log.lock().unwrap().push('b');
            yield_now().await;
            b_log.lock().unwrap().push('b');
        })
        .detach();
    test.run_until_parked();
    let hit = log.lock().unwrap().as_str() == "baaaaaaaaaab";
    (hit, test)
}

#[test]
fn pct_finds_a_depth_two_bug_that_the_uniform_walk_rarely_does() {
    const SEEDS: u64 = 300;
    let (mut uniform, mut pct) = (0u32, 0u32);
    for seed in 0..SEEDS {
        let (hit, first) = depth_two_bug(TestSchedulerConfig::new().seed(seed));
        uniform += u32::from(hit);
        let config = TestSchedulerConfig::new()
            .seed(seed)
            .strategy(Strategy::Pct { depth: 2 })
            .learn_from(&first);
        pct += u32::from(depth_two_bug(config).0);
    }
    println!(
        "depth-2 bug over {SEEDS} seeds: uniform {uniform} ({:.2}%), pct:2 {pct} ({:.2}%)",
        f64::from(uniform) * 100.0 / SEEDS as f64,
        f64::from(pct) * 100.0 / SEEDS as f64
    );
    assert!(pct >= 3, "pct found the bug in only {pct} of {SEEDS} seeds");
    assert!(
        uniform * 4 <= pct,
        "uniform found it {uniform} times, pct {pct}: not far apart"
    );
}

#[test]
fn pct_fairness_fallback_lets_a_task_spinning_on_yield_now_finish() {
    let longest = AtomicU64::new(0);
    let outcome = TestSchedulerConfig::new()
        .strategy(Strategy::Pct { depth: 2 })
        .max_steps(10_000)
        .try_run_many(40, |test| {
            let longest = &longest;
            async move {
                let flag = Arc::new(AtomicBool::new(false));
                let seen = flag.clone();
                let spinner = test.spawn(async move {
                    while !seen.load(Ordering::SeqCst) {
                        yield_now().await;
                    }
                });
                let setter = test.spawn(async move {
                    for _ in 0..3 {
                        yield_now().await;
                    }
                    flag.store(true, Ordering::SeqCst);
                });
                setter.await;
                spinner.await;
                longest.fetch_max(test.steps(), Ordering::Relaxed);
            }
        });
    assert!(outcome.is_ok(), "{outcome:?}");
    // Some seed gave the spinner the higher priority, so only the fallback let the
    // setter run: more steps than the fallback's bound of 64.
    if !strategy_from_env() {
        assert!(longest.load(Ordering::Relaxed) > 64, "{longest:?}");
    }
}

#[test]
fn urw_runs_short_tasks_later_than_the_uniform_walk_does() {
    /// One task of 40 steps and 5 of one step: the mean step at which the short ones run.
    fn mean_short_step(config: TestSchedulerConfig) -> (f64, Arc<TestScheduler>) {
        let (test, scheduler) = scheduler(config.record_schedule(true));
        scheduler
            .spawn(async {
                for _ in 0..39 {
                    yield_now().await;
                }
            })
            .detach();
        let short: Vec<_> = (0..5).map(|_| scheduler.spawn(async {})).collect();
        let ids: HashSet<_> = short.iter().map(|task| task.id()).collect();
        for task in short {
            task.detach();
        }
        test.run_until_parked();
        let steps: Vec<u64> = test
            .recent_schedule()
            .iter()
            .filter(|step| ids.contains(&step.task.id))
            .map(|step| step.step)
            .collect();
        assert_eq!(steps.len(), 5);
        (steps.iter().sum::<u64>() as f64 / 5.0, test)
    }
    let (mut uniform, mut urw) = (0.0, 0.0);
    for seed in 0..50 {
        let (mean, first) = mean_short_step(
            TestSchedulerConfig::new()
                .seed(seed)
                .strategy(Strategy::UniformRandom),
        );
        uniform += mean / 50.0;
        let config = TestSchedulerConfig::new()
            .seed(seed)
            .strategy(Strategy::Urw)
            .learn_from(&first);
        urw += mean_short_step(config).0 / 50.0;
    }
    println!("mean step of the short tasks: uniform {uniform:.1}, urw {urw:.1} (of 45)");
    assert!(urw > 3.0 * uniform, "uniform {uniform:.1}, urw {urw:.1}");
}

#[test]
fn strategy_parsing_accepts_the_documented_forms_and_names_a_bad_value() {
    let parse = |text: &str| text.parse::<StrategySpec>();
    assert_eq!(parse("uniform").unwrap().strategy, Strategy::UniformRandom);
    assert_eq!(parse("urw").unwrap().strategy, Strategy::Urw);
    assert_eq!(parse("pct:3").unwrap().strategy, Strategy::Pct { depth: 3 });
    let spec = parse("pct:3:k=412").unwrap();
    assert_eq!(
        (spec.strategy, spec.steps_hint),
        (Strategy::Pct { depth: 3 }, Some(412))
    );
    assert_eq!(spec.to_string(), "pct:3:k=412");
    assert_eq!(parse("portfolio").unwrap().strategy, Strategy::Portfolio);
    let spec = parse("urw:from=3").unwrap();
    assert_eq!((spec.strategy, spec.learned_from), (Strategy::Urw, Some(3)));
    assert_eq!(spec.to_string(), "urw:from=3");
    for bad in [
        "pct",
        "pct:0",
        "pct:x",
        "pct:2:412",
        "pct:2:k=",
        "urw:1",
        "urw:from=x",
        "random",
        "",
    ] {
        let error = parse(bad).unwrap_err().to_string();
        assert!(error.contains(&format!("{bad:?}")), "{bad}: {error}");
        assert!(
            error.contains("`uniform`")
                && error.contains("`pct:<depth>:k=<choices>`")
                && error.contains("`portfolio`"),
            "{bad}: {error}"
        );
    }
}

#[test]
fn the_replay_line_names_a_non_default_strategy() {
    if strategy_from_env() {
        return; // the environment's strategy would be the one named
    }
    // Fails only on the second call: the strategy's run, after the uniform learning run.
    let fails_second = || {
        let mut calls = 0;
        move |test: Arc<TestScheduler>| {
            calls += 1;
            let fail = calls == 2;
            async move {
                test.spawn(async { yield_now().await }).await;
                assert!(!fail, "the strategy's run fails");
            }
        }
    };
    let failure = TestSchedulerConfig::new()
        .seed(5)
        .strategy(Strategy::Pct { depth: 3 })
        .try_run(fails_second())
        .unwrap_err();
    // The uniform run had no choice point (one task, the body waiting on it), so PCT's k
    // is its least, 1, carried in the line.
    assert!(
        failure.replay_command.contains(" STRATEGY=pct:3:k=1 "),
        "{}",
        failure.replay_command
    );
    let failure = TestSchedulerConfig::new()
        .strategy(Strategy::Urw)
        .try_run(fails_second())
        .unwrap_err();
    // URW names the seed it learned from: the run's first, 0.
    assert!(
        failure.replay_command.contains(" STRATEGY=urw:from=0 "),
        "{}",
        failure.replay_command
    );
    // A k given up front: no learning run, so the first call fails, and the line keeps it.
    let failure = TestSchedulerConfig::new()
        .strategy(Strategy::Pct { depth: 2 })
        .steps_hint(Some(77))
        .try_run(|_test| async { panic!("at once") })
        .unwrap_err();
    assert!(
        failure.replay_command.contains(" STRATEGY=pct:2:k=77 "),
        "{}",
        failure.replay_command
    );
    // The default strategy is not named.
    let failure = TestSchedulerConfig::new()
        .try_run(|_test| async { panic!("uniform") })
        .unwrap_err();
    assert!(
        !failure.replay_command.contains("STRATEGY"),
        "{}",
        failure.replay_command
    );
}

#[test]
fn a_failing_learning_run_is_reported_with_the_uniform_replay_line() {
    if strategy_from_env() {
        return;
    }
    let failure = TestSchedulerConfig::new()
        .strategy(Strategy::Pct { depth: 2 })
        .try_run(|_test| async { panic!("fails under every strategy") })
        .unwrap_err();
    assert_eq!(failure.message, "fails under every strategy");
    // The code asks for PCT, so the line must say that the uniform walk failed.
    assert!(
        failure.replay_command.contains(" STRATEGY=uniform "),
        "{}",
        failure.replay_command
    );
}

#[test]
fn the_portfolio_rotates_strategies_across_seeds_and_learns_once_per_run() {
    if strategy_from_env() || std::env::var_os("SEED").is_some() {
        return;
    }
    let seeds_run = |first: u64| {
        let seen = Mutex::new(Vec::new());
        TestSchedulerConfig::new().seed(first).run_many(10, |test| {
            seen.lock().unwrap().push(test.seed());
            async move {
                let scheduler: Arc<dyn Scheduler> = test;
                scheduler.spawn(async { yield_now().await }).await;
            }
        });
        seen.into_inner().unwrap()
    };
    // From seed 0, the uniform walk's: its run is the one every PCT and URW seed learns
    // from, so the body runs once a seed (learning per seed: 6 runs more, seeds 2, 3, 4,
    // 6, 7 and 9).
    assert_eq!(seeds_run(0), (0..10).collect::<Vec<_>>());
    // From seed 2, PCT's: one learning run, the uniform walk of seed 2, then the seeds.
    assert_eq!(seeds_run(2), [2, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    let strategies: Vec<Strategy> = (0..11).map(|s| Strategy::Portfolio.for_seed(s)).collect();
    assert_eq!(strategies, unified_scheduler::PORTFOLIO);
    assert!(strategies.contains(&Strategy::UniformRandom));
    assert!(strategies.contains(&Strategy::Urw));
    for depth in 1..=3 {
        assert!(strategies.contains(&Strategy::Pct { depth }));
    }
}

/// The body writes, yields and reads while the task it spawned takes three steps to undo
/// the write: a race between the body and its task.
fn body_races_its_task(config: TestSchedulerConfig) -> bool {
    let (test, scheduler) = scheduler(config);
    let value = Arc::new(AtomicU64::new(0));
    let task = {
        let value = value.clone();
        scheduler.spawn(async move {
            yield_now().await;
            yield_now().await;
            value.store(0, Ordering::SeqCst);
        })
    };
    let seen = scheduler.block(async move {
        value.store(1, Ordering::SeqCst);
        yield_now().await;
        value.load(Ordering::SeqCst)
    });
    test.run_until_parked();
    drop(task);
    seen == 0
}

#[test]
fn pct_ranks_the_body_like_a_task_so_it_finds_a_body_racing_its_task() {
    let found = |strategy: Strategy| {
        (0..400)
            .filter(|&seed| {
                body_races_its_task(TestSchedulerConfig::new().seed(seed).strategy(strategy))
            })
            .count()
    };
    let uniform = found(Strategy::UniformRandom);
    let pct = found(Strategy::Pct { depth: 1 });
    // The walk needs three heads in a row (1/8); PCT, the task above the body (1/2).
    assert!(
        (20..=90).contains(&uniform),
        "uniform found it {uniform} times"
    );
    assert!((150..=250).contains(&pct), "pct:1 found it {pct} times");
}

#[test]
fn a_failing_pct_seed_replays_exactly_from_its_replay_line() {
    if strategy_from_env() || std::env::var_os("SEED").is_some() {
        return; // the environment would pick the seed or the strategy
    }
    let body = |test: Arc<TestScheduler>| async move {
        let log = Arc::new(Mutex::new(String::new()));
        let a_log = log.clone();
        let a = test.spawn(async move {
            for _ in 0..10 {
                a_log.lock().unwrap().push('a');
                yield_now().await;
            }
        });
        let b_log = log.clone();
        let b = test.spawn(async move {
            b_log.lock().unwrap().push('b');
            yield_now().await;
            b_log.lock().unwrap().push('b');
        });
        a.await;
        b.await;
        let log = log.lock().unwrap().clone();
        assert_ne!(log, "baaaaaaaaaab", "the depth-2 bug");
    };
    let failure = TestSchedulerConfig::new()
        .strategy(Strategy::Pct { depth: 2 })
        .try_run_many(300, body)
        .unwrap_err();
    // What `SEED=n STRATEGY=... cargo test ...` does: the strategy and k from the line.
    let spec: StrategySpec = failure
        .replay_command
        .split_whitespace()
        .find_map(|word| word.strip_prefix("STRATEGY="))
        .unwrap_or_else(|| panic!("no STRATEGY in `{}`", failure.replay_command))
        .parse()
        .unwrap();
    assert_eq!(spec.strategy, Strategy::Pct { depth: 2 });
    let replayed = TestSchedulerConfig::new()
        .seed(failure.seed)
        .strategy(spec.strategy)
        .steps_hint(spec.steps_hint)
        .try_run(body)
        .unwrap_err();
    assert_eq!(replayed.message, failure.message);
    assert_eq!(replayed.schedule, failure.schedule);
    assert_eq!(replayed.replay_command, failure.replay_command);
}
