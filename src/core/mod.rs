//! The portable core: the `Scheduler` trait, tasks and the generic helpers.
//!
//! Needs only `alloc`; it never names a backend. The blocking helpers and the thread check of
//! foreground tasks come with `std`.
//!
//! # Invariants
//!
//! The SAFETY comments of the crate (here and in the backends' discard and shutdown code)
//! rest on one rule: **a foreground future is touched only on its owner thread**, the thread
//! that spawned it. `ThreadBound` (`thread_bound.rs`) enforces it for every touch: it polls
//! the future only there (elsewhere it panics, naming the task) and drops it only there
//! (elsewhere it leaks it). So a foreground runnable may be run, scheduled or dropped on
//! any thread without ever reaching its `!Send` state, and a backend may discard foreground
//! work wherever it is (see `platform/main_thread.rs`).

#[cfg(feature = "std")]
mod block;
mod ext;
mod interval;
pub(crate) mod metadata;
pub(crate) mod scheduler;
pub(crate) mod spawn;
pub(crate) mod task;
pub(crate) mod task_queue;
#[cfg(feature = "std")]
pub(crate) mod thread_bound;
#[cfg(feature = "std")]
#[cfg_attr(not(us_has_clock), allow(dead_code))] // its users need a clock
pub(crate) mod thread_parker;
pub(crate) mod time;
mod timeout;
pub(crate) mod tracking;
pub(crate) mod unparker;
mod yield_now;

pub use ext::SchedulerExt;
pub use interval::Interval;
pub use metadata::{Priority, TaskId, TaskLabel, TaskMetadata};
pub use scheduler::{Driven, Park, Runnable, Scheduler};
pub use spawn::ForegroundSafe;
pub use task::{FallibleTask, Task};
pub use task_queue::{TaskQueue, Wake};
pub use time::Instant;
pub use timeout::Elapsed;
pub use unparker::Unparker;
pub use yield_now::{YieldNow, yield_now};
