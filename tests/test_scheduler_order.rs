//! TestScheduler: seeded ordering, FIFO mode, foreground FIFO, labels, golden fingerprints.

mod common;

use std::sync::{Arc, Mutex};

use unified_scheduler::{Scheduler, Strategy, TaskLabel, TestScheduler, TestSchedulerConfig};

fn scheduler(config: TestSchedulerConfig) -> (Arc<TestScheduler>, Arc<dyn Scheduler>) {
    let test = Arc::new(TestScheduler::with_config(config));
    let scheduler: Arc<dyn Scheduler> = test.clone();
    (test, scheduler)
}

/// The fixed workload whose schedules are pinned below: 8 tasks that yield a few times and
/// spawn children, plus foreground tasks and timers. Returns (fingerprint, order of events).
fn workload(seed: u64) -> (u64, Vec<String>) {
    workload_with(TestSchedulerConfig::new().seed(seed))
}

fn workload_with(config: TestSchedulerConfig) -> (u64, Vec<String>) {
    let (test, scheduler) = scheduler(config);
    let log = Arc::new(Mutex::new(Vec::new()));
    for i in 0..8u32 {
        let log = log.clone();
        let inner = scheduler.clone();
        scheduler
            .spawn(async move {
                for step in 0..(i % 3) {
                    log.lock().unwrap().push(format!("t{i}.{step}"));
                    futures_lite::future::yield_now().await;
                }
                if i % 4 == 0 {
                    let child_log = log.clone();
                    inner
                        .spawn(async move { child_log.lock().unwrap().push(format!("child{i}")) })
                        .await;
                }
                log.lock().unwrap().push(format!("t{i}.done"));
            })
            .detach();
    }
    for i in 0..3u32 {
        let log = log.clone();
        scheduler
            .spawn_foreground(async move { log.lock().unwrap().push(format!("fg{i}")) })
            .detach();
    }
    let timer_log = log.clone();
    let timers = scheduler.clone();
    scheduler
        .spawn(async move {
            timers.timer(std::time::Duration::from_millis(5)).await;
            timer_log.lock().unwrap().push("timer".into());
        })
        .detach();
    test.advance_clock(std::time::Duration::from_millis(10));
    let order = log.lock().unwrap().clone();
    (test.fingerprint(), order)
}

#[test]
fn the_same_seed_gives_the_same_schedule() {
    for seed in 0..20 {
        assert_eq!(workload(seed), workload(seed), "seed {seed}");
    }
}

#[test]
fn different_seeds_explore_different_orders() {
    let orders: std::collections::BTreeSet<_> = (0..20).map(|seed| workload(seed).1).collect();
    assert!(
        orders.len() > 10,
        "only {} distinct orders in 20 seeds",
        orders.len()
    );
}

/// Golden fingerprints: a change here means every user's seed replays differently: a
/// breaking change, to be noted in CHANGELOG.md (or, if only the fingerprint's own mixing
/// changed, with the schedules shown unchanged under the old one, a change of the value). They hold on every OS (the Windows CI runs
/// this file under Wine).
///
/// The uniform walk's are those of 0.1, where it was the default: `STRATEGY=uniform` replays
/// a seed filed against 0.1. The portfolio's (the default since) were pinned when it became
/// the default; a scheduler made by hand learns nothing, so its PCT runs over 1000 choice
/// points.
#[test]
fn golden_fingerprints_are_stable_across_platforms_and_releases() {
    let uniform = |seed| {
        TestSchedulerConfig::new()
            .seed(seed)
            .strategy(Strategy::UniformRandom)
    };
    let fingerprints: Vec<u64> = (0..5).map(|seed| workload_with(uniform(seed)).0).collect();
    assert_eq!(
        fingerprints, GOLDEN,
        "the uniform walk's schedules changed; got {fingerprints:#x?}"
    );
    let fingerprints: Vec<u64> = (0..8).map(|seed| workload(seed).0).collect();
    assert_eq!(
        fingerprints, GOLDEN_PORTFOLIO,
        "the portfolio's schedules changed; got {fingerprints:#x?}"
    );
}

const GOLDEN_PORTFOLIO: [u64; 8] = [
    0x57ed_f5f1_9029_6599,
    0xd29b_fe98_7fb8_867a,
    0xdb80_5b74_e9ea_53b9,
    0x366a_baeb_0431_7b7b,
    0x1189_7846_b952_9bc4,
    0xae32_0998_db1c_1248,
    0xa256_460a_2b04_67ee,
    0x74ac_384b_bde3_287b,
];

