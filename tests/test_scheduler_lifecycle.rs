//! TestScheduler: what it says about tasks is true, however tasks nest, end, or are dropped:
//! `is_task_running`, `live_tasks`, `is_main_thread` and task ids.

mod common;

use std::future::pending;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Gate;
use unified_scheduler::{Scheduler, Task, TaskId, TestScheduler, TestSchedulerConfig};

fn scheduler(config: TestSchedulerConfig) -> (Arc<TestScheduler>, Arc<dyn Scheduler>) {
    let test = Arc::new(TestScheduler::with_config(config));
    let scheduler: Arc<dyn Scheduler> = test.clone();
    (test, scheduler)
}

#[test]
fn a_child_awaited_through_a_nested_block_is_seen_to_end() {
    for seed in 0..20 {
        let (test, s) = scheduler(TestSchedulerConfig::new().seed(seed));
        let child_id = Arc::new(Mutex::new(None::<TaskId>));
        let (inner, id) = (s.clone(), child_id.clone());
        let outer = s.spawn(async move {
            let child = inner.spawn(async { 5 });
            *id.lock().unwrap() = Some(child.id());
            inner.block(child)
        });
        test.run_until_parked();
        assert!(outer.is_finished());
        let child = child_id.lock().unwrap().expect("the outer task ran");
        assert!(
            !test.is_live(child),
            "seed {seed}: a finished child is reported running"
        );
        assert!(
            test.live_tasks().is_empty(),
            "seed {seed}: {:?}",
            test.live_tasks()
        );
    }
}

#[test]
fn a_task_that_ticks_the_scheduler_itself_keeps_every_task_end() {
    let (test, s) = scheduler(TestSchedulerConfig::new().randomize_order(false));
    let ticker = test.clone();
    // Exactly as many ticks as there are other tasks: the last nested tick is the last
    // thing the outer task does.
    let outer = s.spawn(async move {
        for _ in 0..3 {
            assert!(ticker.tick());
        }
    });
    let others: Vec<TaskId> = (0..3).map(|_| s.spawn(async {}).id()).collect();
    test.run_until_parked();
    assert!(outer.is_finished());
    for id in others {
        assert!(!test.is_live(id), "task {id} ended but is reported running");
    }
    assert!(test.live_tasks().is_empty(), "{:?}", test.live_tasks());
}

#[test]
fn a_panic_in_a_task_run_by_a_nested_block_fails_the_seed() {
    let outcome = TestSchedulerConfig::new().try_run(|test| async move {
        let s: Arc<dyn Scheduler> = test.clone();
        let inner = s.clone();
        s.spawn(async move {
            // The panicking task is the last one the nested block runs: it opens the gate
            // the block waits for, then panics.
            let gate = Gate::new();
            let opener = gate.clone();
            inner
                .spawn(async move {
                    opener.open();
                    panic!("boom in a nested tick");
                })
                .detach();
            inner.block(gate.wait());
        })
        .detach();
        test.run_until_parked();
    });
    let failure = outcome.expect_err("a panicking task must fail its seed");
    assert!(failure.message.contains("panicked"), "{}", failure.message);
    assert!(
        failure.message.contains("test_scheduler_lifecycle.rs"),
        "{}",
        failure.message
    );
}

#[test]
fn is_main_thread_stays_false_in_a_background_task_after_a_nested_tick() {
    let (test, s) = scheduler(TestSchedulerConfig::new().randomize_order(false));
    let (ticker, inner) = (test.clone(), s.clone());
    let background = s.spawn(async move {
        while ticker.tick() {}
        inner.is_main_thread()
    });
    s.spawn(async {}).detach(); // something for the nested tick to run
    test.run_until_parked();
    assert!(
        !s.block(background),
        "a background task saw itself on the main thread"
    );
    assert!(
        s.is_main_thread(),
        "the test's own thread is still the main thread"
    );
}

#[test]
fn a_dropped_timer_is_no_longer_running_and_never_moves_the_clock() {
    let (test, s) = scheduler(TestSchedulerConfig::new());
    let timer = s.timer(Duration::from_secs(3600));
    let id = timer.id();
    drop(timer);
    assert!(!test.is_live(id), "a dropped timer is cancelled");
    assert!(test.live_tasks().is_empty(), "{:?}", test.live_tasks());
    // A stuck block has nothing to wait for: it fails at once, without jumping an hour ahead.
    let start = s.now();
    let stuck = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| s.block(pending::<()>())));
    assert!(stuck.is_err());
    assert_eq!(
        s.now() - start,
        Duration::ZERO,
        "the clock jumped to a cancelled timer"
    );
    assert_eq!(test.steps(), 0, "a cancelled timer ran as a step");
}

#[test]
fn a_dropped_timer_never_moves_the_clock_with_parking_allowed_either() {
    let (test, s) = scheduler(TestSchedulerConfig::new().allow_parking(true));
    drop(s.timer(Duration::from_millis(5)));
    let start = s.now();
    let waited = s.block_with_timeout(Duration::from_millis(20), pending::<()>());
    assert!(waited.is_err());
    assert_eq!(s.now() - start, Duration::from_millis(20));
    assert_eq!(test.steps(), 0, "a cancelled timer ran as a step");
}

#[test]
fn a_cancelled_timer_resolves_its_cancel_without_moving_the_clock() {
    let (test, s) = scheduler(TestSchedulerConfig::new());
    let timer = s.timer(Duration::from_secs(3600));
    let start = s.now();
    assert_eq!(s.block(timer.cancel()), None);
    assert_eq!(s.now() - start, Duration::ZERO);
    assert!(test.live_tasks().is_empty());
}

#[test]
fn a_ready_task_never_shares_an_id_with_a_task_of_the_scheduler() {
    let (test, s) = scheduler(TestSchedulerConfig::new());
    // Enough live tasks that any small id is taken by one of them.
    let live: Vec<Task<()>> = (0..2_000).map(|_| s.spawn(pending())).collect();
    test.run_until_parked();
    for ready in [Task::ready(()), s.timer(Duration::ZERO)] {
        assert!(ready.is_finished());
        assert!(
            !test.is_live(ready.id()),
            "{:?} is ready, yet the scheduler says a task with its id runs",
            ready.id()
        );
        assert!(live.iter().all(|task| task.id() != ready.id()));
    }
}
