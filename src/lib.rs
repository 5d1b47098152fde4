//! One object-safe [`Scheduler`] trait for async Rust: the same code spawns, sleeps and
//! blocks on a production dispatcher and on the deterministic `TestScheduler`, which
//! runs tasks in a seeded random order on virtual time and names the seed that fails.
//!
//! # Where everything is
//!
//! | what | item | file |
//! |------|------|------|
//! | the trait every backend implements | [`Scheduler`], [`Runnable`] | `src/core/scheduler.rs` |
//! | the helpers on `Arc<dyn Scheduler>` | `spawn`, `spawn_labeled`, `spawn_with_priority`, `spawn_foreground`, `timer`, `downcast_ref`; `block`, `block_with_timeout` (std) | `src/core/spawn.rs`, `src/core/block.rs` |
//! | a spawned task | [`Task`], [`FallibleTask`], [`TaskId`], [`TaskLabel`], [`Priority`], [`TaskMetadata`] | `src/core/task.rs`, `src/core/metadata.rs` |
//! | time and blocking | [`Instant`], [`Park`], [`Driven`], [`Unparker`], [`TaskQueue`] + [`Wake`] | `src/core/` |
//! | GPUI-style handles | `BackgroundExecutor` (with `spawn_dedicated`: a thread of its own), `ForegroundExecutor` (std; under the `TestScheduler` each `foreground()` is a session of its own) | `src/executor.rs` |
//! | a scheduler you drive by hand | `QueueScheduler` (std) | `src/queue.rs` |
//! | production backends | `PlatformDispatcher` (the OS's one), `LinuxDispatcher` (`linux-calloop`), `WindowsDispatcher` (`win-threadpool`), `MacDispatcher` (`gcd`) | `src/platform/` |
//! | request sessions that prove no task outlives its request (`cloud-session`) | `SimulatedExecutionContext`, `SimulatedRequest`, `RequestContext`, `ExecutionContext`, `PlatformRuntime`, `SessionId`, `SessionTask`, `SessionError` | `src/cloud/` |
//! | Cloudflare Workers (`cloudflare`, wasm32) | `WorkersScheduler`, `CloudflareExecutionContext` | `src/cloudflare/` |
//! | the deterministic test scheduler | `TestScheduler`, `TestSchedulerConfig`, `SeedFailure`; test controls on `dyn Scheduler` (`advance_clock`, `run_until_parked`, `tick`, `deprioritize`, `is_task_running`, ...) | `src/test_scheduler/` |
//! | a test over seeds, parameters injected by type (`macros`) | `#[unified_scheduler::test]` | `macros/`, `src/test_scheduler/test_attr.rs` |
//!
//! Features: `std` (default), `test-scheduler`, `macros`, `cloud-session`, and one per backend:
//! `linux-calloop`, `gcd`, `win-threadpool`, `cloudflare` (wasm32). A backend feature builds
//! only on its OS (`gcd` also on Linux when `LIBDISPATCH_DIR` names a libdispatch); elsewhere
//! build.rs warns and builds nothing. Without `std` the core
//! needs only `alloc`.
//!
//! ```
//! use std::sync::Arc;
//! use unified_scheduler::{QueueScheduler, Scheduler};
//!
//! let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
//! let a = scheduler.spawn(async { 20 });
//! let b = scheduler.spawn(async { 22 });
//! assert_eq!(scheduler.block(async { a.await + b.await }), 42);
//! ```
//!
//! # Your first test
//!
//! Write the code under test against `Arc<dyn Scheduler>`. In the test, hand it a
//! `TestScheduler` and run the body over many seeds: each seed is one interleaving of the
//! tasks, on virtual time, so `timer(Duration::from_secs(3600))` takes no real time. A
//! failing seed fails the test with the seed and the one-line command that replays it
//! (`SEED=n cargo test ...`); `ITERATIONS=k` runs more seeds, and `JOBS=n` runs them on `n`
//! threads with [`TestScheduler::many_parallel`].
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//! use unified_scheduler::prelude::*;
//!
//! /// The code under test: a cache that fills itself after a (slow) fetch.
//! async fn cached_fetch(scheduler: Arc<dyn Scheduler>, cache: Arc<Mutex<Option<u32>>>) -> u32 {
//!     if let Some(hit) = *cache.lock().unwrap() {
//!         return hit;
//!     }
//!     scheduler.timer(Duration::from_secs(1)).await; // the network, on virtual time
//!     *cache.lock().unwrap() = Some(7);
//!     7
//! }
//!
//! TestScheduler::many(50, |test| async move {
//!     let scheduler = test.to_dyn(); // what production code takes: Arc<dyn Scheduler>
//!     let cache = Arc::new(Mutex::new(None));
//!     let first = test.spawn(cached_fetch(scheduler.clone(), cache.clone()));
//!     let second = test.spawn(cached_fetch(scheduler, cache.clone()));
//!     assert_eq!(first.await + second.await, 14);
//!     assert_eq!(*cache.lock().unwrap(), Some(7));
//! });
//! ```
//!
//! The helpers (`spawn`, `timer`, `timeout`, `interval`, `yield_now`, `block`, ...) are on
//! `Arc<dyn Scheduler>` and, through [`SchedulerExt`] (in the [`prelude`]), on an `Arc` of
//! any concrete scheduler: `Arc<TestScheduler>`, `Arc<LinuxDispatcher>`, ...
//!
//! Good to know on day one:
//!
//! - **A [`Task`] is not `tokio::spawn`'s handle: dropping it cancels the task.** Await it,
//!   or call [`Task::detach`] to let it run on its own. A stuck test names the tasks that
//!   were cancelled by a dropped handle.
//! - **Tasks interleave only where they return `Pending`**: at an `.await` on a timer, a
//!   channel, a lock, or [`yield_now`]. A task that never waits runs to its end in one step
//!   (the scheduler is cooperative, not preemptive), so put a `yield_now().await` where a
//!   race could happen if you want the seeds to try it.
//! - **Time is virtual under the `TestScheduler`**: `scheduler.now()` starts at a fixed
//!   point and moves only with the scheduler. Compare it with other readings of
//!   `scheduler.now()`, never with `std::time::Instant::now()`.
//! - **Statics outlive a seed**: a `static` counter keeps its value from one seed (and one
//!   test) to the next, so a seed can fail for state it did not make. Keep state in the
//!   test body; `CHECK_DETERMINISM=1` names the step where two runs of one seed part.
//! - A spin loop that never awaits cannot be interrupted by any scheduler of this kind; the
//!   step budget (`MAX_STEPS`) stops a task that yields forever, with its seed.
//!
//! # tokio code under the `TestScheduler`
//!
//! What works: everything runtime-free, which is most of `tokio::sync` (`mpsc`, `oneshot`,
//! `Mutex`, `RwLock`, `Semaphore`, `Notify`, `watch`, `broadcast`): their futures wake
//! through the waker they are given, so they interleave under the seeds like any other.
//! What does not: anything that needs tokio's runtime: `tokio::spawn`, `tokio::time`
//! (`sleep`, `timeout`, `interval`), `tokio::net` and `tokio::fs`. They panic with tokio's
//! "there is no reactor running" (or "must be called from the context of a Tokio 1.x
//! runtime"), and the runner then adds a line naming the replacements: `scheduler.spawn`,
//! `scheduler.timer`, `scheduler.timeout`, `scheduler.interval`. Code written against
//! `Arc<dyn Scheduler>` rather than tokio's free functions runs on both.
//!
//! `examples/find_the_race.rs` goes further: it finds a lost update, replays it, and checks
//! the fix.
#![no_std]
#![doc(test(attr(deny(warnings))))]
// Keep std out of the portable core (tests, examples and benches may use std freely).
#![warn(
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core
)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Feature badges name Cargo features, never the cfgs build.rs derives from them.
#![cfg_attr(
    docsrs,
    doc(auto_cfg(hide(
        us_linux_calloop,
        us_win_threadpool,
        us_gcd,
        us_has_clock,
        us_cloudflare
    )))
)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "cloud-session")]
mod cloud;
#[cfg(us_cloudflare)]
#[cfg_attr(docsrs, doc(cfg(feature = "cloudflare")))]
mod cloudflare;
mod core;
#[cfg(feature = "std")]
mod executor;
#[cfg(any(us_linux_calloop, us_win_threadpool, us_gcd))]
mod platform;
pub mod prelude;
// It keeps real-time timers, so it needs a clock (not on wasm32-unknown-unknown).
#[cfg(us_has_clock)]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
mod queue;
mod sync;
#[cfg(feature = "test-scheduler")]
mod test_scheduler;
#[cfg(any(us_has_clock, feature = "test-scheduler", us_cloudflare))]
mod timer_heap;

