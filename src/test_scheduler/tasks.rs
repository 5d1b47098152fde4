//! Which tasks are alive, and how the others ended: O(1) per spawn and per end, in spawn
//! order, with memory that follows the number of live tasks, not the number ever spawned.

use ::core::fmt;
use ::core::panic::Location;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::window::Window;
use crate::core::tracking::{GaveUp, TaskEnd};
use crate::core::{TaskId, TaskLabel, TaskMetadata};

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

/// How many ended slots the window may keep behind a live task at its front before that
/// task moves to the stragglers: the memory the table may hold beyond its live tasks.
const STRAGGLER_SLACK: usize = 4096;

/// One byte a task, without a payload, so that comparing slots is comparing bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(super) enum Slot {
    /// Id handed out, not scheduled yet (spawned on another thread a moment ago).
    Unseen,
    Live,
    /// Its `Task` was dropped (`GaveUp::Dropped`); its future is dropped the next time the
    /// scheduler runs or drops its runnable. No longer running.
    Dropped,
    /// `Task::cancel` was called (`GaveUp::Cancelled`); likewise.
    Cancelled,
    Ended,
}

impl Slot {
    fn gave_up(how: GaveUp) -> Self {
        match how {
            GaveUp::Dropped => Self::Dropped,
            GaveUp::Cancelled => Self::Cancelled,
        }
    }
}

/// How the tasks that are gone ended, for the stuck report.
#[derive(Default)]
pub(crate) struct Ended {
    pub(crate) finished: u64,
    /// Cancelled because their `Task` was dropped: how many, by spawn site, first seen first.
    pub(crate) dropped: Vec<(&'static Location<'static>, u64)>,
    /// Cancelled by `Task::cancel`, or dropped by the scheduler itself.
    pub(crate) cancelled: u64,
    pub(crate) panicked: Vec<LiveTask>,
}

impl Ended {
    #[cfg(test)]
    fn dropped_count(&self) -> u64 {
        self.dropped.iter().map(|(_, count)| count).sum()
    }

    fn record(&mut self, task: LiveTask, was: Slot, end: TaskEnd) {
        match (end, was) {
            (TaskEnd::Completed, _) => self.finished += 1,
            (TaskEnd::Panicked, _) => self.panicked.push(task),
            (TaskEnd::Cancelled, Slot::Dropped) => {
                match self
                    .dropped
                    .iter_mut()
                    .find(|(at, _)| *at == task.spawned_at)
                {
                    Some((_, count)) => *count += 1,
                    None => self.dropped.push((task.spawned_at, 1)),
                }
            }
            (TaskEnd::Cancelled, _) => self.cancelled += 1,
        }
    }
}

/// A task table's window memory, empty, passed from one table to the next
/// (`TaskTable::take_buffers`, `TaskTable::with_buffers`).
#[cfg(feature = "std")]
pub(crate) struct TableBuffers(Window);

/// Which tasks are alive. Ids are handed out 1, 2, 3, ... so recent tasks sit in a window
/// indexed by `id - first`, trimmed from the front as the oldest tasks end. A task that
/// outlives most of the window (one early task that lives for the whole test) moves to
/// `stragglers`, so the window never has to keep a slot for every task spawned after it.
/// A task enters the table when it is first scheduled (which `spawn` does before it
/// returns), so spawning takes no lock of its own.
///
/// Hot and cold parts are apart (see `Window`): the slots (one byte a task, touched on every
/// schedule and at the end) stay in cache with 100,000 tasks queued; the info is written
/// once and read only for reports.
pub(crate) struct TaskTable {
    first: u64,
    window: Window,
    /// How many slots of the window are `Ended`.
    ended_in_window: usize,
    stragglers: BTreeMap<u64, (Slot, LiveTask)>,
    pub(crate) ended: Ended,
}

impl TaskTable {
    pub(crate) const fn new() -> Self {
        Self {
            first: 1,
            window: Window::new(),
            ended_in_window: 0,
            stragglers: BTreeMap::new(),
            ended: Ended {
                finished: 0,
                dropped: Vec::new(),
                cancelled: 0,
                panicked: Vec::new(),
            },
        }
    }

