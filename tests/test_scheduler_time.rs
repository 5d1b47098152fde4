//! TestScheduler: virtual time, timers, block and block_with_timeout, lifecycle.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use unified_scheduler::{Scheduler, TaskLabel, TestScheduler, TestSchedulerConfig};

fn scheduler(config: TestSchedulerConfig) -> (Arc<TestScheduler>, Arc<dyn Scheduler>) {
    let test = Arc::new(TestScheduler::with_config(config));
    let scheduler: Arc<dyn Scheduler> = test.clone();
    (test, scheduler)
}

const MS: Duration = Duration::from_millis(1);

#[test]
fn timers_fire_in_deadline_order_each_at_its_own_instant_ties_in_scheduling_order() {
    for seed in 0..20 {
        let (test, scheduler) = scheduler(TestSchedulerConfig::new().seed(seed));
        let start = scheduler.now();
        let fired = Arc::new(Mutex::new(Vec::new()));
        // (name, delay): b and c tie, in that scheduling order.
        for (name, delay) in [("d", 40), ("b", 20), ("c", 20), ("a", 10)] {
            let timer = scheduler.timer(MS * delay);
            let fired = fired.clone();
            let clock = scheduler.clone();
            // Record when the timer task itself finishes, not when an awaiter gets to run.
            scheduler
                .spawn(async move {
                    timer.await;
                    fired.lock().unwrap().push((name, clock.now() - start));
                })
                .detach();
        }
        test.run_until_parked();
        assert!(fired.lock().unwrap().is_empty(), "no time has passed");
        test.advance_clock(MS * 100);
        let fired = fired.lock().unwrap();
        let names: Vec<_> = fired.iter().map(|f| f.0).collect();
        let times: Vec<_> = fired.iter().map(|f| f.1).collect();
        assert_eq!(names[0], "a", "seed {seed}");
        assert_eq!(names[3], "d", "seed {seed}");
        assert_eq!(
            times,
            [MS * 10, MS * 20, MS * 20, MS * 40],
            "seed {seed}: each fires at its own instant"
        );
        assert_eq!(scheduler.now() - start, MS * 100);
    }
}

#[test]
fn tied_timers_fire_in_scheduling_order() {
    // FIFO order for the awaiters, so the log shows the order the timers fired in.
    let (test, scheduler) = scheduler(TestSchedulerConfig::new().randomize_order(false));
    let timers: Vec<_> = (0..5).map(|_| scheduler.timer(MS * 5)).collect();
    let fired = Arc::new(Mutex::new(Vec::new()));
    // Awaiters spawned in reverse, so their own order cannot explain the result.
    for (i, timer) in timers.into_iter().enumerate().rev() {
        let fired = fired.clone();
        scheduler
            .spawn(async move {
                timer.await;
                fired.lock().unwrap().push(i);
            })
            .detach();
    }
    test.advance_clock(MS * 4);
    assert!(fired.lock().unwrap().is_empty());
    test.advance_clock(MS);
    assert_eq!(*fired.lock().unwrap(), [0, 1, 2, 3, 4]);
}

#[test]
fn run_until_parked_does_not_move_the_clock() {
    let (test, scheduler) = scheduler(TestSchedulerConfig::new());
    let start = scheduler.now();
    let timer = scheduler.timer(MS);
    test.run_until_parked();
    assert_eq!(scheduler.now(), start);
    assert!(!timer.is_finished());
}

#[test]
fn block_jumps_the_clock_to_the_next_timer_instead_of_sleeping() {
    let (_test, scheduler) = scheduler(TestSchedulerConfig::new());
    let start = scheduler.now();
    let real_start = std::time::Instant::now();
    scheduler.block(scheduler.timer(Duration::from_secs(24 * 3600)));
    assert_eq!(scheduler.now() - start, Duration::from_secs(24 * 3600));
    // A day of virtual time in (far) less than a real minute: nothing slept.
    assert!(real_start.elapsed() < Duration::from_secs(60));
}

#[test]
fn huge_timers_saturate_and_never_fire() {
    let (test, scheduler) = scheduler(TestSchedulerConfig::new());
    let forever = scheduler.timer(Duration::MAX);
    test.advance_clock(Duration::from_secs(1_000_000));
    assert!(!forever.is_finished());
    test.advance_clock(Duration::MAX); // saturates, no overflow panic
    let _ = scheduler.now();
}

