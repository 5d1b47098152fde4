//! Cloudflare Workers (feature `cloudflare`, `wasm32` only): a `Scheduler` for the isolate's
//! one thread, and the request's execution context over workers-rs's `worker::Context`.
//!
//! # Implementation notes
//!
//! - The isolate is single-threaded: runnables run as microtasks (`queueMicrotask`), so a
//!   woken task runs before the isolate returns to the event loop, as a resolved promise's
//!   callbacks do. A task that yields runs after the next macrotask (`setTimeout(0)`), so
//!   a `yield_now` loop cannot starve timers and I/O.
//! - JS values are `!Send` and the `Scheduler` is `Send + Sync`, so no JS value lives in the
//!   scheduler: the pending timer's handle is in a thread-local keyed by scheduler, and each
//!   JS callback owns a reference to the scheduler's (`Send`) state.
//! - The request's sessions are the simulation's own code (`SimulatedExecutionContext`,
//!   one per request, so nothing accumulates across requests): the same linking, the same
//!   checks, the same errors in both worlds.
//! - MSRV: workers-rs needs Rust 1.91, so this feature does; the rest of the crate keeps its
//!   own (1.86).

mod context;
mod js;
mod scheduler;

pub use context::CloudflareExecutionContext;
pub use scheduler::WorkersScheduler;
