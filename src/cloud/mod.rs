//! Execution contexts and sessions (feature `cloud-session`): a request's tasks, tied to the
//! request, and a check that none of them outlives it unless it was handed to `wait_until`.
//!
//! A serverless request handler (a Cloudflare Worker, say) may start work that finishes
//! after the response: `ctx.waitUntil(promise)` tells the runtime to keep it alive. Anything
//! else still running when the response goes out is a leak: the runtime cancels it, so the
//! work silently never happens. Here a request is a **session**: every task spawned through
//! the context while a session is current is linked to it (id, label, spawn site), and
//! [`validate_session_cleanup`](SimulatedExecutionContext::validate_session_cleanup) fails,
//! naming each task, if one that `wait_until` does not cover is still running.
//!
//! - [`ExecutionContext`] and [`PlatformRuntime`]: the runtime's side (`wait_until`,
//!   `pass_through`, `delay`), object-safe, with futures that need not be `Send` (a Workers
//!   isolate is single-threaded).
//! - [`SimulatedExecutionContext`]: both traits over any `Arc<dyn Scheduler>`, with sessions.
//!   On the `TestScheduler` the requests interleave by seed on virtual time; it works the same
//!   on a production dispatcher, because the session tracks its tasks' ends itself.
//! - [`SimulatedExecutionContext::simulate_requests`]: N requests, each in its own session,
//!   interleaved, every session checked.
//!
//! # Implementation notes
//!
//! - The current session belongs to the thread and to the task, like a task-local: a task
//!   spawned through the context sets its session as current while it is polled, so what it
//!   spawns is linked to the same session, on whatever thread polls it (`current.rs`).
//! - A linked task's future is wrapped (`linked.rs`): the wrapper records the end (finished,
//!   or dropped unfinished: cancelled) and stops the future when its session cancels it.
//! - Sessions live in one registry behind one lock (`registry.rs`); no user code runs while it
//!   is held, and wakers are woken after it is released.

mod config;
mod context;
mod current;
mod error;
mod harness;
mod linked;
mod registry;
mod request;
mod runtime;
mod task;
mod wait;

pub use config::{AtSessionEnd, SessionConfig};
pub use context::SimulatedExecutionContext;
pub use error::{ContextError, LinkedTask, SessionError, TaskCancelled};
pub use registry::SessionId;
pub use request::{RequestContext, SimulatedRequest};
pub use runtime::{ExecutionContext, LocalBoxFuture, PlatformRuntime, WorkError};
pub use task::SessionTask;
