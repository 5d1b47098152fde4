//! `#[unified_scheduler::test]`: the seeds it runs, the env overrides, the bodies it takes
//! (async or plain, `()` or `Result`), the parameters it injects, and the replay line of a
//! failing macro test. The compile errors are `compile_fail` doc-tests on the re-export.
//!
//! A macro test is a plain `#[test] fn`, so the checks below call the `#[ignore]`d ones
//! directly; each records its seeds in a thread-local (the body runs on the calling thread),
//! so a run with `--include-ignored` cannot mix two runs' records.

mod common;

use std::cell::RefCell;
use std::process::Command;
use std::rc::Rc;
use std::sync::Arc;

use common::expect_panic;
use unified_scheduler::{BackgroundExecutor, ForegroundExecutor, Scheduler, TestScheduler};

thread_local! {
    static SEEDS: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

fn record(test: &TestScheduler) {
    SEEDS.with(|seeds| seeds.borrow_mut().push(test.seed()));
}

/// The seeds `test` ran, in order (under the default environment).
fn seeds_of(test: fn()) -> Option<Vec<u64>> {
    if ["SEED", "ITERATIONS", "CHECK_DETERMINISM", "JOBS"]
        .iter()
        .any(|name| std::env::var_os(name).is_some())
    {
        return None; // the environment chose the seeds
    }
    SEEDS.with(|seeds| seeds.borrow_mut().clear());
    test();
    Some(SEEDS.with(|seeds| seeds.take()))
}

#[unified_scheduler::test]
#[ignore = "called by the_default_is_seed_0"]
async fn no_arguments(test: Arc<TestScheduler>) {
    record(&test);
}

#[test]
fn the_default_is_seed_0() {
    if let Some(seeds) = seeds_of(no_arguments) {
        assert_eq!(seeds, [0]);
    }
}

#[unified_scheduler::test(iterations = 7)]
#[ignore = "called by iterations_runs_seeds_from_0"]
async fn seven_iterations(test: Arc<TestScheduler>) {
    record(&test);
}

#[test]
fn iterations_runs_seeds_from_0() {
    if let Some(seeds) = seeds_of(seven_iterations) {
        assert_eq!(seeds, [0, 1, 2, 3, 4, 5, 6]);
    }
}

#[unified_scheduler::test(seed = 17)]
#[ignore = "called by seed_runs_that_seed"]
async fn seed_17(test: Arc<TestScheduler>) {
    record(&test);
}

#[unified_scheduler::test(seed = 5, iterations = 3)]
#[ignore = "called by seed_runs_that_seed"]
async fn from_seed_5(test: Arc<TestScheduler>) {
    record(&test);
}

#[test]
fn seed_runs_that_seed_and_iterations_go_on_from_it() {
    if let Some(seeds) = seeds_of(seed_17) {
        // Seed 17 is the portfolio's PCT of depth 2: first the learning run.
        assert_eq!(seeds, [17, 17]);
    }
    if let Some(seeds) = seeds_of(from_seed_5) {
        // The first 5 is the learning run (the uniform walk of seed 5) that seed 6, the
        // portfolio's PCT of depth 2, takes its `k` from; a run from a uniform seed (0, 8,
        // ...) learns from that seed's own run instead.
        assert_eq!(seeds, [5, 5, 6, 7]);
    }
}

#[unified_scheduler::test(seeds(1, 5, 9))]
#[ignore = "called by seeds_runs_those; run by the env tests in a child process"]
async fn listed_seeds(scheduler: Arc<dyn Scheduler>) {
    let test = scheduler.downcast_ref::<TestScheduler>().unwrap();
    record(test);
    println!("ran seed {}", test.seed());
    // Some steps, for MAX_STEPS to cut short.
    scheduler
        .spawn(async {
            for _ in 0..100 {
                futures_lite::future::yield_now().await;
            }
        })
        .await;
}

#[test]
fn seeds_runs_those() {
    if let Some(seeds) = seeds_of(listed_seeds) {
        // Each listed seed is a run of its own; 9, the portfolio's PCT of depth 2, learns
        // first (1 and 5, PCT of depth 1, have nothing to learn).
        assert_eq!(seeds, [1, 5, 9, 9]);
    }
}

#[unified_scheduler::test(check_determinism)]
#[ignore = "called by check_determinism_runs_each_seed_twice"]
async fn checked(test: Arc<TestScheduler>) {
    record(&test);
}

#[test]
fn check_determinism_runs_each_seed_twice() {
    if let Some(seeds) = seeds_of(checked) {
        assert_eq!(seeds, [0, 0]);
    }
}

/// Runs `listed_seeds` in a child process with `env`: its success and output.
fn run_listed_seeds(env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["listed_seeds", "--exact", "--ignored", "--nocapture"]);
    for name in [
        "SEED",
        "ITERATIONS",
        "CHECK_DETERMINISM",
        "MAX_STEPS",
        "JOBS",
        "STRATEGY",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    let output = command.output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), all)
}

