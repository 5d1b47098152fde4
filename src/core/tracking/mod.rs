//! How a scheduler that follows its tasks (the `TestScheduler`) numbers them and hears how
//! they end, without ever running its own code, or anyone's, inside a task's destructor.
//!
//! A tracking scheduler owns a `Tracker` and hands it out through `Scheduler::tracker`.
//! The spawn helpers number the task from it and wrap the future so that, when async-task
//! drops the future (it completed, panicked or was cancelled), a guard records the end in
//! the tracker's `EndLog`; a dropped or cancelled `Task` handle records a notice there too.
//! Both are plain pushes into a lock of this module: async-task drops futures under an
//! abort-on-panic guard, so nothing overridable, nothing that blocks, and no scheduler's
//! `Drop` may run there. The scheduler drains the log whenever it takes its own lock.
//!
//! There is also a fast path for the common case, one end between two of the scheduler's
//! locks: the log keeps one end in an atomic slot beside its lock, and an end that finds
//! the slot free takes it with one compare-and-swap. The scheduler empties the slot at
//! every lock, after the events. (Targets without 64-bit atomics always take the lock.)
//!
//! Without the `test-scheduler` feature no scheduler can track tasks, so `untracked.rs`
//! stands in with the same names (a watch of zero size) and the spawn helpers spawn each
//! future as it is: a production build compiles none of the machinery above and one task
//! type per future type. With the feature on, a future the TestScheduler tracks is wrapped
//! and one spawned elsewhere is not, so untracked tasks stay as small as in production.

#[cfg(feature = "test-scheduler")]
mod tracked;
#[cfg(not(feature = "test-scheduler"))]
mod untracked;

#[cfg(feature = "test-scheduler")]
pub(crate) use tracked::*;
#[cfg(not(feature = "test-scheduler"))]
pub(crate) use untracked::*;
