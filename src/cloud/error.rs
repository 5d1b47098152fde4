//! What can go wrong with a session, its tasks and the runtime calls, as values.

use ::core::fmt;
use ::core::panic::Location;
use ::core::time::Duration;
use alloc::string::String;
use alloc::vec::Vec;

use crate::core::{TaskId, TaskLabel};

use super::registry::SessionId;

/// A task linked to a session, as errors name it: its id, label and spawn site.
///
/// ```
/// use unified_scheduler::{SessionError, SimulatedExecutionContext, TestScheduler};
///
/// TestScheduler::once(|test| async move {
///     let ctx = SimulatedExecutionContext::new(test);
///     let session = ctx.create_session();
///     let task = ctx.with_session(session, || ctx.spawn(std::future::pending::<()>()));
///     let Err(SessionError::Leaked { tasks, .. }) = ctx.validate_session_cleanup(session) else {
///         panic!("a pending task outlives the session");
///     };
///     assert_eq!(tasks[0].id, task.id());
///     assert_eq!(tasks[0].spawned_at.file(), file!());
///     assert!(tasks[0].to_string().starts_with(&format!("task {} spawned at ", task.id())));
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkedTask {
    /// The task's id, as its scheduler knows it.
    pub id: TaskId,
    /// The label it was spawned with, if any.
    pub label: Option<TaskLabel>,
    /// Where it was spawned (or handed to `wait_until`).
    pub spawned_at: &'static Location<'static>,
}

impl fmt::Display for LinkedTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {} spawned at {}", self.id, self.spawned_at)?;
        if let Some(label) = self.label {
            write!(f, " with label {label:?}")?;
        }
        Ok(())
    }
}

/// Lists tasks for a message: "task #1 spawned at a.rs:1:1, task #2 spawned at b.rs:2:2".
fn list(tasks: &[LinkedTask]) -> String {
    let names: Vec<String> = tasks
        .iter()
        .map(alloc::string::ToString::to_string)
        .collect();
    names.join(", ")
}

/// Lists errors for a message, one per line.
fn lines(errors: &[SessionError]) -> String {
    let lines: Vec<String> = errors.iter().map(|e| alloc::format!("\n  - {e}")).collect();
    lines.concat()
}

/// Why a session check failed, or why a session id was refused.
///
/// ```
/// use unified_scheduler::{SessionError, SimulatedExecutionContext, TestScheduler};
///
/// TestScheduler::once(|test| async move {
///     let ctx = SimulatedExecutionContext::new(test);
///     let session = ctx.create_session();
///     ctx.end_session(session).unwrap();
///     assert_eq!(ctx.validate_session_cleanup(session), Err(SessionError::Ended(session)));
/// });
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// No session with this id was ever created by this context.
    #[error("{0} was not created by this execution context (sessions come from `create_session`)")]
    Unknown(SessionId),
    /// The session has ended; only its `wait_until` work still runs in it.
    #[error(
        "{0} has already ended: check its cleanup with `validate_session_cleanup` before \
         `end_session`, and wait for its `wait_until` work with `wait_on_session` once"
    )]
    Ended(SessionId),
    /// Tasks that `wait_until` does not cover are still running: they would outlive the
    /// request (and be cancelled by the Workers runtime once the response is sent).
    #[error(
        "{session} leaked {count} task(s) still running that may not outlive it: {tasks}; \
         await or cancel them before the request ends, or hand work that must outlive it to \
         `wait_until`",
        count = tasks.len(),
        tasks = list(tasks)
    )]
    Leaked {
        /// The session that leaked them.
        session: SessionId,
        /// Every unauthorized task still running, in spawn order.
        tasks: Vec<LinkedTask>,
    },
    /// A piece of `wait_until` work ended with an error.
    #[error("the wait_until work of {session}, {task}, failed: {message}")]
    WorkFailed {
        /// The session the work belongs to.
        session: SessionId,
        /// The `wait_until` task.
        task: LinkedTask,
        /// The work's error, as text.
        message: String,
    },
    /// `wait_until` work still running when the limit passed: hung, or too slow. It was
    /// cancelled, as the Workers runtime cancels it 30 s after the response.
    #[error(
        "the wait_until work of {session} was still running {limit:?} after it began to be \
         awaited, so it was abandoned (cancelled): {tasks}; it is hung (waits for something \
         that never comes) or too slow",
        tasks = list(tasks)
    )]
    WorkAbandoned {
        /// The session the work belongs to.
        session: SessionId,
        /// The limit that passed (`SessionConfig::wait_until_limit`).
        limit: Duration,
        /// The abandoned tasks, in the order they were handed to `wait_until`.
        tasks: Vec<LinkedTask>,
    },
    /// More than one of the above, in the order they were found.
    #[error("{count} session errors:{errors}", count = .0.len(), errors = lines(.0))]
    Several(Vec<SessionError>),
}