    /// An empty table that grows into `buffers` (from an earlier table) before it allocates.
    #[cfg(feature = "std")]
    pub(crate) fn with_buffers(buffers: TableBuffers) -> Self {
        let TableBuffers(mut window) = buffers;
        window.clear();
        Self {
            window,
            ..Self::new()
        }
    }

    /// The window's memory, emptied, for a later table; this one is left empty.
    #[cfg(feature = "std")]
    pub(crate) fn take_buffers(&mut self) -> TableBuffers {
        let mut window = ::core::mem::replace(&mut self.window, Window::new());
        window.clear();
        TableBuffers(window)
    }

    /// How many tasks the window holds without growing.
    #[cfg(feature = "std")]
    pub(crate) fn capacity(&self) -> usize {
        self.window.capacity()
    }

    /// Notes that the task was scheduled: the first time, it becomes live.
    #[inline(always)]
    pub(crate) fn see(&mut self, task: &TaskMetadata) {
        // Most schedules are a new task's first, one past the end of the window: inline.
        if self.offset(task.id) == Some(self.window.len()) {
            self.window.push_back(Slot::Live, LiveTask::from(task));
            return;
        }
        self.see_again(task);
    }

    /// `see`, for every case but a new task's first schedule.
    fn see_again(&mut self, task: &TaskMetadata) {
        let Some(index) = self.offset(task.id) else {
            if let Some((slot @ Slot::Unseen, info)) = self.stragglers.get_mut(&task.id.as_u64()) {
                *slot = Slot::Live;
                *info = LiveTask::from(task);
            }
            return; // otherwise ended and trimmed already
        };
        if let Some((slot, info)) = self.window.entry_mut(index) {
            if *slot == Slot::Unseen {
                *slot = Slot::Live;
                *info = LiveTask::from(task);
            }
            return;
        }
        while self.window.len() < index {
            // A placeholder until seen.
            self.window.push_back(Slot::Unseen, LiveTask::from(task));
        }
        self.window.push_back(Slot::Live, LiveTask::from(task));
    }

    /// Notes that the task's handle gave up on it; `true` if it was running until now.
    pub(crate) fn give_up(&mut self, id: TaskId, how: GaveUp) -> bool {
        match self.slot_mut(id) {
            Some((slot @ (Slot::Live | Slot::Unseen), _)) => {
                *slot = Slot::gave_up(how);
                true
            }
            _ => false,
        }
    }

    /// Marks the task ended and records how (once: a second end of the same task is
    /// ignored).
    #[inline(always)]
    pub(crate) fn end(&mut self, id: TaskId, end: TaskEnd) {
        // Most ends are a live task of the window completing: inline.
        if end == TaskEnd::Completed {
            if let Some((slot, index)) = self.offset(id).and_then(|index| {
                let slot = self.window.slot_mut(index)?;
                (*slot == Slot::Live).then_some((slot, index))
            }) {
                *slot = Slot::Ended;
                self.ended.finished += 1;
                self.window_slot_ended(index);
                return;
            }
        }
        self.end_other(id, end);
    }

    /// Counts the window's slot `index`, just marked `Ended`, and trims the window if that
    /// slot was its front or enough have ended.
    #[inline(always)]
    fn window_slot_ended(&mut self, index: usize) {
        self.ended_in_window += 1;
        // The front is never `Ended` between calls (`trim` pops those): only this end can
        // have made it so.
        if index == 0 || self.ended_in_window >= STRAGGLER_SLACK {
            self.trim();
        }
    }

    /// `end`, for every case but a live task of the window completing.
    fn end_other(&mut self, id: TaskId, end: TaskEnd) {
        let (was, info) = match self.offset(id) {
            Some(index) => {
                let Some(slot) = self.window.slot_mut(index) else {
                    return; // never seen: not ours, or scheduled from afar just now
                };
                let was = ::core::mem::replace(slot, Slot::Ended);
                if was == Slot::Ended {
                    return;
                }
                // The common end needs nothing of the cold part.
                let info = (end != TaskEnd::Completed).then(|| self.window.info(index));
                self.window_slot_ended(index);
                (was, info)
            }
            None => match self.stragglers.remove(&id.as_u64()) {
                Some((Slot::Ended, _)) | None => return,
                Some((was, info)) => (was, Some(info)),
            },
        };
        match (was, info) {
            (Slot::Unseen, _) => {} // nothing is known of it: `info` is a placeholder
            (_, None) => self.ended.finished += 1,
            (was, Some(info)) => self.ended.record(info, was, end),
        }
    }

