//! Shrunk schedules: a failing seed's schedule replayed as a forced schedule and cut down
//! to the few choices its failure needs, named by task, spawn site and virtual time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_lite::future::yield_now;
use unified_scheduler::{
    ForcedSchedule, Scheduler, ShrunkSchedule, TestScheduler, TestSchedulerConfig,
};

/// A read-yield-write increment: two of them racing may lose an update.
async fn racer(counter: Arc<AtomicU64>) {
    let seen = counter.load(Ordering::SeqCst);
    yield_now().await;
    counter.store(seen + 1, Ordering::SeqCst);
}

/// Two racers, then six tasks yielding for nothing; fails when an update is lost.
async fn racy(test: Arc<TestScheduler>) {
    let scheduler: Arc<dyn Scheduler> = test;
    let counter = Arc::new(AtomicU64::new(0));
    let a = scheduler.spawn(racer(counter.clone()));
    let b = scheduler.spawn(racer(counter.clone()));
    let mut noise = Vec::new();
    for i in 0..6u32 {
        noise.push(scheduler.spawn(async move {
            for _ in 0..=i % 3 {
                yield_now().await;
            }
        }));
    }
    a.await;
    b.await;
    for task in noise {
        task.await;
    }
    let count = counter.load(Ordering::SeqCst);
    assert_eq!(count, 2, "lost update: the counter is {count}");
}

/// The lines of this file that spawn a racer.
fn racer_lines() -> Vec<u32> {
    include_str!("test_scheduler_shrink.rs")
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains("spawn(racer(") && !line.contains("contains("))
        .map(|(index, _)| index as u32 + 1)
        .collect()
}

/// The first seed under 500 whose uniform schedule loses an update.
fn failing_seed() -> u64 {
    (0..500)
        .find(|&seed| TestSchedulerConfig::new().seed(seed).try_run(racy).is_err())
        .expect("a seed under 500 loses an update")
}

fn shrink(seed: u64) -> ShrunkSchedule {
    TestSchedulerConfig::new()
        .seed(seed)
        .shrink(racy)
        .expect("the seed fails, and fails again when forced")
}

#[test]
fn a_lost_update_among_noisy_tasks_shrinks_to_the_racers_choices() {
    let seed = failing_seed();
    let shrunk = shrink(seed);
    assert!(
        shrunk.steps.len() <= 3 && shrunk.steps.len() < shrunk.choices_before,
        "{} of {} choices kept:\n{shrunk}",
        shrunk.steps.len(),
        shrunk.choices_before
    );
    assert!(
        !shrunk.steps.is_empty(),
        "the default order passes: {shrunk}"
    );
    assert!(shrunk.replays <= 300, "{} replays", shrunk.replays);
    assert!(shrunk.message.contains("lost update"), "{}", shrunk.message);
    let racers = racer_lines();
    assert_eq!(racers.len(), 2);
    // The choices that matter switch between the racers: each names a racer's spawn site,
    // and so does the task it ran instead of.
    for kept in &shrunk.steps {
        for task in [Some(kept.step.task), kept.instead_of] {
            let task = task.expect("the default's task ran");
            assert!(
                racers.contains(&task.spawned_at.line())
                    && task.spawned_at.file().ends_with("test_scheduler_shrink.rs"),
                "a kept step is not between the racers ({racers:?}):\n{shrunk}"
            );
        }
    }
    let report = shrunk.to_string();
    assert!(
        report.contains(&format!(
            "{} of {} choices kept",
            shrunk.steps.len(),
            shrunk.choices_before
        )),
        "{report}"
    );
    assert!(
        racers
            .iter()
            .all(|line| report.contains(&format!("test_scheduler_shrink.rs:{line}:"))),
        "{report}"
    );
}

#[test]
fn the_shrunk_schedule_fails_again_when_replayed() {
    let seed = failing_seed();
    let shrunk = shrink(seed);
    let replayed = TestSchedulerConfig::new()
        .seed(seed)
        .forced_schedule(shrunk.forced_schedule())
        .try_run(racy)
        .expect_err("the shrunk schedule still loses an update");
    assert!(
        replayed.message.contains("lost update"),
        "{}",
        replayed.message
    );
    assert_eq!(replayed.total_steps, shrunk.total_steps);
}

