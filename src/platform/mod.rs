//! Production dispatchers, one file per OS, each behind its own feature.
//!
//! # The contract every backend file follows
//!
//! A backend is one file (or one directory) that opens with *Implementation notes* and
//! provides:
//!
//! - a public dispatcher type with `new()` (sensible defaults), a `*Config` for the knobs, and
//!   `impl Scheduler`; `Debug` shows its queue lengths;
//! - **background work** on a pool of threads (`schedule`): a panicking task never kills a
//!   thread of the pool (the panic reaches the task's awaiter), and idle threads sleep
//!   instead of spinning;
//! - **foreground work** on the main thread, the thread that created the dispatcher
//!   (`schedule_foreground`, `is_main_thread`): runnables run there in FIFO order and never
//!   run on any other thread. One that must be discarded elsewhere (at shutdown) is
//!   dropped, never forgotten: the core's `ThreadBound` then leaks only its `!Send` future,
//!   and the awaiter sees the cancellation;
//! - **timers** (`schedule_after`) that never fire early, fire in deadline order (ties in
//!   the order they were scheduled), saturate on huge delays and never hold up the pool;
//! - **blocking** (`park`, `unparker`, and so `block`/`block_with_timeout`) that parks the
//!   calling thread on its own parker (any number of threads may block at once); each
//!   backend documents whether blocking on the main thread runs foreground work. A task
//!   that blocks on a pool thread must not starve the pool: the backend gives the pool a
//!   thread in its place while it blocks (tokio's `block_in_place`);
//! - **shutdown** on drop: the pool's threads stop and are joined (without deadlock when the
//!   last reference is dropped on one of them), queued runnables are dropped on a thread
//!   their type allows, so awaiters see cancellation instead of a hang and nothing leaks
//!   that could have been dropped;
//! - the dispatcher's threads hold only its inner shared state, never the dispatcher itself,
//!   so the user's last `Arc` decides when it shuts down;
//! - a multi-threaded backend hands that inner state to its tasks through
//!   `Scheduler::task_queue`, so a wake touches no reference count all threads share and
//!   can never run the dispatcher's `Drop`; after shutdown, a wake through it cancels its
//!   task.
//!
//! Platform types (calloop, windows-sys, libdispatch) stay out of the public API except
//! where exposing them is the point. Every backend passes the generic conformance suite in
//! `tests/conformance/`.

#[cfg(us_linux_calloop)]
pub(crate) mod linux;
#[cfg(us_win_threadpool)]
pub(crate) mod windows;

cfg_if::cfg_if! {
    if #[cfg(us_linux_calloop)] {
        use self::linux::LinuxDispatcher as Chosen;
    } else if #[cfg(us_win_threadpool)] {
        use self::windows::WindowsDispatcher as Chosen;
    }
}

/// The production dispatcher of the target OS: [`LinuxDispatcher`](crate::LinuxDispatcher)
/// on Linux and the BSDs (feature `linux-calloop`),
/// [`WindowsDispatcher`](crate::WindowsDispatcher) on Windows (feature `win-threadpool`).
///
/// Name this type, not the OS's, and the same code builds on every OS whose backend feature
/// is on: enable each backend for its own target, e.g.
///
/// ```toml
/// [target.'cfg(target_os = "linux")'.dependencies]
/// unified-scheduler = { version = "0.1", features = ["linux-calloop"] }
/// [target.'cfg(windows)'.dependencies]
/// unified-scheduler = { version = "0.1", features = ["win-threadpool"] }
/// ```
///
/// Every dispatcher offers the same constructors (`new`, `with_config`, `try_with_config`)
/// and the same knob names, and follows the contract in the `platform` module docs.
///
/// ```
/// use std::sync::Arc;
/// use unified_scheduler::{PlatformDispatcher, Scheduler};
///
/// let scheduler: Arc<dyn Scheduler> = Arc::new(PlatformDispatcher::new());
/// let task = scheduler.spawn(async { 6 * 7 });
/// assert_eq!(scheduler.block(task), 42);
/// ```
#[cfg(any(us_linux_calloop, us_win_threadpool))]
pub type PlatformDispatcher = Chosen;