impl SessionError {
    /// One error for a list of them: `Ok` for none, the error itself for one, `Several`
    /// (flattened) for more.
    pub(super) fn aggregate(errors: Vec<SessionError>) -> Result<(), SessionError> {
        let mut flat = Vec::with_capacity(errors.len());
        for error in errors {
            match error {
                SessionError::Several(inner) => flat.extend(inner),
                error => flat.push(error),
            }
        }
        match flat.len() {
            0 => Ok(()),
            1 => Err(flat.remove(0)),
            _ => Err(SessionError::Several(flat)),
        }
    }
}

/// Why a runtime call of an [`ExecutionContext`](crate::ExecutionContext) was refused.
///
/// ```
/// use unified_scheduler::{ContextError, ExecutionContext, SimulatedExecutionContext, TestScheduler};
///
/// TestScheduler::once(|test| async move {
///     let ctx = SimulatedExecutionContext::new(test);
///     let error = ctx.wait_until(Box::pin(async { Ok(()) })).unwrap_err();
///     assert!(matches!(error, ContextError::NoSession { .. }));
///     assert!(error.to_string().contains("no session is current"));
/// });
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// The call needs a current session (a request) and there is none.
    #[error(
        "{call} called at {at} while no session is current: call it inside `with_session` or \
         `in_session`, or from a task spawned in a session"
    )]
    NoSession {
        /// The refused call.
        call: &'static str,
        /// Where it was called.
        at: &'static Location<'static>,
    },
    /// `wait_until` work need not be `Send`, so it runs on the scheduler's main thread, and
    /// this is not it.
    #[error(
        "wait_until called at {at} off the scheduler's main thread: its work need not be \
         `Send`, so it is spawned as a foreground task; call it on the main thread (the test \
         body, or a task spawned with `spawn_local`)"
    )]
    OffMainThread {
        /// Where it was called.
        at: &'static Location<'static>,
    },
    /// The current session was refused.
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// A [`SessionTask`](crate::SessionTask) that was cancelled before it finished.
///
/// ```
/// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
///
/// TestScheduler::once(|test| async move {
///     let ctx = SimulatedExecutionContext::new(test);
///     let session = ctx.create_session();
///     let task = ctx.with_session(session, || ctx.spawn(std::future::pending::<()>()));
///     ctx.end_session(session).unwrap(); // cancels what `wait_until` does not cover
///     let cancelled = task.await.unwrap_err();
///     assert_eq!(cancelled.by_session, Some(session));
///     assert!(cancelled.to_string().contains("was cancelled when session #1 ended"));
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "task {id} spawned at {spawned_at} {why}",
    why = match by_session {
        Some(session) => alloc::format!("was cancelled when {session} ended"),
        None => String::from("was cancelled by its scheduler (dropped, e.g. at shutdown)"),
    }
)]
#[non_exhaustive]
pub struct TaskCancelled {
    /// The cancelled task.
    pub id: TaskId,
    /// Where it was spawned.
    pub spawned_at: &'static Location<'static>,
    /// The session whose end cancelled it; `None` when its scheduler dropped it.
    pub by_session: Option<SessionId>,
}