#[cfg(feature = "cloud-session")]
pub use crate::cloud::{
    AtSessionEnd, ContextError, ExecutionContext, LinkedTask, LocalBoxFuture, PlatformRuntime,
    RequestContext, SessionConfig, SessionError, SessionId, SessionTask, SimulatedExecutionContext,
    SimulatedRequest, TaskCancelled, WorkError,
};
#[cfg(us_cloudflare)]
pub use crate::cloudflare::{CloudflareExecutionContext, WorkersScheduler};
pub use crate::core::{
    Driven, Elapsed, FallibleTask, ForegroundSafe, Instant, Interval, Park, Priority, Runnable,
    Scheduler, SchedulerExt, Task, TaskId, TaskLabel, TaskMetadata, TaskQueue, Unparker, Wake,
    YieldNow, yield_now,
};
#[cfg(feature = "std")]
pub use crate::executor::{BackgroundExecutor, ForegroundExecutor};
#[cfg(any(us_linux_calloop, us_win_threadpool, us_gcd))]
pub use crate::platform::PlatformDispatcher;
#[cfg(us_linux_calloop)]
pub use crate::platform::linux::{LinuxDispatcher, LinuxDispatcherConfig};
#[cfg(us_gcd)]
pub use crate::platform::mac::{MacDispatcher, MacDispatcherConfig};
#[cfg(us_win_threadpool)]
pub use crate::platform::windows::{WindowsDispatcher, WindowsDispatcherConfig};
#[cfg(us_has_clock)]
pub use crate::queue::QueueScheduler;
#[cfg(feature = "test-scheduler")]
pub use crate::test_scheduler::{
    ForcedSchedule, LiveTask, PORTFOLIO, PendingTaskCounts, RandomDelay, ScheduleStep, Strategy,
    StrategyParseError, StrategySpec, TestRng, TestScheduler, TestSchedulerConfig,
};
#[cfg(all(feature = "test-scheduler", feature = "std"))]
pub use crate::test_scheduler::{SeedFailure, ShrunkSchedule, ShrunkStep};
/// The calloop crate, at the version the `LinuxDispatcher` is built on: use it for the
/// `calloop::LoopHandle` that `LinuxDispatcher::insert_into` takes, so the two never
/// disagree on calloop's version.
#[cfg(us_linux_calloop)]
#[cfg_attr(docsrs, doc(cfg(feature = "linux-calloop")))]
pub use calloop;

