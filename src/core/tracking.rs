//! How a scheduler that follows its tasks (the `TestScheduler`) numbers them and hears how
//! they end, without ever running its own code, or anyone's, inside a task's destructor.
//!
//! A tracking scheduler owns a [`Tracker`] and hands it out through `Scheduler::tracker`.
//! The spawn helpers number the task from it and wrap the future so that, when async-task
//! drops the future (it completed, panicked or was cancelled), a guard records the end in
//! the tracker's [`EndLog`]; a dropped or cancelled `Task` handle records a notice there too.
//! Both are plain pushes into a lock of this module: async-task drops futures under an
//! abort-on-panic guard, so nothing overridable, nothing that blocks, and no scheduler's
//! `Drop` may run there. The scheduler drains the log whenever it takes its own lock.
//!
//! With `std` there is also a fast path for the common case: the end happens inside
//! `Runnable::run`, called by the very scheduler that wants to hear of it. That scheduler
//! runs the runnable through `run_collecting`, and the end comes back through a
//! thread-local slot instead of the log's lock. The slot names the log by address and the
//! task by id; an end that matches neither takes the log. The address cannot be reused
//! while the task's guard lives (it holds the log).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::panic::Location;
use core::sync::atomic::{AtomicBool, Ordering};

use super::TaskId;
use super::metadata::IdCounter;
use crate::sync::Mutex;

/// How a task's future ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TaskEnd {
    /// The future returned a value.
    Completed,
    /// The future was dropped before it finished.
    Cancelled,
    /// The future panicked (the panic itself goes on to the task's awaiter; without `std`
    /// a panic aborts, so this never happens).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Panicked,
}

/// How a `Task` handle gave up on its task before it finished.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum GaveUp {
    /// The `Task` was dropped (which cancels it).
    Dropped,
    /// `Task::cancel` was called.
    Cancelled,
}

/// What the log records about a task.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TaskEvent {
    /// Its future ended.
    Ended(TaskId, TaskEnd),
    /// Its handle gave up on it; the future ends (as `Cancelled`) when the scheduler next
    /// runs or drops its runnable.
    GaveUp(TaskId, GaveUp),
}

/// Where the guards of a scheduler's tasks record their ends.
#[derive(Default)]
pub(crate) struct EndLog {
    events: Mutex<Vec<TaskEvent>>,
    /// Whether `events` may hold something: lets the scheduler skip the lock when not.
    pending: AtomicBool,
}

impl EndLog {
    pub(crate) fn push(&self, event: TaskEvent) {
        self.events.lock().push(event);
        self.pending.store(true, Ordering::Release);
    }

    /// Whether something may have been recorded since the last drain.
    #[inline]
    #[cfg_attr(not(feature = "test-scheduler"), allow(dead_code))] // the TestScheduler's
    pub(crate) fn has_events(&self) -> bool {
        self.pending.load(Ordering::Relaxed)
    }

    /// Moves the recorded events, oldest first, to the end of `into`.
    #[cfg_attr(not(feature = "test-scheduler"), allow(dead_code))] // the TestScheduler's
    pub(crate) fn drain_into(&self, into: &mut Vec<TaskEvent>) {
        if self.pending.swap(false, Ordering::Acquire) {
            into.append(&mut self.events.lock());
        }
    }

    #[cfg(feature = "std")]
    fn address(&self) -> *const () {
        (self as *const Self).cast()
    }
}

/// A tracking scheduler's numbering and end log; see the module docs. Only this crate can
/// make one, so only this crate's schedulers track tasks.
pub struct Tracker {
    ids: IdCounter,
    log: Arc<EndLog>,
}

impl Tracker {
    #[cfg_attr(not(feature = "test-scheduler"), allow(dead_code))] // only the TestScheduler
    pub(crate) fn new() -> Self {
        Self {
            ids: IdCounter::new(),
            log: Arc::new(EndLog::default()),
        }
    }

    /// The id of the next task: 1, 2, 3, ... in spawn order.
    pub(crate) fn next_id(&self) -> TaskId {
        TaskId::counted(&self.ids)
    }

    pub(crate) fn log(&self) -> &Arc<EndLog> {
        &self.log
    }
}

