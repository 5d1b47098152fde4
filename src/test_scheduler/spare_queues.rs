//! A test runs one new `TestScheduler` per seed. With many tasks queued, each would grow its
//! queues from empty again (copying as they double) and have the OS fault their megabytes
//! in anew. So a scheduler's queue memory, emptied, passes to the next one made on the same
//! thread: what the "fresh scheduler per seed" figure pays for.

use ::core::cell::Cell;
use alloc::vec::Vec;

use super::tasks::TableBuffers;
use crate::core::Runnable;

/// The most queue slots a thread keeps between schedulers (about 9 MB with the task
/// table's): a bigger run's memory goes back to the allocator.
const KEEP_AT_MOST: usize = 1 << 18;

/// The emptied queues of a dropped scheduler.
pub(super) struct SpareQueues {
    pub(super) ready: Vec<Runnable>,
    pub(super) tasks: TableBuffers,
}

std::thread_local! {
    static SPARE: Cell<Option<SpareQueues>> = const { Cell::new(None) };
}

impl SpareQueues {
    /// The queues the last scheduler dropped on this thread left, if any.
    pub(super) fn take() -> Option<Self> {
        SPARE.try_with(Cell::take).ok().flatten()
    }

    /// Keeps these (emptied) queues for the next scheduler made on this thread, unless
    /// they are too big to hold on to.
    pub(super) fn keep(mut self, table_capacity: usize) {
        self.ready.clear();
        if self.ready.capacity().max(table_capacity) > KEEP_AT_MOST {
            return;
        }
        // During the thread's teardown there is no next scheduler: let them go.
        let _ = SPARE.try_with(|spare| spare.set(Some(self)));
    }
}

#[cfg(test)]
mod tests {
    use alloc::sync::Arc;

    use super::*;
    use crate::core::Scheduler;
    use crate::test_scheduler::TestScheduler;

    fn ready_capacity(test: &TestScheduler) -> usize {
        test.state.lock().ready.capacity()
    }

    #[test]
    fn the_next_scheduler_on_the_thread_starts_with_the_last_ones_queues() {
        const N: usize = if cfg!(miri) { 300 } else { 3_000 }; // miri is slow
        let _ = SpareQueues::take(); // whatever an earlier test on this thread left
        assert_eq!(ready_capacity(&TestScheduler::new()), 0);
        {
            let test = Arc::new(TestScheduler::new());
            let scheduler: Arc<dyn Scheduler> = test.clone();
            let tasks: alloc::vec::Vec<_> =
                (0..N).map(|i| scheduler.spawn(async move { i })).collect();
            test.run_until_parked();
            drop(tasks);
        }
        let next = TestScheduler::new();
        assert!(ready_capacity(&next) >= N, "{}", ready_capacity(&next));
        assert!(next.state.lock().tasks.capacity() >= N);
        assert!(next.live_tasks().is_empty(), "the table starts empty");
        drop(next);
        assert!(SpareQueues::take().is_some(), "kept again when dropped");
    }

    #[test]
    fn queues_past_the_limit_go_back_to_the_allocator() {
        let _ = SpareQueues::take();
        let test = TestScheduler::new();
        test.state.lock().ready.reserve(KEEP_AT_MOST + 1);
        drop(test);
        assert!(SpareQueues::take().is_none());
    }

    #[test]
    fn runnables_left_in_a_dropped_scheduler_cancel_their_tasks() {
        let test = Arc::new(TestScheduler::new());
        let scheduler: Arc<dyn Scheduler> = test.clone();
        let task = scheduler.spawn(async { 1 });
        drop((test, scheduler));
        let next = TestScheduler::new();
        assert!(ready_capacity(&next) > 0, "the queue was handed on");
        assert!(next.state.lock().ready.is_empty(), "but emptied");
        assert!(
            futures_lite::future::block_on(task.fallible()).is_none(),
            "the task was cancelled with its runnable"
        );
    }
}
