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
#[cfg(any(us_linux_calloop, us_win_threadpool))]
mod platform;
// It keeps real-time timers, so it needs a clock (not on wasm32-unknown-unknown).
#[cfg(us_has_clock)]
mod queue;
mod sync;
#[cfg(feature = "test-scheduler")]
mod test_scheduler;
#[cfg(any(us_has_clock, feature = "test-scheduler"))]
mod timer_heap;

pub use crate::core::{
    Driven, FallibleTask, ForegroundSafe, Instant, Park, Runnable, Scheduler, Task, TaskId,
    TaskLabel, TaskMetadata, TaskQueue, Unparker, Wake,
};
#[cfg(feature = "std")]
pub use crate::executor::{BackgroundExecutor, ForegroundExecutor};
#[cfg(any(us_linux_calloop, us_win_threadpool))]
pub use crate::platform::PlatformDispatcher;
#[cfg(us_linux_calloop)]
pub use crate::platform::linux::{LinuxDispatcher, LinuxDispatcherConfig};
#[cfg(us_win_threadpool)]
pub use crate::platform::windows::{WindowsDispatcher, WindowsDispatcherConfig};
#[cfg(us_has_clock)]
pub use crate::queue::QueueScheduler;
#[cfg(all(feature = "test-scheduler", feature = "std"))]
pub use crate::test_scheduler::SeedFailure;
#[cfg(feature = "test-scheduler")]
pub use crate::test_scheduler::{
    LiveTask, RandomDelay, TestRng, TestScheduler, TestSchedulerConfig,
};