fn ran(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("ran seed "))
        .collect()
}

#[test]
fn the_env_overrides_work_as_for_the_runners() {
    let (passed, output) = run_listed_seeds(&[]);
    assert!(passed, "{output}");
    assert_eq!(ran(&output), ["1", "5", "9", "9"]);
    let (passed, output) = run_listed_seeds(&[("SEED", "42")]);
    assert!(passed, "{output}");
    // Seed 42 is the portfolio's PCT of depth 2: the learning run, then the seed's own.
    assert_eq!(ran(&output), ["42", "42"]);
    let (passed, output) = run_listed_seeds(&[("SEED", "42"), ("STRATEGY", "uniform")]);
    assert!(passed, "{output}");
    assert_eq!(ran(&output), ["42"]);
    let (passed, output) = run_listed_seeds(&[("ITERATIONS", "3")]);
    assert!(passed, "{output}");
    assert_eq!(ran(&output), ["0", "1", "2"]);
    let (passed, output) = run_listed_seeds(&[("SEED", "7"), ("CHECK_DETERMINISM", "1")]);
    assert!(passed, "{output}");
    // Seed 7, the portfolio's PCT of depth 3: the learning run, then the two compared.
    assert_eq!(ran(&output), ["7", "7", "7"]);
    let (passed, output) = run_listed_seeds(&[("MAX_STEPS", "20")]);
    assert!(!passed, "{output}");
    assert!(
        output.contains("step budget ran out after 20 steps"),
        "{output}"
    );
}

#[unified_scheduler::test(iterations = 3)]
async fn an_async_body_may_return_ok(test: Arc<TestScheduler>) -> Result<(), String> {
    let task = test.background().spawn(async { 2 });
    assert_eq!(task.await, 2);
    Ok(())
}

#[unified_scheduler::test]
#[ignore = "called by an_err_fails_the_seed_with_its_debug"]
async fn returns_err() -> Result<(), std::io::Error> {
    Err(std::io::Error::other("broken pipe dream"))
}

#[unified_scheduler::test(seed = 2)]
#[ignore = "called by an_err_fails_the_seed_with_its_debug"]
fn a_plain_fn_returns_err(test: Arc<TestScheduler>) -> Result<(), String> {
    Err(format!("plain err on seed {}", test.seed()))
}

#[test]
fn an_err_fails_the_seed_with_its_debug() {
    let message = expect_panic(returns_err);
    assert!(
        message.starts_with("the test returned Err(Custom"),
        "{message}"
    );
    assert!(message.contains("\"broken pipe dream\""), "{message}");
    if std::env::var_os("SEED").is_none() {
        let message = expect_panic(a_plain_fn_returns_err);
        assert_eq!(message, "the test returned Err(\"plain err on seed 2\")");
    }
}

#[unified_scheduler::test]
fn a_plain_fn_runs_inside_the_seeds_block(scheduler: Arc<dyn Scheduler>) {
    // Inside `block`, a plain body can drive the scheduler as an async one would.
    let task = scheduler.spawn(async { 40 + 2 });
    scheduler.run_until_parked();
    assert!(task.is_finished());
}

#[unified_scheduler::test]
async fn no_parameters_at_all() {
    let (tx, rx) = std::sync::mpsc::channel();
    tx.send(1).unwrap();
    assert_eq!(rx.recv().unwrap(), 1);
}

