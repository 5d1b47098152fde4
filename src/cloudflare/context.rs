//! `CloudflareExecutionContext`: one request on Workers, as a session.

use ::core::fmt;
use ::core::future::Future;
use ::core::panic::Location;
use ::core::time::Duration;
use alloc::boxed::Box;
use alloc::sync::Arc;

use crate::cloud::{
    ContextError, ExecutionContext, LocalBoxFuture, PlatformRuntime, RequestContext, SessionError,
    SessionId, SessionTask, SimulatedExecutionContext, WorkError,
};
use crate::core::{ForegroundSafe, Scheduler};

use super::js;
use super::scheduler::WorkersScheduler;

/// One request on Cloudflare Workers, over its `worker::Context`, as a session: the same
/// [`RequestContext`] a handler gets in the simulation ([`SimulatedRequest`]), so one
/// handler body runs in both.
///
/// `wait_until` hands the work to `ctx.wait_until` (the runtime keeps the request alive for
/// it) and runs it on the scheduler, linked to the request; `pass_through` is
/// `ctx.pass_through_on_exception`; `delay` is the scheduler's timer. Tasks spawned through
/// it are linked to the request, so the handler can call
/// [`validate_session_cleanup`](RequestContext::validate_session_cleanup) before it returns
/// its response, in production too. Dropping it ends the request's session: what
/// `wait_until` does not cover is cancelled, as the runtime would once the response is out.
/// A `wait_until` work that fails is logged with `console.error`.
///
/// [`SimulatedRequest`]: crate::SimulatedRequest
///
/// ```no_run
/// use unified_scheduler::{CloudflareExecutionContext, ExecutionContext, RequestContext};
///
/// async fn fetch(ctx: worker::Context) -> String {
///     let request = CloudflareExecutionContext::new(ctx);
///     request.wait_until(Box::pin(async { Ok(()) })).unwrap(); // may outlive the response
///     request.validate_session_cleanup().expect("nothing else outlives the request");
///     "hello".into()
/// }
/// ```
pub struct CloudflareExecutionContext {
    sessions: SimulatedExecutionContext,
    session: SessionId,
    ctx: worker::Context,
}

impl CloudflareExecutionContext {
    /// The request of `ctx`, on the isolate's scheduler ([`WorkersScheduler::shared`]).
    ///
    /// ```no_run
    /// use unified_scheduler::{CloudflareExecutionContext, RequestContext};
    ///
    /// fn on_fetch(ctx: worker::Context) {
    ///     let request = CloudflareExecutionContext::new(ctx);
    ///     assert_eq!(request.session().as_u64(), 1); // one session per request
    /// }
    /// ```
    pub fn new(ctx: worker::Context) -> Self {
        Self::with_scheduler(WorkersScheduler::shared(), ctx)
    }

    /// The request of `ctx`, on `scheduler`.
    ///
    /// ```no_run
    /// use unified_scheduler::{CloudflareExecutionContext, WorkersScheduler};
    ///
    /// fn on_fetch(ctx: worker::Context) {
    ///     let request = CloudflareExecutionContext::with_scheduler(WorkersScheduler::shared(), ctx);
    ///     # let _ = request;
    /// }
    /// ```
    pub fn with_scheduler(scheduler: Arc<dyn Scheduler>, ctx: worker::Context) -> Self {
        let sessions = SimulatedExecutionContext::new(scheduler);
        let session = sessions.create_session();
        Self {
            sessions,
            session,
            ctx,
        }
    }

    /// The scheduler the request's tasks run on.
    ///
    /// ```no_run
    /// use unified_scheduler::CloudflareExecutionContext;
    ///
    /// fn on_fetch(ctx: worker::Context) {
    ///     let request = CloudflareExecutionContext::new(ctx);
    ///     assert!(request.scheduler().is_main_thread());
    /// }
    /// ```
    pub fn scheduler(&self) -> &Arc<dyn Scheduler> {
        self.sessions.scheduler()
    }

    fn in_request<R>(&self, f: impl FnOnce() -> R) -> R {
        self.sessions.with_session(self.session, f)
    }
}

impl ExecutionContext for CloudflareExecutionContext {
    #[track_caller]
    fn wait_until(
        &self,
        work: LocalBoxFuture<'static, Result<(), WorkError>>,
    ) -> Result<(), ContextError> {
        let at = Location::caller();
        let task = self.in_request(|| self.sessions.spawn_wait_until(work, at))?;
        self.ctx.wait_until(async move {
            if let Some(Some(Err(message))) = task.fallible().await {
                js::console_error(&alloc::format!(
                    "wait_until work handed over at {at} failed: {message}"
                ));
            }
        });
        Ok(())
    }

    fn pass_through(&self) -> LocalBoxFuture<'_, Result<(), ContextError>> {
        self.ctx.pass_through_on_exception();
        let marked = self.sessions.mark_pass_through(self.session);
        Box::pin(async move { marked.map_err(ContextError::Session) })
    }
}

impl PlatformRuntime for CloudflareExecutionContext {
    fn delay(&self, duration: Duration) -> LocalBoxFuture<'_, ()> {
        Box::pin(self.scheduler().timer(duration))
    }
}

impl RequestContext for CloudflareExecutionContext {
    fn session(&self) -> SessionId {
        self.session
    }

    #[track_caller]
    fn spawn_local<F>(&self, future: F) -> SessionTask<F::Output>
    where
        F: Future + ForegroundSafe + 'static,
        F::Output: ForegroundSafe + 'static,
    {
        let _scope = self.sessions.enter(self.session);
        self.sessions.spawn_local(future)
    }

    fn validate_session_cleanup(&self) -> Result<(), SessionError> {
        self.sessions.validate_session_cleanup(self.session)
    }
}

impl Drop for CloudflareExecutionContext {
    fn drop(&mut self) {
        // The response is going out: the runtime cancels what `wait_until` does not cover.
        let _ = self.sessions.end_session(self.session);
    }
}

impl fmt::Debug for CloudflareExecutionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudflareExecutionContext")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}