const GOLDEN: [u64; 5] = [
    0x57ed_f5f1_9029_6599,
    0xa45f_ee95_a847_d455,
    0x1db4_9d84_8a9c_5b5e,
    0x94e5_368e_6edf_51fc,
    0xc519_a40f_bc79_881e,
];

/// A test body that races its own tasks, driven by the runner: the schedule includes how
/// many tasks run between two polls of the blocked body (a `block`). Returns the
/// fingerprint and the order of events.
fn racing_body(seed: u64) -> (u64, Vec<String>) {
    racing_body_with(TestSchedulerConfig::new().seed(seed))
}

fn racing_body_with(config: TestSchedulerConfig) -> (u64, Vec<String>) {
    let result = Arc::new(Mutex::new((0, Vec::new())));
    let out = result.clone();
    config.run(move |test| {
        let out = out.clone();
        async move {
            let scheduler: Arc<dyn Scheduler> = test.clone();
            let log = Arc::new(Mutex::new(Vec::new()));
            let tasks: Vec<_> = (0..4u32)
                .map(|i| {
                    let log = log.clone();
                    scheduler.spawn(async move {
                        for step in 0..=i {
                            log.lock().unwrap().push(format!("t{i}.{step}"));
                            futures_lite::future::yield_now().await;
                        }
                    })
                })
                .collect();
            for round in 0..3 {
                log.lock().unwrap().push(format!("body{round}"));
                futures_lite::future::yield_now().await;
            }
            for task in tasks {
                task.await;
            }
            let order = log.lock().unwrap().clone();
            *out.lock().unwrap() = (test.fingerprint(), order);
        }
    });
    result.lock().unwrap().clone()
}

#[test]
fn a_racing_body_replays_the_same_for_a_seed_and_differs_across_seeds() {
    for seed in 0..10 {
        assert_eq!(racing_body(seed), racing_body(seed), "seed {seed}");
    }
    let orders: std::collections::BTreeSet<_> = (0..20).map(|seed| racing_body(seed).1).collect();
    assert!(
        orders.len() > 10,
        "only {} distinct orders in 20 seeds",
        orders.len()
    );
}

/// Golden fingerprints of schedules that `block` takes part in (the runner drives every
/// test body with it). Pinned when the seed started to decide how many tasks run between
/// two polls of a blocked future; the same rules as `GOLDEN` apply.
#[test]
///
/// As for `GOLDEN`: the uniform walk's of 0.1, and the portfolio's, whose PCT and URW seeds
/// learn from the uniform run of the seed (each seed is a run of its own here).
fn golden_fingerprints_of_a_racing_body_are_stable_across_platforms_and_releases() {
    let uniform = |seed| {
        TestSchedulerConfig::new()
            .seed(seed)
            .strategy(Strategy::UniformRandom)
    };
    let fingerprints: Vec<u64> = (0..5)
        .map(|seed| racing_body_with(uniform(seed)).0)
        .collect();
    assert_eq!(
        fingerprints, GOLDEN_RACING_BODY,
        "the uniform walk's schedules changed; got {fingerprints:#x?}"
    );
    let fingerprints: Vec<u64> = (0..8).map(|seed| racing_body(seed).0).collect();
    assert_eq!(
        fingerprints, GOLDEN_RACING_BODY_PORTFOLIO,
        "the portfolio's schedules changed; got {fingerprints:#x?}"
    );
}

const GOLDEN_RACING_BODY_PORTFOLIO: [u64; 8] = [
    0x747c_662e_feed_177f,
    0x6a7e_6db3_8123_3213,
    0x95e8_2ddb_0cdf_6564,
    0x01a0_8e6c_ed61_2067,
    0x4fba_f9f8_973e_ba34,
    0xa136_2c69_dd0f_b09f,
    0x1bf5_ba9c_c0c7_eb9b,
    0x2efd_6cac_7089_a463,
];

const GOLDEN_RACING_BODY: [u64; 5] = [
    0x747c_662e_feed_177f,
    0x2288_706b_d763_c5c0,
    0x9f24_64c1_96c8_4f81,
    0xa684_d6b3_57c6_4efa,
    0xd2c2_6da1_9008_4d14,
];

