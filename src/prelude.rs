//! The names most code needs, in one import: `use unified_scheduler::prelude::*;`.
//!
//! ```
//! use unified_scheduler::prelude::*;
//!
//! TestScheduler::once(|test| async move {
//!     let task = test.spawn(async { 1 });
//!     yield_now().await;
//!     assert_eq!(task.await, 1);
//! });
//! ```

pub use crate::core::{Priority, Scheduler, SchedulerExt, Task, TaskLabel, yield_now};
#[cfg(feature = "std")]
pub use crate::executor::{BackgroundExecutor, ForegroundExecutor};
#[cfg(feature = "test-scheduler")]
pub use crate::test_scheduler::{TestScheduler, TestSchedulerConfig};