#[test]
fn timer_zero_is_ready_at_once() {
    let (_test, scheduler) = scheduler(TestSchedulerConfig::new());
    assert!(scheduler.timer(Duration::ZERO).is_finished());
}

#[test]
fn block_with_timeout_explores_both_outcomes_across_seeds_and_returns_the_future() {
    let mut finished = 0;
    let mut timed_out = 0;
    for seed in 0..40 {
        let (_test, scheduler) = scheduler(
            TestSchedulerConfig::new()
                .seed(seed)
                .block_tick_range(0..=20),
        );
        let worker = scheduler.clone();
        let work = scheduler.spawn(async move {
            for _ in 0..10 {
                futures_lite::future::yield_now().await;
            }
            worker.now() // proves it ran
        });
        match scheduler.block_with_timeout(Duration::from_secs(1), work) {
            Ok(_) => finished += 1,
            Err(pending) => {
                timed_out += 1;
                // The future comes back unharmed and can still finish.
                scheduler.block(pending);
            }
        }
    }
    assert!(
        finished > 0 && timed_out > 0,
        "finished {finished}, timed out {timed_out}"
    );
}

#[test]
fn a_ready_future_is_polled_even_with_a_zero_budget_or_timeout() {
    let (_test, scheduler) = scheduler(TestSchedulerConfig::new().block_tick_range(0..=0));
    assert_eq!(
        scheduler
            .block_with_timeout(Duration::ZERO, async { 1 })
            .ok(),
        Some(1)
    );
    assert_eq!(
        scheduler
            .block_with_timeout(Duration::from_secs(1), async { 2 })
            .ok(),
        Some(2)
    );
}

#[test]
fn block_with_timeout_gives_up_in_virtual_time_when_timers_are_later() {
    let (_test, scheduler) = scheduler(TestSchedulerConfig::new());
    let start = scheduler.now();
    let late = scheduler.timer(Duration::from_secs(10));
    let late = scheduler
        .block_with_timeout(Duration::from_secs(1), late)
        .expect_err("the timer is after the timeout");
    assert_eq!(scheduler.now() - start, Duration::from_secs(1));
    scheduler.block(late);
    assert_eq!(scheduler.now() - start, Duration::from_secs(10));
}

#[test]
fn is_task_running_follows_the_lifecycle_and_live_tasks_names_them() {
    let (test, scheduler) = scheduler(TestSchedulerConfig::new());
    let label = TaskLabel::new();
    let done = scheduler.spawn(async {});
    let waiting = scheduler.spawn_labeled(label, std::future::pending::<()>());
    let line = line!() - 1;
    let cancelled = scheduler.spawn(std::future::pending::<()>());
    for task in [done.id(), waiting.id(), cancelled.id()] {
        assert_eq!(scheduler.is_task_running(task), Some(true));
    }
    test.run_until_parked();
    assert_eq!(scheduler.is_task_running(done.id()), Some(false));
    assert_eq!(scheduler.is_task_running(waiting.id()), Some(true));
    let cancelled_id = cancelled.id();
    drop(cancelled);
    test.run_until_parked(); // the scheduler drops the cancelled future
    assert_eq!(scheduler.is_task_running(cancelled_id), Some(false));
    let live = test.live_tasks();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, waiting.id());
    assert_eq!(live[0].label, Some(label));
    assert_eq!(live[0].spawned_at.line(), line);
    assert!(
        live[0].to_string().contains("test_scheduler_time.rs"),
        "{}",
        live[0]
    );
}

#[test]
fn task_ids_are_numbered_per_scheduler_in_spawn_order() {
    let (_test, scheduler) = scheduler(TestSchedulerConfig::new());
    let ids: Vec<u64> = (0..3)
        .map(|_| scheduler.spawn(async {}).id().as_u64())
        .collect();
    assert_eq!(ids, [1, 2, 3]);
}

#[test]
fn simulate_random_delay_is_seeded() {
    let yields = |seed| {
        let (test, scheduler) = scheduler(TestSchedulerConfig::new().seed(seed));
        let delay = test.simulate_random_delay();
        scheduler.spawn(delay).detach();
        test.run_until_parked();
        test.steps()
    };
    for seed in 0..10 {
        assert_eq!(yields(seed), yields(seed));
    }
    let distinct: std::collections::BTreeSet<_> = (0..30).map(yields).collect();
    assert!(distinct.len() > 2, "{distinct:?}");
}
