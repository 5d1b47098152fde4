//! How a context behaves: `SessionConfig` and `AtSessionEnd`.

use ::core::time::Duration;

/// What `end_session` does with a session's tasks that `wait_until` does not cover.
///
/// ```
/// use unified_scheduler::{AtSessionEnd, SessionConfig};
///
/// let config = SessionConfig::new().at_session_end(AtSessionEnd::LetRun);
/// assert_eq!(config.at_end(), AtSessionEnd::LetRun);
/// assert_eq!(SessionConfig::new().at_end(), AtSessionEnd::CancelUncovered);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AtSessionEnd {
    /// Cancel them, as the Workers runtime does once the response is sent (and cancel what
    /// is left once the last `wait_until` work ends). The default.
    CancelUncovered,
    /// Let them run on (still linked to the session, so they can be inspected).
    LetRun,
}

/// How a [`SimulatedExecutionContext`](crate::SimulatedExecutionContext) behaves: limits and simulated latencies.
///
/// ```
/// use std::time::Duration;
/// use unified_scheduler::SessionConfig;
///
/// let config = SessionConfig::new().wait_until_limit(Duration::from_secs(5));
/// assert_eq!(config.limit(), Duration::from_secs(5));
/// assert_eq!(SessionConfig::new().limit(), Duration::from_secs(30)); // as on Workers
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    wait_until_limit: Duration,
    runtime_latency: Duration,
    at_end: AtSessionEnd,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionConfig {
    /// The defaults: a 30 s `wait_until` limit (Workers' own), 10 ms of simulated latency per
    /// runtime call, and uncovered tasks cancelled at a session's end.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::SessionConfig;
    ///
    /// assert_eq!(SessionConfig::new().latency(), Duration::from_millis(10));
    /// ```
    pub const fn new() -> Self {
        Self {
            wait_until_limit: Duration::from_secs(30),
            runtime_latency: Duration::from_millis(10),
            at_end: AtSessionEnd::CancelUncovered,
        }
    }

    /// How long `wait_on_session` waits for a session's `wait_until` work, from the
    /// session's end (or from the call, if it has not ended), before it abandons what is
    /// still running and reports it. On the scheduler's clock: virtual on the `TestScheduler`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::SessionConfig;
    ///
    /// let config = SessionConfig::new().wait_until_limit(Duration::from_millis(100));
    /// assert_eq!(config.limit(), Duration::from_millis(100));
    /// ```
    pub const fn wait_until_limit(mut self, limit: Duration) -> Self {
        self.wait_until_limit = limit;
        self
    }

    /// The simulated time a runtime call (`pass_through`) takes, on the scheduler's timer.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::SessionConfig;
    ///
    /// assert_eq!(SessionConfig::new().runtime_latency(Duration::ZERO).latency(), Duration::ZERO);
    /// ```
    pub const fn runtime_latency(mut self, latency: Duration) -> Self {
        self.runtime_latency = latency;
        self
    }

    /// What `end_session` does with the tasks `wait_until` does not cover.
    ///
    /// ```
    /// use unified_scheduler::{AtSessionEnd, SessionConfig};
    ///
    /// let config = SessionConfig::new().at_session_end(AtSessionEnd::LetRun);
    /// assert_eq!(config.at_end(), AtSessionEnd::LetRun);
    /// ```
    pub const fn at_session_end(mut self, at_end: AtSessionEnd) -> Self {
        self.at_end = at_end;
        self
    }

    /// The `wait_until` limit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::SessionConfig;
    ///
    /// assert_eq!(SessionConfig::new().limit(), Duration::from_secs(30));
    /// ```
    pub const fn limit(&self) -> Duration {
        self.wait_until_limit
    }

    /// The simulated latency of a runtime call.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::SessionConfig;
    ///
    /// assert_eq!(SessionConfig::new().latency(), Duration::from_millis(10));
    /// ```
    pub const fn latency(&self) -> Duration {
        self.runtime_latency
    }

    /// What happens to uncovered tasks at a session's end.
    ///
    /// ```
    /// use unified_scheduler::{AtSessionEnd, SessionConfig};
    ///
    /// assert_eq!(SessionConfig::new().at_end(), AtSessionEnd::CancelUncovered);
    /// ```
    pub const fn at_end(&self) -> AtSessionEnd {
        self.at_end
    }
}
