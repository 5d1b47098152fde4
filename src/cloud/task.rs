//! `SessionTask<T>`: the handle of a task spawned through an execution context.

use ::core::fmt;
use ::core::future::Future;
use ::core::panic::Location;
use ::core::pin::Pin;
use ::core::task::{Context, Poll, ready};
use alloc::sync::Arc;

use crate::core::{FallibleTask, TaskId};

use super::error::TaskCancelled;
use super::registry::{LinkKey, Registry, SessionId};

/// A task spawned through a [`SimulatedExecutionContext`](crate::SimulatedExecutionContext):
/// a future of `Ok(output)`, or `Err(TaskCancelled)` if it was cancelled first (its session
/// ended, as a Workers request's uncovered work is cancelled, or its scheduler dropped it),
/// like tokio's `JoinHandle`.
///
/// Dropping it cancels the task, as dropping a [`Task`](crate::Task) does, and a cancelled
/// task no longer counts against its session; [`detach`](SessionTask::detach) lets it run on.
///
/// ```
/// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
///
/// TestScheduler::once(|test| async move {
///     let ctx = SimulatedExecutionContext::new(test);
///     let session = ctx.create_session();
///     let task = ctx.with_session(session, || ctx.spawn(async { 6 * 7 }));
///     assert_eq!(task.session(), Some(session));
///     assert_eq!(task.await, Ok(42));
///     assert_eq!(ctx.validate_session_cleanup(session), Ok(()));
/// });
/// ```
#[must_use = "dropping a SessionTask cancels it; call `.detach()` to let it run in the background"]
pub struct SessionTask<T> {
    task: Option<FallibleTask<Option<T>>>,
    link: Option<(Arc<Registry>, LinkKey)>,
    spawned_at: &'static Location<'static>,
}

impl<T> SessionTask<T> {
    pub(super) fn new(
        task: FallibleTask<Option<T>>,
        link: Option<(Arc<Registry>, LinkKey)>,
        spawned_at: &'static Location<'static>,
    ) -> Self {
        Self {
            task: Some(task),
            link,
            spawned_at,
        }
    }

    fn task(&self) -> &FallibleTask<Option<T>> {
        self.task
            .as_ref()
            .expect("only `detach` takes the task, by value")
    }

    /// The task's id, as its scheduler knows it.
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let (a, b) = (ctx.spawn(async {}), ctx.spawn(async {}));
    ///     assert_ne!(a.id(), b.id());
    /// });
    /// ```
    pub fn id(&self) -> TaskId {
        self.task().id()
    }

    /// The session the task is linked to; `None` if none was current at the spawn.
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     assert_eq!(ctx.spawn(async {}).session(), None);
    /// });
    /// ```
    pub fn session(&self) -> Option<SessionId> {
        self.link.as_ref().map(|(_, key)| key.session)
    }

    /// Whether the task has finished or was cancelled.
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test.clone());
    ///     let task = ctx.spawn(async {});
    ///     assert!(!task.is_finished());
    ///     test.run_until_parked();
    ///     assert!(task.is_finished());
    /// });
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task().is_finished()
    }

    /// Lets the task run to completion with nobody awaiting it. Its session still sees it
    /// running until it ends.
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test.clone());
    ///     let session = ctx.create_session();
    ///     ctx.with_session(session, || ctx.spawn(async {}).detach());
    ///     assert!(ctx.validate_session_cleanup(session).is_err()); // not run yet
    ///     test.run_until_parked();
    ///     assert_eq!(ctx.validate_session_cleanup(session), Ok(()));
    /// });
    /// ```
    pub fn detach(mut self) {
        self.link = None; // the task runs on: its own end is what the session records
        if let Some(task) = self.task.take() {
            task.detach();
        }
    }
}

impl<T> Future for SessionTask<T> {
    type Output = Result<T, TaskCancelled>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let task = this.task.as_mut().expect("a detached task is never polled");
        let by_session = match ready!(Pin::new(&mut *task).poll(cx)) {
            Some(Some(output)) => return Poll::Ready(Ok(output)),
            // The wrapper gives `None` only when the session stopped the task.
            Some(None) => this.link.as_ref().map(|(_, key)| key.session),
            None => None, // the scheduler dropped it
        };
        Poll::Ready(Err(TaskCancelled {
            id: task.id(),
            spawned_at: this.spawned_at,
            by_session,
        }))
    }
}

impl<T> Drop for SessionTask<T> {
    fn drop(&mut self) {
        // An unfinished task given up on will never be polled again: it has stopped, even
        // if its future is dropped only when the scheduler next takes its runnable.
        if let (Some(task), Some((registry, key))) = (&self.task, &self.link) {
            if !task.is_finished() {
                registry.handle_cancelled(*key);
            }
        }
    }
}

impl<T> fmt::Debug for SessionTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SessionTask");
        if let Some(task) = &self.task {
            d.field("id", &task.id());
        }
        d.field("session", &self.session())
            .field("spawned_at", &self.spawned_at)
            .finish_non_exhaustive()
    }
}
