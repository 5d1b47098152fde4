//! Zed's clock and queue controls: the virtual wall clock, jumping to the next timer,
//! running until nothing is left, pending counts, the tick budget at run time, and the
//! real-time limit on a park.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use unified_scheduler::prelude::*;
use unified_scheduler::{PendingTaskCounts, QueueScheduler};

#[test]
fn the_wall_clock_is_virtual_under_test_and_real_in_production() {
    TestScheduler::many(5, |test| async move {
        let scheduler = test.to_dyn();
        let start = scheduler.utc_now();
        assert_eq!(
            start,
            UNIX_EPOCH + Duration::from_secs(1_767_225_600),
            "a fixed date"
        );
        scheduler.timer(Duration::from_secs(3600)).await;
        assert_eq!(
            scheduler.utc_now().duration_since(start).unwrap(),
            Duration::from_secs(3600)
        );
    });
    let production: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    let real = production.utc_now().duration_since(SystemTime::now());
    assert!(
        real.unwrap_or_default() < Duration::from_secs(5),
        "the system's clock"
    );
}

#[test]
fn advancing_to_the_next_timer_fires_timers_one_deadline_at_a_time() {
    let test = Arc::new(TestScheduler::new());
    let start = test.now();
    let timers: Vec<_> = [30, 10, 20]
        .map(|s| test.timer(Duration::from_secs(s)))
        .into();
    let mut fired = Vec::new();
    while test.advance_clock_to_next_timer() {
        fired.push((test.now() - start).as_secs());
        assert_eq!(
            timers.iter().filter(|t| t.is_finished()).count(),
            fired.len()
        );
    }
    assert_eq!(fired, [10, 20, 30]);
}

#[test]
fn a_cancelled_timer_does_not_move_the_clock() {
    let test = Arc::new(TestScheduler::new());
    let start = test.now();
    drop(test.timer(Duration::from_secs(100)));
    assert!(!test.advance_clock_to_next_timer());
    assert_eq!(test.now(), start);
    assert!(!test.has_pending_tasks());
}

#[test]
fn run_with_clock_advancement_runs_chains_of_timers_and_tasks_to_the_end() {
    TestScheduler::many(20, |test| async move {
        let inner = test.clone();
        let start = test.now();
        let chain = test.spawn(async move {
            let mut total = 0;
            for i in 1..=4 {
                inner.timer(Duration::from_secs(i)).await;
                total += inner.spawn(async move { i }).await;
            }
            total
        });
        test.run_with_clock_advancement();
        assert!(chain.is_finished());
        assert_eq!(test.now() - start, Duration::from_secs(10));
        assert_eq!(test.pending_task_counts(), PendingTaskCounts::default());
        assert_eq!(chain.await, 10);
    });
}

#[test]
fn pending_counts_by_kind() {
    let test = Arc::new(TestScheduler::new());
    let slow = TaskLabel::new();
    test.deprioritize(slow);
    test.spawn(async {}).detach();
    test.spawn(async {}).detach();
    test.spawn_labeled(slow, async {}).detach();
    test.spawn_foreground(async {}).detach();
    let _timer = test.timer(Duration::from_secs(1));
    let counts = test.pending_task_counts();
    assert_eq!(
        (
            counts.background,
            counts.foreground,
            counts.deprioritized,
            counts.timers
        ),
        (2, 1, 1, 1)
    );
    test.run_until_parked();
    assert_eq!(test.pending_task_counts().timers, 1);
    assert!(test.has_pending_tasks());
}

/// Zed's `test_block_with_timeout`: with a zero budget a timeout fires before any work; the
/// timed-out future is not cancelled and finishes once the clock moves.
#[test]
fn a_zero_tick_budget_times_out_at_once_and_keeps_the_future() {
    TestScheduler::once(|test| async move {
        test.set_timeout_ticks(0..=0);
        let inner = test.clone();
        let task = test.spawn(async move {
            inner.timer(Duration::from_millis(100)).await;
            123
        });
        let task = test
            .block_with_timeout(Duration::from_millis(50), task)
            .expect_err("no tick may run, so the timer cannot fire");
        test.advance_clock(Duration::from_millis(100));
        assert_eq!(task.await, 123);
    });
}

#[test]
#[should_panic(expected = "set_timeout_ticks(5..=1): the range is empty")]
fn an_empty_tick_range_is_refused() {
    #[allow(clippy::reversed_empty_ranges)]
    TestScheduler::new().set_timeout_ticks(5..=1);
}

/// Zed's hard limit per park: with parking allowed, a wake that never comes fails the seed
/// with the stuck report instead of hanging the test.
#[test]
fn a_park_that_no_thread_ends_fails_after_the_real_time_limit() {
    let failure = TestSchedulerConfig::new()
        .allow_parking(true)
        .park_time_limit(Some(Duration::from_millis(50)))
        .try_run(|_test| std::future::pending::<()>())
        .unwrap_err();
    assert!(
        failure
            .message
            .contains("no wake came from another thread within 50ms"),
        "{}",
        failure.message
    );
    assert!(
        failure.message.contains("the test body is waiting"),
        "{}",
        failure.message
    );
}

/// A real thread that wakes the test in time is not cut short by the limit.
#[test]
fn a_park_ended_by_a_real_thread_in_time_goes_on() {
    TestSchedulerConfig::new()
        .allow_parking(true)
        .park_time_limit(Some(Duration::from_secs(30)))
        .run(|_test| async move {
            let (sender, receiver) = std::sync::mpsc::channel::<std::task::Waker>();
            let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = done.clone();
            let thread = std::thread::spawn(move || {
                let waker = receiver.recv().unwrap();
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                waker.wake();
            });
            let mut sender = Some(sender);
            std::future::poll_fn(|cx| {
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    return std::task::Poll::Ready(());
                }
                if let Some(sender) = sender.take() {
                    sender.send(cx.waker().clone()).unwrap();
                }
                std::task::Poll::Pending
            })
            .await;
            thread.join().unwrap();
        });
}
