//! Seeing the schedule: a failing seed's last steps (task, spawn site, virtual time), the
//! whole schedule with `record_schedule` / `SCHEDULE=1`, and the report that prints them.

use std::process::Command;
use std::time::Duration;

use unified_scheduler::prelude::*;

/// 40 tasks, each waiting a second longer than the last, then a failure.
async fn forty_timers_then_a_panic(test: std::sync::Arc<TestScheduler>) {
    let tasks: Vec<_> = (1..=40)
        .map(|i| test.spawn_labeled(TaskLabel::new(), test.timer(Duration::from_secs(i))))
        .collect();
    for task in tasks {
        task.await;
    }
    panic!("failed after the timers");
}

#[test]
fn a_failing_seed_carries_its_last_steps_in_order() {
    let failure = TestSchedulerConfig::new()
        .try_run(forty_timers_then_a_panic)
        .unwrap_err();
    let steps = &failure.schedule;
    assert_eq!(
        steps.len(),
        32,
        "the last 32 of {} steps",
        failure.total_steps
    );
    assert!(
        failure.total_steps > 40,
        "40 timers and 40 waiting tasks ran"
    );
    let numbers: Vec<u64> = steps.iter().map(|s| s.step).collect();
    let expected: Vec<u64> = (failure.total_steps - 32..failure.total_steps).collect();
    assert_eq!(
        numbers, expected,
        "consecutive, oldest first, ending at the last step"
    );
    assert!(
        steps.windows(2).all(|w| w[0].at <= w[1].at),
        "virtual time never runs backwards"
    );
    assert_eq!(steps.last().unwrap().at, Duration::from_secs(40));
    assert!(
        steps.iter().all(|s| s.task.spawned_at.file() == file!()),
        "every step names a spawn site in this file"
    );
    assert!(
        steps.iter().any(|s| s.task.label.is_some()),
        "labels are kept"
    );
}

#[test]
fn record_schedule_keeps_every_step() {
    let failure = TestSchedulerConfig::new()
        .record_schedule(true)
        .try_run(forty_timers_then_a_panic)
        .unwrap_err();
    assert_eq!(failure.schedule.len() as u64, failure.total_steps);
    assert_eq!(failure.schedule[0].step, 0);
}

#[test]
fn a_passing_seed_leaves_no_schedule_behind_for_the_next_failure() {
    TestScheduler::once(|test| async move { test.spawn(async {}).await });
    let failure = TestSchedulerConfig::new()
        .try_run(|_test| async { panic!("at once") })
        .unwrap_err();
    // The body's own first poll is the only step: nothing of the passing seed before it.
    assert_eq!(failure.total_steps, failure.schedule.len() as u64);
    assert!(
        failure
            .schedule
            .iter()
            .all(|s| s.step < failure.total_steps)
    );
}

/// Run by `the_report_prints_the_schedule` in a child process.
#[test]
#[ignore = "fails on purpose; run by another test in a child process"]
fn fails_after_forty_timers() {
    TestScheduler::once(forty_timers_then_a_panic);
}

fn run_child(env: &[(&str, &str)]) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args([
        "fails_after_forty_timers",
        "--exact",
        "--ignored",
        "--nocapture",
    ]);
    for name in [
        "SEED",
        "ITERATIONS",
        "CHECK_DETERMINISM",
        "SCHEDULE",
        "MAX_STEPS",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let output = command.output().unwrap();
    assert!(!output.status.success(), "the child test fails on purpose");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_report_prints_the_last_steps_and_schedule_one_prints_them_all() {
    let stderr = run_child(&[]);
    assert!(
        stderr.contains("TestScheduler: the last 32 of the ") && stderr.contains("SCHEDULE=1"),
        "{stderr}"
    );
    let step_lines = stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("step "))
        .count();
    assert_eq!(step_lines, 32, "{stderr}");
    assert!(
        stderr.contains("at +  40.000s"),
        "the virtual time of the last step: {stderr}"
    );
    assert!(
        stderr.contains(&format!("spawned at {}", file!())),
        "{stderr}"
    );

    let stderr = run_child(&[("SCHEDULE", "1")]);
    assert!(stderr.contains("the schedule of seed 0, all "), "{stderr}");
    let step_lines = stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("step "))
        .count();
    assert!(step_lines > 40, "{step_lines} step lines: {stderr}");
}

#[test]
fn the_determinism_check_tells_apart_two_tasks_of_one_spawn_site() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // Outside the seed: the second run makes task 0 yield more, as real time would.
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    // The uniform walk: the divergence this message is pinned to is the one it gives.
    let failure = TestSchedulerConfig::new()
        .seed(1)
        .strategy(unified_scheduler::Strategy::UniformRandom)
        .check_determinism(true)
        .try_run(|test| async move {
            let run = RUNS.fetch_add(1, Ordering::SeqCst);
            let tasks: Vec<_> = (0..4)
                .map(|i| {
                    test.spawn(async move {
                        let yields = if i == 0 { 1 + 3 * run } else { 1 };
                        for _ in 0..yields {
                            yield_now().await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await;
            }
        })
        .unwrap_err();
    assert!(
        failure.message.contains("non-deterministic schedule"),
        "{}",
        failure.message
    );
    let ordinals = failure.message.matches(" task spawned there)").count();
    assert_eq!(
        ordinals, 2,
        "both tasks get their rank at the site: {}",
        failure.message
    );
}

#[test]
fn a_seed_failure_fits_in_a_boxed_send_sync_error() {
    fn boxed(
        failure: unified_scheduler::SeedFailure,
    ) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        Box::new(failure)
    }
    let failure = TestSchedulerConfig::new()
        .try_run(|_test| async { panic!("boxed") })
        .unwrap_err();
    let error = std::thread::spawn(move || boxed(failure)).join().unwrap();
    assert!(error.to_string().contains("boxed"), "{error}");
}