    /// Drops ended slots from the front of the window, and moves a long-lived front task to
    /// the stragglers once fifteen in sixteen slots of the window behind it, and at least
    /// `STRAGGLER_SLACK` slots, have ended (tasks ending out of order, as a random order
    /// makes them, seldom pay for the map). The window stays within sixteen slots a live
    /// task (400 bytes) beyond the slack.
    fn trim(&mut self) {
        loop {
            if self.window.front() == Some(Slot::Ended) {
                self.drop_ended_front();
            }
            if self.window.len() == 0 {
                break; // every slot ended
            }
            // Fifteen in sixteen: tasks ending in a random order keep about half the window
            // ended for most of a big run; at one in two every other task of 100,000 went
            // through the map (insert and remove: 400 instructions a task, measured), at
            // seven in eight one in nine still did (114 instructions a task on average).
            let mostly_ended = self.ended_in_window >= STRAGGLER_SLACK
                && self.ended_in_window / 15 > (self.window.len() - self.ended_in_window);
            if !mostly_ended {
                break;
            }
            // The front is live (or given up on): it moves to the map.
            let (front, info) = self.window.pop_front().expect("the front was just read");
            self.stragglers.insert(self.first, (front, info));
            self.first += 1;
        }
    }

    /// Drops the ended slots at the front of the window: counted first, then dropped at
    /// once, so a slot costs the scan of a byte, not two pops (29 instructions a task,
    /// measured, with the tasks ending in a random order).
    fn drop_ended_front(&mut self) {
        let ended = self.window.count_front(Slot::Ended);
        self.window.drop_front(ended);
        self.ended_in_window -= ended;
        self.first += ended as u64;
    }

    pub(crate) fn is_running(&self, id: TaskId) -> bool {
        let slot = match self.offset(id) {
            Some(index) => self.window.slot(index),
            None => self.stragglers.get(&id.as_u64()).map(|(slot, _)| *slot),
        };
        slot == Some(Slot::Live)
    }

    /// Whether the task's handle gave up on it (its runnable can be dropped unrun).
    pub(crate) fn gave_up(&self, id: TaskId) -> bool {
        let slot = match self.offset(id) {
            Some(index) => self.window.slot(index),
            None => self.stragglers.get(&id.as_u64()).map(|(slot, _)| *slot),
        };
        matches!(slot, Some(Slot::Dropped | Slot::Cancelled))
    }

