//! No task tracking: what the spawn helpers and `Task` call compiles to nothing.

use crate::core::metadata::TaskId;
use crate::core::scheduler::Scheduler;

/// How a `Task` handle gave up on its task (nobody listens without a tracking scheduler).
#[derive(Copy, Clone)]
pub(crate) enum GaveUp {
    Dropped,
    Cancelled,
}

/// Nothing to tell anyone: no scheduler tracks tasks.
pub(crate) struct Watch;

/// A new task's id, from the process-wide pool.
#[inline(always)]
pub(crate) fn register(_: &dyn Scheduler) -> (TaskId, Watch) {
    (TaskId::next_global(), Watch)
}

impl Watch {
    #[inline(always)]
    pub(crate) fn gave_up(&mut self, _: TaskId, _: GaveUp, _: impl FnOnce() -> bool) {}

    #[inline(always)]
    pub(crate) fn note_pending(&self, _: TaskId) {}
}
