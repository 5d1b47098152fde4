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

/// Task ids are handed out 1, 2, 3, ... so the table is a deque indexed by `id - first`,
/// trimmed from the front as the oldest tasks end.
pub(crate) struct TaskTable {
    first: u64,
    slots: VecDeque<Option<LiveTask>>,
}

impl TaskTable {
    pub(crate) const fn new() -> Self {
        Self {
            first: 1,
            slots: VecDeque::new(),
        }
    }

    /// Registers a new task and returns its id.
    pub(crate) fn spawn(
        &mut self,
        label: Option<TaskLabel>,
        spawned_at: &'static Location<'static>,
    ) -> TaskId {
        let raw = self.first + self.slots.len() as u64;
        let id = TaskId::from_raw(raw).expect("task ids start at 1");
        self.slots.push_back(Some(LiveTask {
            id,
            label,
            spawned_at,
        }));
        id
    }

    /// Marks the task ended; returns what was known of it.
    pub(crate) fn end(&mut self, id: TaskId) -> Option<LiveTask> {
        let index = self.index(id)?;
        let ended = self.slots[index].take();
        while let Some(None) = self.slots.front() {
            self.slots.pop_front();
            self.first += 1;
        }
        ended
    }

    pub(crate) fn is_running(&self, id: TaskId) -> bool {
        self.index(id)
            .is_some_and(|index| self.slots[index].is_some())
    }

    pub(crate) fn live(&self) -> impl Iterator<Item = LiveTask> + '_ {
        self.slots.iter().flatten().copied()
    }

    fn index(&self, id: TaskId) -> Option<usize> {
        let offset = id.as_u64().checked_sub(self.first)?;
        usize::try_from(offset)
            .ok()
            .filter(|&i| i < self.slots.len())
    }
}
