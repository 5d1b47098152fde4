#![doc = include_str!("../README.md")]
#![no_std]
// Keep std out of the portable core (tests, examples and benches may use std freely).
#![warn(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod core;
#[cfg(feature = "std")]
mod executor;
#[cfg(feature = "std")]
mod platform;
#[cfg(feature = "std")]
mod queue;
mod sync;
#[cfg(feature = "test-scheduler")]
mod test_scheduler;
#[cfg(any(feature = "std", feature = "test-scheduler"))]
mod timers;

pub use crate::core::{
    FallibleTask, ForegroundSafe, Instant, Runnable, Scheduler, Task, TaskId, TaskLabel,
    TaskMetadata, TaskQueue, Unparker,
};
#[cfg(feature = "std")]
pub use crate::executor::{BackgroundExecutor, ForegroundExecutor};
#[cfg(any(us_linux_calloop, us_win_threadpool))]
pub use crate::platform::PlatformDispatcher;
#[cfg(us_linux_calloop)]
pub use crate::platform::linux::{LinuxDispatcher, LinuxDispatcherConfig};
#[cfg(us_win_threadpool)]
pub use crate::platform::windows::{WindowsDispatcher, WindowsDispatcherConfig};
#[cfg(feature = "std")]
pub use crate::queue::QueueScheduler;
#[cfg(all(feature = "test-scheduler", feature = "std"))]
pub use crate::test_scheduler::SeedFailure;
#[cfg(feature = "test-scheduler")]
pub use crate::test_scheduler::{
    LiveTask, RandomDelay, TestRng, TestScheduler, TestSchedulerConfig,
};
