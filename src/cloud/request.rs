//! One request's view of its context: `RequestContext`, and the simulation's `SimulatedRequest`.

use ::core::future::Future;
use ::core::time::Duration;
use alloc::boxed::Box;

use crate::core::ForegroundSafe;

use super::context::SimulatedExecutionContext;
use super::current;
use super::error::{ContextError, SessionError};
use super::registry::SessionId;
use super::runtime::{ExecutionContext, LocalBoxFuture, PlatformRuntime, WorkError};
use super::task::SessionTask;

/// What a request handler needs of its context, the same in the simulation
/// ([`SimulatedRequest`]) and in production (`CloudflareExecutionContext`, feature
/// `cloudflare`): the runtime calls, spawning linked to the request's session, and the
/// session's check. Write a handler generic over it and one body is proven in both worlds.
///
/// ```
/// use std::time::Duration;
/// use unified_scheduler::{RequestContext, SimulatedExecutionContext, TestScheduler};
///
/// /// The handler under test: runs on Workers as it runs here.
/// async fn handle(request: &impl RequestContext) -> &'static str {
///     let lookup = request.spawn_local(async { "cached" });
///     request.delay(Duration::from_millis(5)).await;
///     lookup.await.unwrap()
/// }
///
/// TestScheduler::many(10, |test| async move {
///     let ctx = SimulatedExecutionContext::new(test);
///     let request = ctx.request(ctx.create_session());
///     assert_eq!(handle(&request).await, "cached");
///     assert_eq!(request.validate_session_cleanup(), Ok(()));
/// });
/// ```
pub trait RequestContext: ExecutionContext + PlatformRuntime {
    /// The request's session.
    ///
    /// ```
    /// use unified_scheduler::{RequestContext, SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let session = ctx.create_session();
    ///     assert_eq!(ctx.request(session).session(), session);
    /// });
    /// ```
    fn session(&self) -> SessionId;

    /// Spawns `future` (which need not be `Send`) on the main thread, linked to the
    /// request's session.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use unified_scheduler::{RequestContext, SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let request = ctx.request(ctx.create_session());
    ///     let not_send = Rc::new(2);
    ///     let task = request.spawn_local(async move { *not_send * 21 });
    ///     assert_eq!(task.session(), Some(request.session()));
    ///     assert_eq!(task.await, Ok(42));
    /// });
    /// ```
    #[track_caller]
    fn spawn_local<F>(&self, future: F) -> SessionTask<F::Output>
    where
        F: Future + ForegroundSafe + 'static,
        F::Output: ForegroundSafe + 'static;

    /// Checks that nothing of the request is still running but its `wait_until` work:
    /// call it before the handler returns its response.
    ///
    /// # Errors
    ///
    /// [`SessionError::Leaked`], naming each such task; or the session's own error if it
    /// has ended.
    ///
    /// ```
    /// use unified_scheduler::{RequestContext, SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let request = ctx.request(ctx.create_session());
    ///     let forgotten = request.spawn_local(std::future::pending::<()>());
    ///     assert!(request.validate_session_cleanup().is_err());
    ///     drop(forgotten);
    ///     assert_eq!(request.validate_session_cleanup(), Ok(()));
    /// });
    /// ```
    fn validate_session_cleanup(&self) -> Result<(), SessionError>;
}

/// One session of a [`SimulatedExecutionContext`] as a [`RequestContext`]: every call runs
/// with the session current. From [`SimulatedExecutionContext::request`]; cheap to clone.
///
/// ```
/// use unified_scheduler::{ExecutionContext, RequestContext, SimulatedExecutionContext, TestScheduler};
///
/// TestScheduler::once(|test| async move {
///     let ctx = SimulatedExecutionContext::new(test);
///     let request = ctx.request(ctx.create_session());
///     request.wait_until(Box::pin(async { Ok(()) })).unwrap(); // no `with_session` needed
///     assert_eq!(request.validate_session_cleanup(), Ok(()));
/// });
/// ```
#[derive(Clone, Debug)]
pub struct SimulatedRequest {
    ctx: SimulatedExecutionContext,
    session: SessionId,
}

impl SimulatedExecutionContext {
    /// `session` as a [`RequestContext`], for handler code written against that trait.
    ///
    /// # Panics
    ///
    /// If `session` was not created by this context, or has ended.
    ///
    /// ```
    /// use unified_scheduler::{RequestContext, SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let session = ctx.create_session();
    ///     assert_eq!(ctx.request(session).session(), session);
    /// });
    /// ```
    #[track_caller]
    pub fn request(&self, session: SessionId) -> SimulatedRequest {
        self.expect_open(session, "request");
        SimulatedRequest {
            ctx: self.clone(),
            session,
        }
    }
}

impl SimulatedRequest {
    /// The context the request belongs to.
    ///
    /// ```
    /// use unified_scheduler::{RequestContext, SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let request = ctx.request(ctx.create_session());
    ///     assert_eq!(request.context().validate_session_cleanup(request.session()), Ok(()));
    /// });
    /// ```
    pub fn context(&self) -> &SimulatedExecutionContext {
        &self.ctx
    }

    fn enter(&self) -> current::Entered {
        self.ctx.enter(self.session)
    }
}

impl ExecutionContext for SimulatedRequest {
    #[track_caller]
    fn wait_until(
        &self,
        work: LocalBoxFuture<'static, Result<(), WorkError>>,
    ) -> Result<(), ContextError> {
        let _scope = self.enter();
        self.ctx.wait_until(work)
    }

    #[track_caller]
    fn pass_through(&self) -> LocalBoxFuture<'_, Result<(), ContextError>> {
        let key = self.ctx.registry.key();
        Box::pin(current::scoped(key, self.session, self.ctx.pass_through()))
    }
}

impl PlatformRuntime for SimulatedRequest {
    fn delay(&self, duration: Duration) -> LocalBoxFuture<'_, ()> {
        self.ctx.delay(duration)
    }
}

impl RequestContext for SimulatedRequest {
    fn session(&self) -> SessionId {
        self.session
    }

    #[track_caller]
    fn spawn_local<F>(&self, future: F) -> SessionTask<F::Output>
    where
        F: Future + ForegroundSafe + 'static,
        F::Output: ForegroundSafe + 'static,
    {
        let _scope = self.enter();
        self.ctx.spawn_local(future)
    }

    fn validate_session_cleanup(&self) -> Result<(), SessionError> {
        self.ctx.validate_session_cleanup(self.session)
    }
}
