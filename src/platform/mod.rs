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