#[test]
fn shrinking_is_deterministic() {
    let seed = failing_seed();
    let (first, second) = (shrink(seed), shrink(seed));
    assert_eq!(first.forced_schedule(), second.forced_schedule());
    assert_eq!(first.to_string(), second.to_string());
    assert_eq!(first.replays, second.replays);
}

#[test]
fn a_passing_forced_schedule_is_not_reported_as_failing() {
    // The default order runs each racer to its end: no update lost.
    for seed in 0..5 {
        let outcome = TestSchedulerConfig::new()
            .seed(seed)
            .forced_schedule(ForcedSchedule::default())
            .try_run(racy);
        assert!(outcome.is_ok(), "seed {seed}: {outcome:?}");
    }
    let passes = TestSchedulerConfig::new().shrink(|test| async move {
        let scheduler: Arc<dyn Scheduler> = test;
        assert_eq!(scheduler.spawn(async { 2 }).await, 2);
    });
    assert!(passes.is_none());
}

#[test]
fn a_choice_of_a_task_that_cannot_run_falls_back_to_the_default_order() {
    // Task 99 never exists: every step follows the default order, which passes.
    let nobody = unified_scheduler::TaskId::from_raw(99).unwrap();
    let outcome = TestSchedulerConfig::new()
        .forced_schedule(ForcedSchedule::new((0..50).map(|step| (step, nobody))))
        .try_run(racy);
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[test]
fn without_shrink_the_failure_is_unchanged() {
    if std::env::var_os("SHRINK").is_some() {
        return; // told to shrink from outside
    }
    let seed = failing_seed();
    let failure = TestSchedulerConfig::new()
        .seed(seed)
        .try_run(racy)
        .unwrap_err();
    assert!(
        failure
            .message
            .starts_with("assertion `left == right` failed: lost update")
    );
    assert!(!failure.to_string().contains("shrunk"), "{failure}");
    // The panicking runner goes on with the original panic, nothing added.
    let panic =
        std::panic::catch_unwind(|| TestSchedulerConfig::new().seed(seed).run(racy)).unwrap_err();
    let message = panic.downcast_ref::<String>().expect("a formatted panic");
    assert!(!message.contains("shrunk"), "{message}");
    assert!(message.contains("lost update"), "{message}");
}

/// Run by `shrink_1_prints_the_shrunk_schedule_under_the_failure` in a child process.
#[test]
#[ignore = "fails on purpose; run by another test with SHRINK=1"]
fn failing_runner_for_the_shrink_env() {
    TestSchedulerConfig::new().seed(failing_seed()).run(racy);
}

/// Likewise, through `#[unified_scheduler::test]` (the parallel runner).
#[unified_scheduler::test(iterations = 500)]
#[ignore = "fails on purpose; run by another test with SHRINK=1"]
async fn failing_macro_test_for_the_shrink_env(test: Arc<TestScheduler>) {
    racy(test).await;
}

#[test]
fn shrink_1_prints_the_shrunk_schedule_under_the_failure() {
    shrink_1_prints_under("failing_runner_for_the_shrink_env");
}

#[test]
fn shrink_1_prints_the_shrunk_schedule_under_a_macro_tests_failure() {
    shrink_1_prints_under("failing_macro_test_for_the_shrink_env");
}

fn shrink_1_prints_under(test: &str) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--ignored"])
        .args(["--nocapture", "--test-threads=1"])
        .env("SHRINK", "1")
        .env_remove("SEED")
        .env_remove("ITERATIONS")
        .env_remove("STRATEGY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    let shrunk = stderr
        .find("choices kept")
        .expect("the shrunk schedule is printed");
    let failed = stderr
        .find("failed. ")
        .expect("the failure report is printed");
    assert!(
        shrunk < failed,
        "the shrunk schedule comes first:\n{stderr}"
    );
    for line in racer_lines() {
        assert!(
            stderr.contains(&format!("test_scheduler_shrink.rs:{line}:")),
            "{stderr}"
        );
    }
}
