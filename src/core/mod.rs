//! The portable core: the `Scheduler` trait, tasks and the generic helpers.
//!
//! Needs only `alloc`; it never names a backend. The blocking helpers and the thread check of
//! foreground tasks come with `std`.

#[cfg(feature = "std")]
mod block;
mod metadata;
mod scheduler;
mod spawn;
mod task;
mod task_queue;
#[cfg(feature = "std")]
mod thread_bound;
#[cfg(feature = "std")]
pub(crate) mod thread_parker;
mod time;
mod tracking;
mod unparker;

pub use metadata::{TaskId, TaskLabel, TaskMetadata};
pub use scheduler::{Runnable, Scheduler};
pub use spawn::ForegroundSafe;
pub use task::{FallibleTask, Task};
pub use task_queue::TaskQueue;
pub use time::Instant;
pub use unparker::Unparker;

#[cfg(feature = "std")]
#[allow(unused_imports)] // used by the TestScheduler and backends, when their features are on
pub(crate) use thread_bound::current_thread_id;
#[allow(unused_imports)] // used by the TestScheduler, when its feature is on
pub(crate) use tracking::{Await, EndLog, GaveUp, TaskEnd, TaskEvent, Tracker};
#[cfg(feature = "std")]
#[allow(unused_imports)] // used by the TestScheduler, when its feature is on
pub(crate) use tracking::{poll_collecting, run_collecting};
