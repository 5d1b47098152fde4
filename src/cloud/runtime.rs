//! The runtime's side of a request: `ExecutionContext` and `PlatformRuntime`.

use ::core::future::Future;
use ::core::pin::Pin;
use ::core::time::Duration;
use alloc::boxed::Box;

use super::error::ContextError;

/// A boxed future that need not be `Send`: what the runtime traits take and return, so they
/// stay object-safe without `async-trait`.
///
/// ```
/// use unified_scheduler::LocalBoxFuture;
///
/// let not_send = std::rc::Rc::new(1);
/// let future: LocalBoxFuture<'static, i32> = Box::pin(async move { *not_send });
/// assert_eq!(futures_lite::future::block_on(future), 1);
/// ```
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The error a piece of `wait_until` work may end with; it is reported, as text, by
/// [`wait_on_session`](crate::SimulatedExecutionContext::wait_on_session).
///
/// ```
/// use unified_scheduler::WorkError;
///
/// let error: WorkError = "the upstream answered 503".into();
/// assert_eq!(error.to_string(), "the upstream answered 503");
/// ```
pub type WorkError = Box<dyn ::core::error::Error + 'static>;

/// What a request handler may ask of its runtime, after Cloudflare's `ExecutionContext`.
///
/// Object-safe; the futures need not be `Send`.
///
/// ```
/// use unified_scheduler::{ExecutionContext, SimulatedExecutionContext, TestScheduler};
///
/// /// A handler written against the trait runs on the simulation and on Workers alike.
/// fn handle(ctx: &dyn ExecutionContext) {
///     ctx.wait_until(Box::pin(async { Ok(()) })).expect("inside a session");
/// }
///
/// TestScheduler::once(|test| async move {
///     let ctx = SimulatedExecutionContext::new(test);
///     let session = ctx.create_session();
///     ctx.with_session(session, || handle(&ctx));
///     assert_eq!(ctx.wait_on_session(session).await, Ok(()));
/// });
/// ```
pub trait ExecutionContext {
    /// Hands `work` to the runtime, which keeps it running after the response is sent
    /// (Cloudflare's `ctx.waitUntil`). It is the one kind of work allowed to outlive its
    /// request; its error, if any, is reported, not returned to the request.
    ///
    /// # Errors
    ///
    /// [`ContextError`] when the work cannot be handed over: for instance no request
    /// (session) is current, or the runtime cannot run the future where it is called.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{ContextError, ExecutionContext, SimulatedExecutionContext, TestScheduler};
    ///
    /// let ctx = SimulatedExecutionContext::new(Arc::new(TestScheduler::new()));
    /// let outside = ctx.wait_until(Box::pin(async { Ok(()) }));
    /// assert!(matches!(outside, Err(ContextError::NoSession { .. })));
    /// ```
    #[track_caller]
    fn wait_until(
        &self,
        work: LocalBoxFuture<'static, Result<(), WorkError>>,
    ) -> Result<(), ContextError>;

    /// Fails open: if the handler fails from here on, the runtime forwards the request to
    /// the origin instead of answering with an error (Cloudflare's
    /// `ctx.passThroughOnException`).
    ///
    /// # Errors
    ///
    /// [`ContextError::NoSession`] when no request (session) is current.
    ///
    /// ```
    /// use unified_scheduler::{ExecutionContext, SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let session = ctx.create_session();
    ///     assert_eq!(ctx.passes_through(session), Ok(false));
    ///     ctx.in_session(session, ctx.pass_through()).await.unwrap();
    ///     assert_eq!(ctx.passes_through(session), Ok(true));
    /// });
    /// ```
    fn pass_through(&self) -> LocalBoxFuture<'_, Result<(), ContextError>>;
}

/// The runtime's clock, as a handler sees it: `delay` is a sleep on the runtime's timer
/// (virtual under the `TestScheduler`).
///
/// ```
/// use std::time::Duration;
/// use unified_scheduler::{PlatformRuntime, Scheduler, SimulatedExecutionContext, TestScheduler};
///
/// TestScheduler::once(|test| async move {
///     let ctx = SimulatedExecutionContext::new(test.clone());
///     let start = test.now();
///     ctx.delay(Duration::from_secs(30)).await; // virtual: no real time passes
///     assert_eq!(test.now() - start, Duration::from_secs(30));
/// });
/// ```
pub trait PlatformRuntime {
    /// A future that finishes once `duration` has passed on the runtime's clock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{PlatformRuntime, QueueScheduler, Scheduler, SimulatedExecutionContext};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let ctx = SimulatedExecutionContext::new(scheduler.clone());
    /// let start = scheduler.now();
    /// scheduler.block(ctx.delay(Duration::from_millis(1))); // a real millisecond here
    /// assert!(scheduler.now() - start >= Duration::from_millis(1));
    /// ```
    fn delay(&self, duration: Duration) -> LocalBoxFuture<'_, ()>;
}