    /// The tasks that are running, in spawn order.
    pub(crate) fn live(&self) -> impl Iterator<Item = LiveTask> + '_ {
        self.all()
            .filter(|(slot, _)| *slot == Slot::Live)
            .map(|(_, info)| info)
    }

    /// Tasks whose handle was dropped and whose future the scheduler has yet to drop.
    pub(crate) fn dropped_pending(&self) -> impl Iterator<Item = LiveTask> + '_ {
        self.all()
            .filter(|(slot, _)| *slot == Slot::Dropped)
            .map(|(_, info)| info)
    }

    /// Every slot the table keeps, stragglers (the oldest) first.
    fn all(&self) -> impl Iterator<Item = (Slot, LiveTask)> + '_ {
        let stragglers = self.stragglers.values().copied();
        stragglers.chain(self.window.iter())
    }

    /// How many slots the table keeps (for tests of its memory use).
    #[cfg(test)]
    fn slots(&self) -> usize {
        self.window.len() + self.stragglers.len()
    }

    fn slot_mut(&mut self, id: TaskId) -> Option<(&mut Slot, &mut LiveTask)> {
        match self.offset(id) {
            Some(index) => self.window.entry_mut(index),
            None => self
                .stragglers
                .get_mut(&id.as_u64())
                .map(|(slot, info)| (slot, info)),
        }
    }

    /// The index of `id` in the window; `None` below it.
    fn offset(&self, id: TaskId) -> Option<usize> {
        usize::try_from(id.as_u64().checked_sub(self.first)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> TaskId {
        TaskId::from_raw(n).unwrap()
    }

    fn meta(n: u64) -> TaskMetadata {
        TaskMetadata::here(id(n), None)
    }

    fn ids(table: &TaskTable) -> alloc::vec::Vec<u64> {
        table.live().map(|l| l.id.as_u64()).collect()
    }

    #[test]
    fn tasks_live_from_first_schedule_until_their_end_in_any_order() {
        let mut table = TaskTable::new();
        // Id 2 is scheduled before id 1 (spawned on another thread a moment earlier).
        table.see(&meta(2));
        assert!(table.is_running(id(2)));
        assert!(!table.is_running(id(1)), "unseen is not running");
        table.see(&meta(1));
        table.see(&meta(3));
        table.see(&meta(2)); // a second schedule changes nothing
        assert_eq!(ids(&table), [1, 2, 3]);
        table.end(id(2), TaskEnd::Completed);
        table.end(id(2), TaskEnd::Completed); // a second end is ignored
        assert_eq!(table.ended.finished, 1, "ends once");
        assert_eq!(ids(&table), [1, 3]);
        table.end(id(1), TaskEnd::Completed);
        assert_eq!(table.first, 3, "ended tasks at the front are trimmed");
        table.see(&meta(1)); // a late schedule of a trimmed task is ignored
        assert_eq!(ids(&table), [3]);
        assert_eq!(table.ended.finished, 2);
    }

    #[test]
    fn a_long_lived_task_moves_aside_so_the_table_stays_small() {
        let mut table = TaskTable::new();
        table.see(&meta(1)); // lives for the whole test
        for n in 2..10_000 {
            table.see(&meta(n));
            table.end(id(n), TaskEnd::Completed);
        }
        assert!(
            table.slots() <= STRAGGLER_SLACK + 2,
            "{} slots kept",
            table.slots()
        );
        assert!(table.is_running(id(1)));
        assert_eq!(ids(&table), [1]);
        table.end(id(1), TaskEnd::Completed);
        assert!(!table.is_running(id(1)));
        assert_eq!(table.slots(), 0);
    }

    #[test]
    fn tasks_ending_in_a_random_order_seldom_take_the_straggler_map() {
        // 40,000 tasks queued, then ended in a shuffled order, as a seed of a big test ends
        // them: at most one in sixteen goes through the map (one in two did, at 400
        // instructions each; one in nine at seven in eight), and the memory still follows
        // the live tasks.
        // Under miri (a check for undefined behaviour, a thousand times slower) a smaller
        // table, too small for the policy itself to show.
        const N: u64 = if cfg!(miri) { 2_000 } else { 40_000 };
        let mut table = TaskTable::new();
        let mut order: alloc::vec::Vec<u64> = (1..=N).collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for i in (1..order.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        for n in 1..=N {
            table.see(&meta(n));
        }
        let mut moved = 0;
        for (done, &n) in order.iter().enumerate() {
            let before = table.stragglers.len();
            table.end(id(n), TaskEnd::Completed);
            moved += table.stragglers.len().saturating_sub(before);
            let live = N as usize - done - 1;
            assert!(
                table.slots() <= 16 * live + STRAGGLER_SLACK + 1,
                "{} slots for {live} live tasks",
                table.slots()
            );
        }
        assert!(
            moved as u64 <= N / 16,
            "{moved} of {N} tasks went through the map"
        );
        assert_eq!(table.slots(), 0);
        assert_eq!(table.ended.finished, N);
    }

    #[test]
    fn a_task_whose_handle_gave_up_is_not_running_and_counts_as_dropped() {
        let mut table = TaskTable::new();
        table.see(&meta(1));
        table.see(&meta(2));
        assert!(table.give_up(id(1), GaveUp::Dropped));
        assert!(!table.give_up(id(1), GaveUp::Dropped), "once");
        assert!(!table.is_running(id(1)));
        assert!(table.gave_up(id(1)));
        assert_eq!(ids(&table), [2]);
        assert_eq!(table.dropped_pending().count(), 1);
        table.end(id(1), TaskEnd::Cancelled);
        assert_eq!(table.ended.dropped_count(), 1);
        assert_eq!(table.dropped_pending().count(), 0);
        table.end(id(2), TaskEnd::Panicked);
        assert_eq!(table.ended.panicked.len(), 1);
    }
}
