//! BackgroundExecutor / ForegroundExecutor: the test controls reach a TestScheduler by
//! downcast and are no-ops elsewhere.

use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use unified_scheduler::{
    BackgroundExecutor, ForegroundExecutor, QueueScheduler, Scheduler, TaskLabel, TestScheduler,
};

#[test]
fn executors_spawn_and_block_on_any_scheduler() {
    let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    let background = BackgroundExecutor::new(scheduler.clone());
    let foreground = ForegroundExecutor::new(scheduler);
    let local = Rc::new(5);
    let fg = foreground.spawn(async move { *local });
    let bg = background.spawn(async { 6 });
    assert_eq!(foreground.block(fg) + background.block(bg), 11);
    assert!(foreground.is_main_thread());
    assert!(background.num_cpus() >= 1);
}

#[test]
fn test_controls_are_no_ops_on_production_schedulers() {
    let queue = Arc::new(QueueScheduler::new());
    let executor = BackgroundExecutor::new(queue.clone());
    let task = executor.spawn(async { 1 });
    assert!(!executor.tick(), "nothing ticks off a TestScheduler");
    executor.run_until_parked();
    executor.advance_clock(Duration::from_secs(5));
    executor.deprioritize(TaskLabel::new());
    assert!(!task.is_finished(), "no-ops must not run anything");
    assert_eq!(queue.len(), 1);
    // A production delay is ready at once.
    let delay = executor.simulate_random_delay();
    assert_eq!(
        executor.block_with_timeout(Duration::ZERO, delay).ok(),
        Some(())
    );
}

#[test]
fn test_controls_reach_the_test_scheduler() {
    let test = Arc::new(TestScheduler::new());
    let background = test.background();
    let foreground = test.foreground();

    // tick
    let task = background.spawn(async {});
    assert!(background.tick());
    assert!(task.is_finished());
    assert!(!foreground.tick());

    // run_until_parked
    let a = background.spawn(async {});
    let b = foreground.spawn(async {});
    foreground.run_until_parked();
    assert!(a.is_finished() && b.is_finished());

    // advance_clock
    let timer = background.timer(Duration::from_secs(10));
    background.advance_clock(Duration::from_secs(9));
    assert!(!timer.is_finished());
    foreground.advance_clock(Duration::from_secs(1));
    assert!(timer.is_finished());

    // deprioritize
    let slow = TaskLabel::new();
    background.deprioritize(slow);
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    background
        .spawn_labeled(slow, async move { l.lock().unwrap().push("slow") })
        .detach();
    let l = log.clone();
    background
        .spawn(async move { l.lock().unwrap().push("fast") })
        .detach();
    background.run_until_parked();
    assert_eq!(*log.lock().unwrap(), ["fast", "slow"]);

    // simulate_random_delay yields a seeded number of times: some seeds yield
    let yields: Vec<u64> = (0..10)
        .map(|seed| {
            let test = Arc::new(TestScheduler::with_config(
                unified_scheduler::TestSchedulerConfig::new().seed(seed),
            ));
            let executor = test.background();
            executor.spawn(executor.simulate_random_delay()).detach();
            test.run_until_parked();
            test.steps()
        })
        .collect();
    assert!(yields.iter().any(|&steps| steps > 1), "{yields:?}");
}
