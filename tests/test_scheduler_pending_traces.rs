//! `pending_traces` (Zed's `PENDING_TRACES=1`): a stuck report says where each pending
//! task's live waker clones were made, and without it, how to turn it on.

use std::future::Future;
use std::pin::Pin;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use unified_scheduler::prelude::*;

/// Keeps a clone of the waker of every poll and never wakes it: a task waiting on a
/// channel nobody sends on, in miniature.
struct KeepsWaker {
    kept: Option<Waker>,
}

impl Future for KeepsWaker {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.kept = Some(cx.waker().clone()); // kept here
        Poll::Pending
    }
}

/// The line of this file that a marker comment ends (the comment is spelled in two halves
/// here, so that this line does not end with it).
fn line_of(marker: &str) -> usize {
    let marker = format!("// {marker}");
    include_str!("test_scheduler_pending_traces.rs")
        .lines()
        .position(|line| line.ends_with(&marker))
        .expect("the marker is in this file")
        + 1
}

fn site(marker: &str) -> String {
    format!("test_scheduler_pending_traces.rs:{}:", line_of(marker))
}

fn panic_message(run: impl FnOnce()) -> String {
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .expect_err("the run should have failed");
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// The report of a block on a task that keeps its waker, on a scheduler with `config`.
fn stuck_on_kept_waker(config: TestSchedulerConfig) -> String {
    let test = Arc::new(TestScheduler::with_config(config));
    let task = test.spawn(KeepsWaker { kept: None });
    let report = panic_message(|| test.block(task));
    test.clear();
    report
}

#[test]
fn with_pending_traces_the_stuck_report_names_the_line_that_cloned_the_waker() {
    let report = stuck_on_kept_waker(TestSchedulerConfig::new().pending_traces(true));
    assert!(report.contains("nothing can make progress"), "{report}");
    assert!(report.contains("its waker was cloned at"), "{report}");
    assert!(report.contains(&site(concat!("kept ", "here"))), "{report}");
    assert!(!report.contains("Set PENDING_TRACES=1"), "{report}");
}

#[test]
fn without_pending_traces_nothing_is_captured_and_the_report_says_how() {
    let report = stuck_on_kept_waker(TestSchedulerConfig::new());
    assert!(report.contains("nothing can make progress"), "{report}");
    assert!(!report.contains("cloned at"), "{report}");
    assert!(
        !report.contains(&site(concat!("kept ", "here"))),
        "{report}"
    );
    assert!(
        report.contains("Set PENDING_TRACES=1 (or `TestSchedulerConfig::pending_traces(true)`)"),
        "{report}"
    );
}

/// A task awaiting another task: its waker is cloned inside async-task, and the report
/// skips the scheduler's frames to name the `.await` in the test.
#[test]
fn a_task_awaiting_a_task_is_named_at_its_await() {
    let test = Arc::new(TestScheduler::with_config(
        TestSchedulerConfig::new().pending_traces(true),
    ));
    let inner = test.spawn(KeepsWaker { kept: None });
    let outer = test.spawn(async move {
        inner.await; // awaits here
    });
    let report = panic_message(|| test.block(outer));
    test.clear();
    assert!(
        report.contains(&site(concat!("awaits ", "here"))),
        "{report}"
    );
    assert!(report.contains(&site(concat!("kept ", "here"))), "{report}");
}

/// Clones that are dropped, or consumed by a wake, are forgotten: only the kept one is left.
#[test]
fn dropped_and_woken_clones_are_not_listed() {
    let test = Arc::new(TestScheduler::with_config(
        TestSchedulerConfig::new().pending_traces(true),
    ));
    let kept: Arc<Mutex<Option<Waker>>> = Arc::default();
    let slot = kept.clone();
    let mut polls = 0;
    let task = test.spawn(std::future::poll_fn(move |cx| {
        polls += 1;
        drop(cx.waker().clone()); // dropped here
        if polls == 1 {
            let clone = cx.waker().clone(); // woken here
            clone.wake(); // by value: the clone is consumed
        } else {
            *slot.lock().unwrap() = Some(cx.waker().clone()); // stored here
        }
        Poll::<()>::Pending
    }));
    let report = panic_message(|| test.block(task));
    test.clear();
    assert!(
        report.contains(&site(concat!("stored ", "here"))),
        "{report}"
    );
    assert!(
        !report.contains(&site(concat!("dropped ", "here"))),
        "{report}"
    );
    assert!(
        !report.contains(&site(concat!("woken ", "here"))),
        "{report}"
    );
    // The task's own entry (the blocked future's entry before it is the `block(task)`
    // line, where awaiting the task cloned the block's waker).
    let section = report.split("(PENDING_TRACES):").nth(1).unwrap();
    let task_entry = section.split("  task #").nth(1).unwrap();
    let sites = task_entry.lines().filter(|line| line.starts_with("    "));
    assert_eq!(sites.count(), 1, "{report}");
}

/// A task nobody holds a waker of is said to be unreachable.
#[test]
fn a_task_without_a_live_waker_clone_is_said_to_have_none() {
    let test = Arc::new(TestScheduler::with_config(
        TestSchedulerConfig::new().pending_traces(true),
    ));
    let task = test.spawn(std::future::pending::<()>());
    let report = panic_message(|| test.block(task));
    test.clear();
    assert!(
        report.contains("no live clone of its waker, so nothing can wake it"),
        "{report}"
    );
}

/// The report of a park that waits too long for a real wake lists the clones too.
#[test]
fn the_park_time_limit_report_lists_the_clones_too() {
    let report = stuck_on_kept_waker(
        TestSchedulerConfig::new()
            .pending_traces(true)
            .allow_parking(true)
            .park_time_limit(Some(Duration::from_millis(20))),
    );
    assert!(report.contains("park_time_limit"), "{report}");
    assert!(report.contains(&site(concat!("kept ", "here"))), "{report}");
}

/// Run by `the_env_var_turns_it_on_in_the_runners` in a child process.
#[test]
#[ignore = "fails on purpose; run by another test in a child process"]
fn stuck_in_a_runner() {
    TestScheduler::once(|test| async move {
        test.spawn(KeepsWaker { kept: None }).await;
    });
}

fn run_child(pending_traces: Option<&str>) -> String {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command.args(["stuck_in_a_runner", "--exact", "--ignored", "--nocapture"]);
    for name in [
        "SEED",
        "ITERATIONS",
        "CHECK_DETERMINISM",
        "SCHEDULE",
        "MAX_STEPS",
    ] {
        command.env_remove(name);
    }
    match pending_traces {
        Some(value) => command.env("PENDING_TRACES", value),
        None => command.env_remove("PENDING_TRACES"),
    };
    let output = command.output().unwrap();
    assert!(!output.status.success(), "the child test fails on purpose");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_env_var_turns_it_on_in_the_runners() {
    let on = run_child(Some("1"));
    assert!(on.contains("its waker was cloned at"), "{on}");
    assert!(on.contains(&site(concat!("kept ", "here"))), "{on}");
    for off in [run_child(None), run_child(Some("0"))] {
        assert!(off.contains("nothing can make progress"), "{off}");
        assert!(!off.contains("cloned at"), "{off}");
        assert!(off.contains("Set PENDING_TRACES=1"), "{off}");
    }
}

/// The traced wakers wake what they wrap and nothing else: a seed gives the same schedule
/// with the flag on or off.
#[test]
fn pending_traces_leave_the_schedule_unchanged() {
    let fingerprint = |config: TestSchedulerConfig| {
        let test = Arc::new(TestScheduler::with_config(config));
        let tasks: Vec<_> = (0..10)
            .map(|i| {
                let inner = test.clone();
                test.spawn(async move {
                    for _ in 0..i % 4 {
                        yield_now().await;
                    }
                    inner.timer(Duration::from_millis(i)).await;
                    let nested = inner.spawn(async move { i * 2 });
                    nested.await
                })
            })
            .collect();
        let sum = test.block(async move {
            let mut sum = 0;
            for task in tasks {
                sum += task.await;
            }
            sum
        });
        assert_eq!(sum, 90);
        test.fingerprint()
    };
    for seed in 0..20 {
        let off = fingerprint(TestSchedulerConfig::new().seed(seed));
        let on = fingerprint(TestSchedulerConfig::new().seed(seed).pending_traces(true));
        assert_eq!(off, on, "seed {seed}");
    }
}

/// Keeps the block's own waker, as a test body awaiting a channel directly does.
struct BodyKeepsWaker {
    kept: Option<Waker>,
}

impl Future for BodyKeepsWaker {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.kept = Some(cx.waker().clone()); // body keeps it
        Poll::Pending
    }
}

#[test]
fn the_future_blocked_in_block_is_traced_too() {
    let test = Arc::new(TestScheduler::with_config(
        TestSchedulerConfig::new().pending_traces(true),
    ));
    let report = panic_message(|| test.block(BodyKeepsWaker { kept: None }));
    assert!(
        report.contains("the future blocked in `block`: its waker was cloned at"),
        "{report}"
    );
    assert!(
        report.contains(&site(concat!("body keeps ", "it"))),
        "{report}"
    );
}
