//! Production dispatchers, one file per OS, each behind its own feature.
//!
//! # The contract every backend file follows
//!
//! A backend is one directory with one file set: `mod.rs` (the type, its `*Config`, the
//! constructors, `impl Scheduler`, `Debug`, and *Implementation notes* at the top),
//! `pool.rs`, `timers.rs`, `foreground.rs` and `shutdown.rs` (its `Drop`); an OS may add a
//! file of its own (Windows: `window.rs`, the message window foreground work travels by).
//! What every backend does the same way is written once, here: `main_thread.rs` (the main
//! thread and its checks, `park`, the drop-not-forget rule, the failed-start panic) and
//! `unwind.rs` (no panic ends a pool thread or unwinds into the OS). Each backend provides:
//!
//! - a public dispatcher type with the constructor trio `new()` (sensible defaults),
//!   `with_config` and `try_with_config` (the OS error instead of a panic), a `*Config`
//!   whose pool-size knob is `worker_threads` (tokio's name) on every backend, and
//!   `impl Scheduler`; `Debug` shows its queue lengths. `Scheduler + Default + Debug + Send +
//!   Sync` is checked at compile time (`follows_the_contract` below);
//! - `run_until(future)`, one meaning everywhere: on the main thread, drive the main
//!   thread's platform loop (everything it dispatches, foreground tasks included) until
//!   `future` is ready;
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
#[cfg_attr(docsrs, doc(cfg(feature = "linux-calloop")))]
pub(crate) mod linux;
#[cfg(us_gcd)]
#[cfg_attr(docsrs, doc(cfg(feature = "gcd")))]
pub(crate) mod mac;
mod main_thread;
mod unwind;
#[cfg(us_win_threadpool)]
#[cfg_attr(docsrs, doc(cfg(feature = "win-threadpool")))]
pub(crate) mod windows;

/// The contract's bounds, checked at compile time for each backend
/// (`const _: fn() = super::follows_the_contract::<TheDispatcher>;` in its `mod.rs`).
#[allow(dead_code)] // only ever named, never called
fn follows_the_contract<T>()
where
    T: crate::core::Scheduler + Default + ::core::fmt::Debug + Send + Sync,
{
}

cfg_if::cfg_if! {
    if #[cfg(us_linux_calloop)] {
        use self::linux::LinuxDispatcher as Chosen;
    } else if #[cfg(us_win_threadpool)] {
        use self::windows::WindowsDispatcher as Chosen;
    } else if #[cfg(us_gcd)] {
        use self::mac::MacDispatcher as Chosen;
    }
}

/// The production dispatcher of the target OS: `LinuxDispatcher` on Linux and the BSDs
/// (feature `linux-calloop`), `WindowsDispatcher` on Windows (feature `win-threadpool`),
/// `MacDispatcher` on Apple OSes (feature `gcd`; on Linux, `gcd` with `LIBDISPATCH_DIR` builds
/// the `MacDispatcher` too, and `linux-calloop` stays the platform's choice).
///
/// Name this type, not the OS's, and the same code builds on every OS whose backend feature
/// is on: enable each backend for its own target, e.g.
///
/// ```toml
/// [target.'cfg(target_os = "linux")'.dependencies]
/// unified-scheduler = { version = "0.1", features = ["linux-calloop"] }
/// [target.'cfg(windows)'.dependencies]
/// unified-scheduler = { version = "0.1", features = ["win-threadpool"] }
/// [target.'cfg(target_vendor = "apple")'.dependencies]
/// unified-scheduler = { version = "0.1", features = ["gcd"] }
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
#[cfg(any(us_linux_calloop, us_win_threadpool, us_gcd))]
#[cfg_attr(
    docsrs,
    doc(cfg(any(feature = "linux-calloop", feature = "win-threadpool", feature = "gcd")))
)]
pub type PlatformDispatcher = Chosen;