impl core::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tracker").finish_non_exhaustive()
    }
}

/// Where a blocked future (or task) last awaited a `Task` that was not ready.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "std"), allow(dead_code))] // noted only with `std`
pub(crate) struct Await {
    pub(crate) at: &'static Location<'static>,
    pub(crate) on: TaskId,
}

#[cfg(feature = "std")]
mod slot {
    use core::cell::Cell;

    use super::{Await, EndLog, TaskEnd, TaskId};
    use crate::Runnable;

    /// The task the thread is running for a tracking scheduler right now, and its end.
    #[derive(Copy, Clone)]
    struct Slot {
        log: *const (),
        running: Option<TaskId>,
        ended: Option<(TaskId, TaskEnd)>,
    }

    /// The blocked future the thread is polling for a tracking scheduler right now, and the
    /// last `Task` of that scheduler it awaited without result. Apart from `Slot`, so that
    /// running a task (the hot path) copies no more than it needs.
    #[derive(Copy, Clone)]
    struct Polling {
        log: *const (),
        awaited: Option<Await>,
    }

    std::thread_local! {
        static SLOT: Cell<Slot> = const {
            Cell::new(Slot { log: core::ptr::null(), running: None, ended: None })
        };
        static POLLING: Cell<Polling> = const {
            Cell::new(Polling { log: core::ptr::null(), awaited: None })
        };
    }

    /// Puts back what a `Cell` held when dropped, even on unwinding: nested runs (a task
    /// blocking on another task) save and restore, so each run sees only its own.
    #[cfg_attr(not(feature = "test-scheduler"), allow(dead_code))] // the TestScheduler's
    struct Restore<T: Copy + 'static>(&'static std::thread::LocalKey<Cell<T>>, T);

    impl<T: Copy + 'static> Drop for Restore<T> {
        fn drop(&mut self) {
            self.0.set(self.1);
        }
    }

    /// Runs `runnable` for the scheduler whose log is `log`; how its task ended, if it ended
    /// during this run.
    #[cfg_attr(not(feature = "test-scheduler"), allow(dead_code))] // the TestScheduler's
    pub(crate) fn run_collecting(log: &EndLog, runnable: Runnable) -> Option<(TaskId, TaskEnd)> {
        let running = Some(runnable.metadata().id);
        let outer = SLOT.replace(Slot {
            log: log.address(),
            running,
            ended: None,
        });
        let restore = Restore(&SLOT, outer);
        runnable.run();
        let ended = SLOT.get().ended;
        drop(restore);
        ended
    }

    /// Runs `poll` (a poll of a blocked future) for the scheduler whose log is `log`; the
    /// last `Task` of that scheduler it awaited without result, if any.
    #[cfg_attr(not(feature = "test-scheduler"), allow(dead_code))] // the TestScheduler's
    pub(crate) fn poll_collecting(log: &EndLog, poll: impl FnOnce()) -> Option<Await> {
        let outer = POLLING.replace(Polling {
            log: log.address(),
            awaited: None,
        });
        let restore = Restore(&POLLING, outer);
        poll();
        let awaited = POLLING.get().awaited;
        drop(restore);
        awaited
    }

    /// Hands `end` to the scheduler whose log is `log` if it is running task `id` on this
    /// thread right now; `false` if the caller must record it in the log.
    pub(crate) fn try_collect(log: &EndLog, id: TaskId, end: TaskEnd) -> bool {
        SLOT.try_with(|slot| {
            let mut current = slot.get();
            let ours = current.log == log.address() && current.running == Some(id);
            if ours && current.ended.is_none() {
                current.ended = Some((id, end));
                slot.set(current);
                return true;
            }
            false
        })
        .unwrap_or(false)
    }

    /// Notes that the blocked future polled for the scheduler whose log is `log` awaited a
    /// task and has to wait for it.
    pub(crate) fn note_await(log: &EndLog, awaited: Await) {
        let _ = POLLING.try_with(|polling| {
            let mut current = polling.get();
            if current.log == log.address() {
                current.awaited = Some(awaited);
                polling.set(current);
            }
        });
    }
}

#[cfg(feature = "std")]
pub(crate) use slot::{note_await, poll_collecting, run_collecting, try_collect};
