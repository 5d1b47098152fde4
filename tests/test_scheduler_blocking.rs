//! TestScheduler: blocking lets the world move. Between two polls of a blocked future (the
//! test body, or any `block`), the seed decides how many tasks run, so a body that spins on
//! `yield_now` lets its tasks progress, and races its own tasks like any task does.

use std::collections::BTreeSet;
use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use futures_lite::future::yield_now;
use unified_scheduler::{Scheduler, TestScheduler, TestSchedulerConfig};

#[test]
fn a_body_spinning_on_yield_now_lets_the_task_it_waits_for_run() {
    TestScheduler::many(20, |test| async move {
        let s: Arc<dyn Scheduler> = test.clone();
        let flag = Arc::new(AtomicBool::new(false));
        let setter = flag.clone();
        s.spawn(async move { setter.store(true, Ordering::SeqCst) })
            .detach();
        // Bounded, so that the bug shows as a failure instead of a hang.
        for _ in 0..10_000 {
            if flag.load(Ordering::SeqCst) {
                break;
            }
            yield_now().await;
        }
        assert!(
            flag.load(Ordering::SeqCst),
            "seed {}: the task never ran while the body yielded",
            test.seed()
        );
    });
}

#[test]
fn the_body_races_the_tasks_it_spawns() {
    let outcomes = Mutex::new(BTreeSet::new());
    TestScheduler::many(50, |test| {
        let outcomes = &outcomes;
        async move {
            let s: Arc<dyn Scheduler> = test.clone();
            let value = Arc::new(AtomicUsize::new(0));
            let writer = value.clone();
            let task = s.spawn(async move { writer.store(1, Ordering::SeqCst) });
            yield_now().await; // the task may or may not run here
            outcomes
                .lock()
                .unwrap()
                .insert(value.load(Ordering::SeqCst));
            task.await;
        }
    });
    assert_eq!(
        *outcomes.lock().unwrap(),
        BTreeSet::from([0, 1]),
        "both orders of the body and its task must be explored"
    );
}

#[test]
fn simulate_random_delay_in_the_body_lets_tasks_run_on_some_seeds() {
    let ran_during_delay = AtomicUsize::new(0);
    TestScheduler::many(40, |test| {
        let ran_during_delay = &ran_during_delay;
        async move {
            let s: Arc<dyn Scheduler> = test.clone();
            let flag = Arc::new(AtomicBool::new(false));
            let setter = flag.clone();
            let task = s.spawn(async move { setter.store(true, Ordering::SeqCst) });
            test.simulate_random_delay().await;
            if flag.load(Ordering::SeqCst) {
                ran_during_delay.fetch_add(1, Ordering::SeqCst);
            }
            task.await;
        }
    });
    let ran = ran_during_delay.load(Ordering::SeqCst);
    assert!(
        ran > 0 && ran < 40,
        "a random delay should let the task run on some seeds, not all: {ran} of 40"
    );
}

#[test]
fn block_with_timeout_gives_up_on_a_future_that_keeps_waking_itself() {
    let test = Arc::new(TestScheduler::with_config(
        TestSchedulerConfig::new().block_tick_range(0..=10),
    ));
    let s: Arc<dyn Scheduler> = test.clone();
    let polls = Arc::new(AtomicUsize::new(0));
    let counted = polls.clone();
    // Busy: wakes itself on every poll, and would only finish after 100,000 polls.
    let busy = poll_fn(move |cx| {
        if counted.fetch_add(1, Ordering::SeqCst) >= 100_000 {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    });
    let outcome = s.block_with_timeout(Duration::from_secs(1), busy);
    assert!(outcome.is_err(), "the tick budget must count polls too");
    assert!(polls.load(Ordering::SeqCst) <= 11, "{polls:?} polls");
}