#[test]
fn fifo_mode_runs_in_spawn_order_for_every_seed() {
    let expected: Vec<usize> = (0..10).collect();
    for seed in 0..10 {
        let (test, scheduler) =
            scheduler(TestSchedulerConfig::new().seed(seed).randomize_order(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        for i in 0..10 {
            let log = log.clone();
            if i % 3 == 0 {
                scheduler
                    .spawn_foreground(async move { log.lock().unwrap().push(i) })
                    .detach();
            } else {
                scheduler
                    .spawn(async move { log.lock().unwrap().push(i) })
                    .detach();
            }
        }
        test.run_until_parked();
        assert_eq!(*log.lock().unwrap(), expected, "seed {seed}");
    }
}

#[test]
fn foreground_tasks_keep_fifo_order_among_themselves_under_random_order() {
    for seed in 0..30 {
        let (test, scheduler) = scheduler(TestSchedulerConfig::new().seed(seed));
        let log = Arc::new(Mutex::new(Vec::new()));
        for i in 0..6 {
            let fg_log = log.clone();
            scheduler
                .spawn_foreground(async move { fg_log.lock().unwrap().push(("fg", i)) })
                .detach();
            let bg_log = log.clone();
            scheduler
                .spawn(async move { bg_log.lock().unwrap().push(("bg", i)) })
                .detach();
        }
        test.run_until_parked();
        let fg: Vec<i32> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.0 == "fg")
            .map(|e| e.1)
            .collect();
        assert_eq!(fg, (0..6).collect::<Vec<_>>(), "seed {seed}");
    }
}

#[test]
fn foreground_tasks_are_on_the_main_thread_and_background_ones_are_not() {
    let (test, scheduler) = scheduler(TestSchedulerConfig::new());
    let fg_sched = scheduler.clone();
    let bg_sched = scheduler.clone();
    let fg = scheduler.spawn_foreground(async move { fg_sched.is_main_thread() });
    let bg = scheduler.spawn(async move { bg_sched.is_main_thread() });
    test.run_until_parked();
    assert!(scheduler.block(fg));
    assert!(!scheduler.block(bg));
    assert!(
        scheduler.is_main_thread(),
        "the test body is on the main thread"
    );
}

#[test]
fn deprioritized_labels_run_only_when_nothing_else_can() {
    for seed in 0..20 {
        let (test, scheduler) = scheduler(TestSchedulerConfig::new().seed(seed));
        let slow = TaskLabel::new();
        test.deprioritize(slow);
        let log = Arc::new(Mutex::new(Vec::new()));
        for i in 0..4 {
            let log = log.clone();
            scheduler
                .spawn_labeled(slow, async move {
                    log.lock().unwrap().push(format!("slow{i}"));
                    futures_lite::future::yield_now().await;
                    log.lock().unwrap().push(format!("slow{i}'"));
                })
                .detach();
        }
        for i in 0..4 {
            let log = log.clone();
            scheduler
                .spawn(async move { log.lock().unwrap().push(format!("fast{i}")) })
                .detach();
        }
        test.run_until_parked();
        let log = log.lock().unwrap();
        let last_fast = log.iter().rposition(|e| e.starts_with("fast")).unwrap();
        let first_slow = log.iter().position(|e| e.starts_with("slow")).unwrap();
        assert!(last_fast < first_slow, "seed {seed}: {log:?}");
        assert_eq!(log.len(), 12);
    }
}

#[test]
fn labels_that_are_not_deprioritized_run_normally() {
    let (test, scheduler) = scheduler(TestSchedulerConfig::new().randomize_order(false));
    let label = TaskLabel::new();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    scheduler
        .spawn_labeled(label, async move { l.lock().unwrap().push("labeled") })
        .detach();
    let l = log.clone();
    scheduler
        .spawn(async move { l.lock().unwrap().push("plain") })
        .detach();
    test.run_until_parked();
    assert_eq!(*log.lock().unwrap(), ["labeled", "plain"]);
}

#[test]
fn tick_background_only_leaves_foreground_work_queued() {
    let (test, scheduler) = scheduler(TestSchedulerConfig::new());
    let fg = scheduler.spawn_foreground(async {});
    let bg = scheduler.spawn(async {});
    assert!(test.tick_background_only());
    assert!(!test.tick_background_only());
    assert!(bg.is_finished());
    assert!(!fg.is_finished());
    assert!(test.tick());
    assert!(fg.is_finished());
}

#[test]
fn rng_and_num_cpus_are_deterministic_and_settable() {
    let draw = |seed| {
        TestScheduler::with_config(TestSchedulerConfig::new().seed(seed))
            .rng()
            .next_u64()
    };
    assert_eq!(draw(4), draw(4));
    assert_ne!(draw(4), draw(5));
    let (test, scheduler) = scheduler(TestSchedulerConfig::new().num_cpus(3));
    assert_eq!(scheduler.num_cpus(), 3);
    test.set_num_cpus(12);
    assert_eq!(scheduler.num_cpus(), 12);
}

#[test]
fn the_scheduler_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TestScheduler>();
}
