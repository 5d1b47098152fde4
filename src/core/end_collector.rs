//! A fast path for reporting task ends to a scheduler that runs the task itself.
//!
//! A tracked task reports its end through `Scheduler::task_ended`, which costs a `Weak`
//! upgrade and, in the `TestScheduler`, a lock: about a fifth of a trivial task's cost. But
//! nearly every end happens inside `Runnable::run`, called by the very scheduler that wants
//! to hear of it. So that scheduler can run the runnable through [`run_collecting_end`],
//! and the task's own end is handed back to it through a thread-local slot instead.
//!
//! The slot names the scheduler by address and the task by id; an end that matches neither
//! takes the ordinary path. An address cannot be reused while the task's `Weak` lives (a
//! `Weak` keeps the allocation), so a match always means the same scheduler.

use core::cell::Cell;

use super::{Runnable, TaskEnd, TaskId};

#[derive(Copy, Clone)]
struct Slot {
    scheduler: *const (),
    running: Option<TaskId>,
    ended: Option<(TaskId, TaskEnd)>,
}

const EMPTY: Slot = Slot {
    scheduler: core::ptr::null(),
    running: None,
    ended: None,
};

std::thread_local! {
    static SLOT: Cell<Slot> = const { Cell::new(EMPTY) };
}

/// Runs `runnable` for `scheduler` (its address) and returns how the task ended, if it ended
/// during this run. Nested runs (a task blocking on another scheduler) save and restore the
/// slot, so each scheduler sees only its own task's end.
#[cfg_attr(not(feature = "test-scheduler"), allow(dead_code))] // only the TestScheduler collects
pub(crate) fn run_collecting_end(
    scheduler: *const (),
    runnable: Runnable,
) -> Option<(TaskId, TaskEnd)> {
    let running = Some(runnable.metadata().id);
    let outer = SLOT.replace(Slot {
        scheduler,
        running,
        ended: None,
    });
    // Restores the outer slot even if `run` unwinds.
    struct Restore(Slot);
    impl Drop for Restore {
        fn drop(&mut self) {
            SLOT.set(self.0);
        }
    }
    let restore = Restore(outer);
    runnable.run();
    let ended = SLOT.get().ended;
    drop(restore);
    ended
}

/// Hands `end` to the scheduler at `scheduler` if it is running task `id` on this thread
/// right now; `false` if the caller must report it the ordinary way.
pub(crate) fn try_collect(scheduler: *const (), id: TaskId, end: TaskEnd) -> bool {
    SLOT.try_with(|slot| {
        let mut current = slot.get();
        let ours = current.scheduler == scheduler && current.running == Some(id);
        if ours && current.ended.is_none() {
            current.ended = Some((id, end));
            slot.set(current);
            return true;
        }
        false
    })
    .unwrap_or(false)
}
