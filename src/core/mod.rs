//! The portable core: the `Scheduler` trait, tasks and the generic helpers.
//!
//! Needs only `alloc`; it never names a backend. The blocking helpers and the thread check of
//! foreground tasks come with `std`.

#[cfg(feature = "std")]
mod block;
pub(crate) mod metadata;
pub(crate) mod scheduler;
mod spawn;
pub(crate) mod task;
pub(crate) mod task_queue;
#[cfg(feature = "std")]
pub(crate) mod thread_bound;
#[cfg(feature = "std")]
#[cfg_attr(not(us_has_clock), allow(dead_code))] // its users need a clock
pub(crate) mod thread_parker;
pub(crate) mod time;
pub(crate) mod tracking;
pub(crate) mod unparker;

pub use metadata::{TaskId, TaskLabel, TaskMetadata};
pub use scheduler::{Driven, Park, Runnable, Scheduler};
pub use spawn::ForegroundSafe;
pub use task::{FallibleTask, Task};
pub use task_queue::{TaskQueue, Wake};
pub use time::Instant;
pub use unparker::Unparker;