#[unified_scheduler::test(iterations = 5)]
async fn every_injected_type_is_the_seeds_scheduler(
    test: Arc<TestScheduler>,
    full_path: std::sync::Arc<unified_scheduler::TestScheduler>,
    scheduler: Arc<dyn Scheduler>,
    background: BackgroundExecutor,
    foreground: ForegroundExecutor,
) {
    assert!(Arc::ptr_eq(&test, &full_path));
    let as_dyn: Arc<dyn Scheduler> = test.clone();
    assert!(Arc::ptr_eq(&as_dyn, &scheduler));
    // Work spawned through each handle runs on the seed's scheduler: only it moves them.
    let from_background = background.spawn(async { 1 });
    let local = Rc::new(2); // !Send: the foreground executor takes it
    let from_foreground = foreground.spawn(async move { *local });
    assert_eq!(test.steps(), 0);
    test.run_until_parked();
    assert!(from_background.is_finished() && from_foreground.is_finished());
    assert_eq!(from_background.await + from_foreground.await, 3);
    assert!(test.steps() >= 2);
}

/// Run by `a_failing_macro_test_prints_a_line_that_replays_it` in a child process.
#[unified_scheduler::test(iterations = 20)]
#[ignore = "fails on purpose; run by another test in a child process"]
async fn fails_on_seed_4(test: Arc<TestScheduler>) {
    assert!(test.seed() != 4, "seed {} is unlucky", test.seed());
}

#[test]
fn a_failing_macro_test_prints_a_line_that_replays_it() {
    let exe = std::env::current_exe().unwrap();
    let output = Command::new(&exe)
        .args(["fails_on_seed_4", "--exact", "--ignored"])
        .env_remove("SEED")
        .env_remove("ITERATIONS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("seed 4 is unlucky"), "{stdout}");
    assert!(
        stdout.contains(
            "SEED=4 STRATEGY=pct:3:k=1 cargo test -p unified-scheduler --test test_macro -- \
             fails_on_seed_4 --exact --include-ignored"
        ),
        "{stdout}"
    );
    // The line without cargo (cargo's is checked by tests/replay_line.rs): run it.
    let direct = stdout
        .lines()
        .filter_map(|line| line.strip_prefix("    "))
        .find(|line| line.starts_with(&format!("SEED=4 STRATEGY=pct:3:k=1 {}", exe.display())))
        .unwrap_or_else(|| panic!("no line running the binary in: {stdout}"));
    assert_eq!(
        direct,
        format!(
            "SEED=4 STRATEGY=pct:3:k=1 {} fails_on_seed_4 --exact --include-ignored",
            exe.display()
        )
    );
    let replay = Command::new(&exe)
        .args(["fails_on_seed_4", "--exact", "--include-ignored"])
        .env("SEED", "4")
        .env("STRATEGY", "pct:3:k=1")
        .output()
        .unwrap();
    let replayed = String::from_utf8_lossy(&replay.stdout);
    assert!(!replay.status.success(), "{replayed}");
    assert!(replayed.contains("running 1 test"), "{replayed}");
    assert!(replayed.contains("seed 4 is unlucky"), "{replayed}");
    // The body's output, the runner's included, is in libtest's report of the failure.
    assert!(replayed.contains("running 1 seed(s) from 4"), "{replayed}");
}

#[test]
fn with_jobs_a_macro_test_runs_on_threads_and_still_reports_its_lowest_failing_seed() {
    let exe = std::env::current_exe().unwrap();
    for round in 0..5 {
        let output = Command::new(&exe)
            .args(["fails_on_seed_4", "--exact", "--ignored"])
            .env_remove("SEED")
            .env_remove("ITERATIONS")
            .env("JOBS", "4")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(!output.status.success(), "round {round}: {stdout}");
        assert!(
            stdout.contains("TestScheduler: seed 4 failed.")
                && stdout.contains(
                    "SEED=4 STRATEGY=pct:3:k=1 cargo test -p unified-scheduler --test test_macro"
                ),
            "round {round}: {stdout}"
        );
    }
}
