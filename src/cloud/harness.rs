//! `simulate_requests`: many requests, each in its own session, interleaved, all checked.

use ::core::future::Future;
use alloc::vec::Vec;

use super::context::SimulatedExecutionContext;
use super::error::SessionError;
use super::registry::SessionId;
use super::request::SimulatedRequest;

impl SimulatedExecutionContext {
    /// Serves `requests` simulated requests at once, each in its own session: `handler(i,
    /// request)` makes request `i`'s future from its [`SimulatedRequest`], and the future
    /// runs (as a foreground task, so it need not be `Send`) with its session current. The requests interleave as the scheduler
    /// decides: by seed under the `TestScheduler`. Each request, once its handler returns,
    /// goes through what a Workers request goes through: its cleanup is validated (its
    /// response is out: nothing but `wait_until` work may still run), its session ends, and
    /// its `wait_until` work is awaited up to the limit.
    ///
    /// Returns the responses in request order, or every session's errors together.
    ///
    /// # Errors
    ///
    /// The [`SessionError`]s of all the requests (a single one as itself, more as
    /// [`SessionError::Several`]): leaked tasks, failed or abandoned `wait_until` work.
    ///
    /// # Panics
    ///
    /// If a handler panics (the panic reaches the caller), or when called off the scheduler's
    /// main thread.
    ///
    /// ```
    /// use unified_scheduler::{ExecutionContext, SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::many(20, |test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let responses = ctx.simulate_requests(3, |i, request| async move {
    ///         // Analytics may finish after the response: hand it to `wait_until`.
    ///         request.wait_until(Box::pin(async { Ok(()) })).unwrap();
    ///         format!("response {i}")
    ///     });
    ///     assert_eq!(responses.await.unwrap(), ["response 0", "response 1", "response 2"]);
    /// });
    /// ```
    #[track_caller]
    pub fn simulate_requests<H, F>(
        &self,
        requests: usize,
        mut handler: H,
    ) -> impl Future<Output = Result<Vec<F::Output>, SessionError>> + 'static
    where
        H: FnMut(usize, SimulatedRequest) -> F,
        F: Future + 'static,
        F::Output: 'static,
    {
        let served: Vec<_> = (0..requests)
            .map(|i| {
                let session = self.create_session();
                let request = self.request(session);
                let request = self.with_session(session, || handler(i, request));
                let ctx = self.clone();
                self.scheduler().spawn_foreground(async move {
                    let response = ctx.in_session(session, request).await;
                    (response, ctx.finish_request(session).await)
                })
            })
            .collect();
        async move {
            let mut responses = Vec::with_capacity(served.len());
            let mut errors = Vec::new();
            for request in served {
                let (response, checked) = request.await;
                responses.push(response);
                errors.extend(checked.err());
            }
            SessionError::aggregate(errors).map(|()| responses)
        }
    }

    /// What happens to a request once its response is out: cleanup check, end, `wait_until`.
    async fn finish_request(&self, session: SessionId) -> Result<(), SessionError> {
        let leaked = self.validate_session_cleanup(session);
        self.end_session(session)?;
        let waited = self.wait_on_session(session).await;
        SessionError::aggregate(leaked.err().into_iter().chain(waited.err()).collect())
    }
}
