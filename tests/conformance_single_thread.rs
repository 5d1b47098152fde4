//! The conformance suite on the single-threaded schedulers: the `TestScheduler` (virtual
//! time) and the `QueueScheduler`. Every property is stamped; what needs a pool of threads is
//! excluded below, with the reason.

mod common;
mod conformance;

use std::sync::Arc;

use unified_scheduler::{QueueScheduler, Scheduler, TestScheduler, TestSchedulerConfig};

/// The suite's TestScheduler config. Wakes from the suite's helper threads are real I/O as
/// far as the scheduler knows (`allow_parking`). `block_with_timeout` gives up after a fixed
/// 200,000 ticks, the suite's bound in ticks as `LIMIT` is in time: by default it gives up
/// after a random 0 to 1,000 (to explore both outcomes across seeds), which would turn the
/// suite's bounded waits, `block_with_timeout(LIMIT, ..)`, into failures of their own. The
/// largest property needs about 40,000; the bound is also what ends a wait while tasks keep
/// yielding (`shutdown_drops_every_future` lets its tasks start so), since virtual time
/// stands still while a task is ready.
fn config() -> TestSchedulerConfig {
    TestSchedulerConfig::new()
        .allow_parking(true)
        .block_tick_range(200_000..=200_000)
}

fn test_scheduler() -> Arc<dyn Scheduler> {
    Arc::new(TestScheduler::with_config(config()))
}

/// Awaiters of tied timers complete in a random (seeded) order under the default config, as
/// on a pool; FIFO order makes completion order the firing order.
fn test_scheduler_fifo() -> Arc<dyn Scheduler> {
    Arc::new(TestScheduler::with_config(config().randomize_order(false)))
}

fn queue_scheduler() -> Arc<dyn Scheduler> {
    Arc::new(QueueScheduler::new())
}

mod test_scheduler {
    use super::*;

    crate::conformance::suite! {
        make: test_scheduler,
        one_worker: test_scheduler_fifo,
        two_workers: test_scheduler,
        sizes: {
            tasks_per_spawner: 10_000,
            random_timers: 1_000,
            shutdown: (5, 200, crate::conformance::TimerAwait::Fallible),
        },
        exclude: {
            #[ignore = "one thread: every task runs on the main thread"]
            background_runs_off_main_thread,
            #[ignore = "no worker thread: a task runs only inside a call on the scheduler, \
                        whose caller holds a reference to it"]
            drop_on_a_worker_thread,
            #[ignore = "one thread: a long task holds it, and the timers with it"]
            long_task_does_not_delay_timers,
            #[ignore = "one thread: no second worker for a task to wait for"]
            two_workers::local_work_reaches_idle_workers,
            // Virtual time moves only when no task can run (the clock then jumps to the next
            // timer), so work that never stops being ready holds the clock, by design; tokio's
            // paused clock does the same.
            #[ignore = "virtual time stands still while a task is ready"]
            a_task_yielding_forever_does_not_hold_back_timers,
            #[ignore = "virtual time stands still while a task is ready"]
            one_worker::a_task_yielding_forever_does_not_hold_back_timers,
            #[ignore = "virtual time stands still while a task is ready"]
            one_worker::ping_pong_does_not_hold_back_timers,
        },
    }
}

mod queue_scheduler {
    use super::*;

    crate::conformance::suite! {
        make: queue_scheduler,
        one_worker: queue_scheduler,
        two_workers: queue_scheduler,
        sizes: {
            tasks_per_spawner: 10_000,
            random_timers: 1_000,
            shutdown: (5, 200, crate::conformance::TimerAwait::Fallible),
        },
        exclude: {
            #[ignore = "one thread: every task runs on the main thread"]
            background_runs_off_main_thread,
            #[ignore = "no worker thread: a task runs only inside a call on the scheduler, \
                        whose caller holds a reference to it"]
            drop_on_a_worker_thread,
            #[ignore = "one thread: a long task holds it, and the timers with it"]
            long_task_does_not_delay_timers,
            #[ignore = "one thread: no second worker for a task to wait for"]
            two_workers::local_work_reaches_idle_workers,
        },
    }
}