/// Runs a test on a [`TestScheduler`] over seeds: the body, async or plain, gets its
/// parameters by type and may return `()` or `Result<(), E: Debug>` (an `Err` fails the
/// seed with the error's `Debug`). The attribute emits a plain `#[test] fn` of the same name,
/// so libtest's filters and `--exact` work, and a failing seed prints the line that replays
/// it, right in every kind of cargo target (`--lib`, `--bin`, `--test`, `--example`, ...).
///
/// | argument | seeds run |
/// |----------|-----------|
/// | (none) | seed 0 |
/// | `iterations = 100` | seeds 0 to 99 |
/// | `seed = 17` | seed 17 (with `iterations = k`: 17 to 17 + k - 1) |
/// | `seeds(1, 5, 9)` | those |
/// | `check_determinism` | each seed twice, failing where the schedules differ |
///
/// The env vars `SEED`, `ITERATIONS`, `MAX_STEPS` and `CHECK_DETERMINISM` override them as
/// for [`TestScheduler::many`]; `JOBS=n` runs the seeds on `n` threads, as
/// [`TestScheduler::many_parallel`] does. The parameters it injects: `Arc<TestScheduler>`,
/// `Arc<dyn Scheduler>`, [`BackgroundExecutor`], [`ForegroundExecutor`], each over the seed's
/// scheduler.
///
/// ```
/// # // `#[test]` functions exist under `cargo test` only: here the attribute expands and the
/// # // rest is dropped, leaving these imports unused. tests/test_macro.rs runs such tests.
/// # #![allow(unused_imports)]
/// use std::sync::Arc;
/// use std::time::Duration;
/// use unified_scheduler::{BackgroundExecutor, Scheduler, TestScheduler};
///
/// #[unified_scheduler::test(iterations = 20)]
/// async fn a_timer_takes_no_real_time(scheduler: Arc<dyn Scheduler>) {
///     let start = scheduler.now();
///     scheduler.timer(Duration::from_secs(3600)).await;
///     assert_eq!(scheduler.now() - start, Duration::from_secs(3600));
/// }
///
/// #[unified_scheduler::test(seed = 17)]
/// fn a_plain_fn_may_return_a_result(
///     test: Arc<TestScheduler>,
///     background: BackgroundExecutor,
/// ) -> Result<(), String> {
///     let task = background.spawn(async { 1 });
///     test.run_until_parked();
///     if task.is_finished() { Ok(()) } else { Err(format!("seed {} left it", test.seed())) }
/// }
/// # fn main() {}
/// ```
///
/// Any other parameter type is a compile error that names the ones it injects:
///
/// ```compile_fail
/// #[unified_scheduler::test]
/// async fn takes_a_number(n: u32) {}
/// # fn main() {}
/// ```
///
/// So are unknown arguments, and `seeds(..)` with `seed` or `iterations`:
///
/// ```compile_fail
/// #[unified_scheduler::test(seeds(1, 2), iterations = 3)]
/// async fn too_many_seeds() {}
/// # fn main() {}
/// ```
#[cfg(feature = "macros")]
pub use unified_scheduler_macros::test;

/// Not public API: what `#[unified_scheduler::test]` expands to calls these, and they may
/// change in any release.
#[cfg(feature = "macros")]
#[doc(hidden)]
pub mod __private {
    pub use crate::test_scheduler::{Inject, Seeds, TestOutcome, TestSite, run_test};
}

/// The README's examples, run as doc-tests so they cannot drift.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
