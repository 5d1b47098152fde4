//! The conformance suite on the single-threaded schedulers: the `TestScheduler` (virtual
//! time) and the `QueueScheduler`. Properties about a pool of threads do not apply.

mod common;
mod conformance;

use std::sync::Arc;

use unified_scheduler::{QueueScheduler, Scheduler, TestScheduler, TestSchedulerConfig};

fn test_scheduler() -> Arc<dyn Scheduler> {
    // Wakes from the suite's helper threads are real I/O as far as the scheduler knows.
    Arc::new(TestScheduler::with_config(
        TestSchedulerConfig::new().allow_parking(true),
    ))
}

/// Awaiters of tied timers complete in a random (seeded) order under the default config, as
/// on a pool; FIFO order makes completion order the firing order.
fn test_scheduler_fifo() -> Arc<dyn Scheduler> {
    Arc::new(TestScheduler::with_config(
        TestSchedulerConfig::new()
            .allow_parking(true)
            .randomize_order(false),
    ))
}

fn queue_scheduler() -> Arc<dyn Scheduler> {
    Arc::new(QueueScheduler::new())
}

mod test_scheduler {
    use super::*;
    conformance::stamp!(test_scheduler;
        spawn_and_await, many_tasks, spawn_from_inside, spawn_chain,
        foreground_runs_on_main_thread, foreground_fifo, timers_never_early,
        timer_zero_and_huge, cancel_by_drop, cancel_foreground_by_drop, detach,
        panics_reach_the_awaiter, block_and_block_with_timeout, park_and_unpark,
        shutdown_with_pending_work, shutdown_drops_foreground_on_main,
        concurrent_blockers, nested_block_keeps_the_lifecycle,
        spawn_foreground_off_main_fails_at_the_call, blocking_in_every_worker_does_not_hang);
    conformance::stamp!(test_scheduler_fifo; timers_in_order);
}

mod queue_scheduler {
    use super::*;
    conformance::stamp!(queue_scheduler;
        spawn_and_await, many_tasks, spawn_from_inside, spawn_chain,
        foreground_runs_on_main_thread, foreground_fifo, timers_never_early, timers_in_order,
        timer_zero_and_huge, cancel_by_drop, cancel_foreground_by_drop, detach,
        panics_reach_the_awaiter, block_and_block_with_timeout, park_and_unpark,
        shutdown_with_pending_work, shutdown_drops_foreground_on_main,
        concurrent_blockers, nested_block_keeps_the_lifecycle,
        spawn_foreground_off_main_fails_at_the_call, blocking_in_every_worker_does_not_hang);
}
