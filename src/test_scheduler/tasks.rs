//! Which tasks are alive: O(1) per spawn and per end, in spawn order.

use alloc::collections::VecDeque;
use core::fmt;
use core::panic::Location;

use crate::{TaskId, TaskLabel, TaskMetadata};

/// A task that has been spawned and whose future has neither finished nor been dropped.
///
/// ```
/// use std::sync::Arc;
/// use unified_scheduler::{Scheduler, TaskLabel, TestScheduler};
///
/// let test = Arc::new(TestScheduler::new());
/// let scheduler: Arc<dyn Scheduler> = test.clone();
/// let label = TaskLabel::new();
/// let task = scheduler.spawn_labeled(label, std::future::pending::<()>());
/// let live = test.live_tasks();
/// assert_eq!(live.len(), 1);
/// assert_eq!(live[0].id, task.id());
/// assert_eq!(live[0].label, Some(label));
/// assert!(live[0].spawned_at.file().ends_with(".rs"));
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveTask {
    /// The task's id.
    pub id: TaskId,
    /// Its label, if it was spawned with one.
    pub label: Option<TaskLabel>,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
}

impl fmt::Display for LiveTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(label) = self.label {
            write!(f, " ({label})")?;
        }
        write!(f, " spawned at {}", self.spawned_at)
    }
}

impl From<&TaskMetadata> for LiveTask {
    fn from(meta: &TaskMetadata) -> Self {
        Self {
            id: meta.id,
            label: meta.label,
            spawned_at: meta.spawned_at,
        }
    }
}

/// Which tasks are alive. Ids are handed out 1, 2, 3, ... so the table is indexed by
/// `id - first` and trimmed from the front as the oldest tasks end. A task enters the table
/// when it is first scheduled (which `spawn` does before it returns), so spawning takes no
/// lock of its own.
///
/// Hot and cold parts are apart: `states` (one byte a task, touched on every schedule and
/// at the end) stays in cache with 100,000 tasks queued; `info` is written once and read
/// only for reports.
pub(crate) struct TaskTable {
    first: u64,
    states: VecDeque<Slot>,
    info: VecDeque<LiveTask>,
}

#[derive(Copy, Clone, PartialEq, Eq)]
enum Slot {
    /// Id handed out, not scheduled yet (spawned on another thread a moment ago).
    Unseen,
    Live,
    Ended,
}

impl TaskTable {
    pub(crate) const fn new() -> Self {
        Self {
            first: 1,
            states: VecDeque::new(),
            info: VecDeque::new(),
        }
    }

    /// Notes that the task was scheduled: the first time, it becomes live.
    pub(crate) fn see(&mut self, task: &TaskMetadata) {
        let Some(index) = self.offset(task.id) else {
            return; // ended and trimmed already
        };
        if let Some(slot) = self.states.get_mut(index) {
            if *slot == Slot::Unseen {
                *slot = Slot::Live;
                self.info[index] = LiveTask::from(task);
            }
            return;
        }
        while self.states.len() < index {
            self.states.push_back(Slot::Unseen);
            self.info.push_back(LiveTask::from(task)); // a placeholder until seen
        }
        self.states.push_back(Slot::Live);
        self.info.push_back(LiveTask::from(task));
    }

    /// Marks the task ended; returns what was known of it if it was live.
    pub(crate) fn end(&mut self, id: TaskId) -> Option<LiveTask> {
        let index = self.offset(id).filter(|&i| i < self.states.len())?;
        let was = core::mem::replace(&mut self.states[index], Slot::Ended);
        let ended = (was == Slot::Live).then(|| self.info[index]);
        while self.states.front() == Some(&Slot::Ended) {
            self.states.pop_front();
            self.info.pop_front();
            self.first += 1;
        }
        ended
    }

    pub(crate) fn is_running(&self, id: TaskId) -> bool {
        self.offset(id)
            .and_then(|index| self.states.get(index))
            .is_some_and(|slot| *slot == Slot::Live)
    }

    pub(crate) fn live(&self) -> impl Iterator<Item = LiveTask> + '_ {
        self.states
            .iter()
            .zip(&self.info)
            .filter(|(slot, _)| **slot == Slot::Live)
            .map(|(_, info)| *info)
    }

    fn offset(&self, id: TaskId) -> Option<usize> {
        usize::try_from(id.as_u64().checked_sub(self.first)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: u64) -> TaskMetadata {
        TaskMetadata::here(TaskId::from_raw(id).unwrap(), None)
    }

    #[test]
    fn tasks_live_from_first_schedule_until_their_end_in_any_order() {
        let mut table = TaskTable::new();
        // Id 2 is scheduled before id 1 (spawned on another thread a moment earlier).
        table.see(&meta(2));
        assert!(table.is_running(TaskId::from_raw(2).unwrap()));
        assert!(
            !table.is_running(TaskId::from_raw(1).unwrap()),
            "unseen is not running"
        );
        table.see(&meta(1));
        table.see(&meta(3));
        table.see(&meta(2)); // a second schedule changes nothing
        let ids = |t: &TaskTable| {
            t.live()
                .map(|l| l.id.as_u64())
                .collect::<alloc::vec::Vec<_>>()
        };
        assert_eq!(ids(&table), [1, 2, 3]);
        assert_eq!(
            table
                .end(TaskId::from_raw(2).unwrap())
                .map(|l| l.id.as_u64()),
            Some(2)
        );
        assert_eq!(table.end(TaskId::from_raw(2).unwrap()), None, "ends once");
        assert_eq!(ids(&table), [1, 3]);
        table.end(TaskId::from_raw(1).unwrap());
        assert_eq!(table.first, 3, "ended tasks at the front are trimmed");
        table.see(&meta(1)); // a late schedule of a trimmed task is ignored
        assert_eq!(ids(&table), [3]);
    }
}
