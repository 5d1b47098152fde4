//! `wait_on_session`: the session's `wait_until` work, awaited up to the limit.

use ::core::future::{Future, poll_fn};
use ::core::pin::Pin;
use ::core::task::Poll;

use super::context::SimulatedExecutionContext;
use super::error::SessionError;
use super::registry::SessionId;

impl SimulatedExecutionContext {
    /// Waits until none of `session`'s `wait_until` work is running (work that the work
    /// hands to `wait_until` in turn is waited for too), as the Workers test harness's
    /// `waitOnExecutionContext` does. Work still running once the limit
    /// ([`SessionConfig::wait_until_limit`](crate::SessionConfig::wait_until_limit), 30 s by
    /// default, on the scheduler's clock) has passed since the session ended (or since this
    /// call, if it has not) is abandoned: cancelled, as production cancels it, and reported.
    /// Waiting on an ended session hands over its results: its id is then spent.
    ///
    /// # Errors
    ///
    /// [`SessionError::WorkFailed`] for a piece of work that ended with an error,
    /// [`SessionError::WorkAbandoned`] naming the work the limit cut off (a future that can
    /// never finish is reported there, not waited on forever), [`SessionError::Several`] for
    /// more than one of these; [`SessionError::Unknown`] / [`SessionError::Ended`] for an id
    /// that is not a session of this context whose results are still held.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::{ExecutionContext, SessionError, SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let session = ctx.create_session();
    ///     ctx.with_session(session, || {
    ///         ctx.wait_until(Box::pin(async { Err("the upstream answered 503".into()) })).unwrap();
    ///         ctx.wait_until(Box::pin(std::future::pending())).unwrap(); // hung
    ///     });
    ///     ctx.end_session(session).unwrap();
    ///     let Err(SessionError::Several(errors)) = ctx.wait_on_session(session).await else {
    ///         panic!("one failed, one hung");
    ///     };
    ///     assert!(matches!(&errors[0], SessionError::WorkFailed { message, .. } if message.contains("503")));
    ///     assert!(matches!(&errors[1], SessionError::WorkAbandoned { limit, .. } if *limit == Duration::from_secs(30)));
    /// });
    /// ```
    pub async fn wait_on_session(&self, session: SessionId) -> Result<(), SessionError> {
        let now = self.scheduler().now();
        let since = self.registry.ended_at(session)?.unwrap_or(now);
        let limit = self.config().limit();
        let left = since.saturating_add(limit).saturating_duration_since(now);
        let mut deadline = self.scheduler().timer(left);
        let settled = poll_fn(|cx| match self.registry.work_settled(session, cx.waker()) {
            Ok(true) => Poll::Ready(Ok(true)),
            Err(error) => Poll::Ready(Err(error)),
            Ok(false) => Pin::new(&mut deadline).poll(cx).map(|()| Ok(false)),
        })
        .await?;
        self.registry.collect(session, (!settled).then_some(limit))
    }
}
