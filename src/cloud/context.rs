//! `SimulatedExecutionContext`: the runtime traits and sessions over any `Arc<dyn Scheduler>`.

use ::core::fmt;
use ::core::future::Future;
use ::core::panic::Location;
use ::core::time::Duration;
use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::core::{ForegroundSafe, Scheduler, Task, TaskLabel};

use super::config::SessionConfig;
use super::current;
use super::error::{ContextError, LinkedTask, SessionError};
use super::linked::Linked;
use super::registry::{Kind, LinkKey, Registry, SessionId};
use super::runtime::{ExecutionContext, LocalBoxFuture, PlatformRuntime, WorkError};
use super::task::SessionTask;

/// An [`ExecutionContext`] and [`PlatformRuntime`] on any scheduler, whose sessions (one per
/// request) know their tasks and prove they leaked none.
///
/// Every task spawned through the context while a session is current is linked to it: the
/// context records its id, label and spawn site, and its end. A task that is still running
/// when [`validate_session_cleanup`](Self::validate_session_cleanup) is called fails the
/// check, unless it was handed to [`wait_until`](ExecutionContext::wait_until). Under the
/// `TestScheduler`, sessions interleave by seed and time is virtual; on a production
/// dispatcher the same checks hold, because the context tracks the ends itself.
///
/// Cloning is cheap and shares the sessions.
///
/// ```
/// use unified_scheduler::{ExecutionContext, SessionError, SimulatedExecutionContext, TestScheduler};
///
/// TestScheduler::once(|test| async move {
///     let ctx = SimulatedExecutionContext::new(test.clone());
///     let session = ctx.create_session();
///     ctx.with_session(session, || {
///         ctx.spawn(std::future::pending::<()>()).detach(); // forgotten: a leak
///         ctx.wait_until(Box::pin(async { Ok(()) })).unwrap(); // allowed to outlive
///     });
///     test.run_until_parked();
///     let Err(SessionError::Leaked { tasks, .. }) = ctx.validate_session_cleanup(session) else {
///         panic!("the pending task is a leak");
///     };
///     assert_eq!(tasks.len(), 1);
/// });
/// ```
#[derive(Clone)]
pub struct SimulatedExecutionContext {
    scheduler: Arc<dyn Scheduler>,
    pub(super) registry: Arc<Registry>,
    config: SessionConfig,
}

impl SimulatedExecutionContext {
    /// A context on `scheduler` with the default [`SessionConfig`].
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     assert_eq!(ctx.get_current_session(), None);
    /// });
    /// ```
    pub fn new(scheduler: Arc<dyn Scheduler>) -> Self {
        Self::with_config(scheduler, SessionConfig::new())
    }

    /// A context on `scheduler` with `config`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use unified_scheduler::{SessionConfig, SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let config = SessionConfig::new().wait_until_limit(Duration::from_secs(1));
    ///     let ctx = SimulatedExecutionContext::with_config(test, config);
    ///     assert_eq!(ctx.config().limit(), Duration::from_secs(1));
    /// });
    /// ```
    pub fn with_config(scheduler: Arc<dyn Scheduler>, config: SessionConfig) -> Self {
        Self {
            scheduler,
            registry: Arc::new(Registry::new(config.at_end())),
            config,
        }
    }

    /// The scheduler the context spawns on.
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     assert!(ctx.scheduler().downcast_ref::<TestScheduler>().is_some());
    /// });
    /// ```
    pub fn scheduler(&self) -> &Arc<dyn Scheduler> {
        &self.scheduler
    }

    /// The context's configuration.
    ///
    /// ```
    /// use unified_scheduler::{SessionConfig, SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     assert_eq!(*SimulatedExecutionContext::new(test).config(), SessionConfig::new());
    /// });
    /// ```
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// A new, open session: one request.
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let session = ctx.create_session();
    ///     assert_eq!(ctx.validate_session_cleanup(session), Ok(())); // nothing spawned yet
    /// });
    /// ```
    pub fn create_session(&self) -> SessionId {
        self.registry.create()
    }

    /// Runs `f` with `session` current, then restores the session that was current before,
    /// also when `f` panics. Calls nest.
    ///
    /// # Panics
    ///
    /// If `session` was not created by this context, or has ended.
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let (outer, inner) = (ctx.create_session(), ctx.create_session());
    ///     ctx.with_session(outer, || {
    ///         ctx.with_session(inner, || assert_eq!(ctx.get_current_session(), Some(inner)));
    ///         assert_eq!(ctx.get_current_session(), Some(outer));
    ///     });
    ///     assert_eq!(ctx.get_current_session(), None);
    /// });
    /// ```
    #[track_caller]
    pub fn with_session<R>(&self, session: SessionId, f: impl FnOnce() -> R) -> R {
        self.expect_open(session, "with_session");
        let _scope = current::enter(self.registry.key(), session);
        f()
    }

    /// `future`, run with `session` current at every poll: the async form of
    /// [`with_session`](Self::with_session), for a request handler.
    ///
    /// # Panics
    ///
    /// At the call, if `session` was not created by this context, or has ended.
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let session = ctx.create_session();
    ///     let seen = ctx.in_session(session, async { ctx.get_current_session() }).await;
    ///     assert_eq!(seen, Some(session));
    /// });
    /// ```
    #[track_caller]
    pub fn in_session<F: Future>(
        &self,
        session: SessionId,
        future: F,
    ) -> impl Future<Output = F::Output> {
        self.expect_open(session, "in_session");
        current::scoped(self.registry.key(), session, future)
    }

    /// Makes `session` (or none) current on this thread until the innermost `with_session`
    /// around the call returns (outside any, until it is set again); returns the session it
    /// replaces. Prefer `with_session`, which cannot forget to restore.
    ///
    /// # Panics
    ///
    /// If `session` was not created by this context, or has ended.
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let session = ctx.create_session();
    ///     assert_eq!(ctx.set_current_session(Some(session)), None);
    ///     assert_eq!(ctx.get_current_session(), Some(session));
    ///     assert_eq!(ctx.set_current_session(None), Some(session));
    /// });
    /// ```
    #[track_caller]
    pub fn set_current_session(&self, session: Option<SessionId>) -> Option<SessionId> {
        if let Some(session) = session {
            self.expect_open(session, "set_current_session");
        }
        current::set(self.registry.key(), session)
    }

    /// The session current on this thread (or in this task): the innermost `with_session`,
    /// `in_session` or linked task around the call, or what `set_current_session` set.
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test.clone());
    ///     let session = ctx.create_session();
    ///     // A task spawned in a session carries it: what it spawns is linked there too.
    ///     let task = ctx.with_session(session, || ctx.spawn_local({
    ///         let ctx = ctx.clone();
    ///         async move { ctx.get_current_session() }
    ///     }));
    ///     assert_eq!(task.await, Ok(Some(session)));
    /// });
    /// ```
    pub fn get_current_session(&self) -> Option<SessionId> {
        current::get(self.registry.key())
    }

    /// Ends `session`: the response has gone out. Its tasks that `wait_until` does not cover
    /// are cancelled, as the Workers runtime does (unless the config says
    /// [`AtSessionEnd::LetRun`](crate::AtSessionEnd::LetRun)); returns those it cancelled. Its `wait_until` work runs on:
    /// wait for it with [`wait_on_session`](Self::wait_on_session).
    ///
    /// # Errors
    ///
    /// [`SessionError::Unknown`] or [`SessionError::Ended`] for an id that is not an open
    /// session of this context.
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let session = ctx.create_session();
    ///     let task = ctx.with_session(session, || ctx.spawn(std::future::pending::<()>()));
    ///     let cancelled = ctx.end_session(session).unwrap();
    ///     assert_eq!(cancelled[0].id, task.id());
    ///     assert!(task.await.is_err());
    ///     assert!(ctx.end_session(session).is_err()); // only once
    /// });
    /// ```
    pub fn end_session(&self, session: SessionId) -> Result<Vec<LinkedTask>, SessionError> {
        self.registry.end(session, self.scheduler.now())
    }

    /// Checks that no task of the open `session` is still running, except its `wait_until`
    /// work. Finished and cancelled tasks do not count. Call it before the request ends.
    ///
    /// # Errors
    ///
    /// [`SessionError::Leaked`], listing every such task by id, label and spawn site; or
    /// [`SessionError::Unknown`] / [`SessionError::Ended`] for an id that is not an open
    /// session of this context.
    ///
    /// ```
    /// use unified_scheduler::{SessionError, SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let session = ctx.create_session();
    ///     let done = ctx.with_session(session, || ctx.spawn(async { 1 }));
    ///     let pending = ctx.with_session(session, || ctx.spawn(std::future::pending::<()>()));
    ///     assert_eq!(done.await, Ok(1));
    ///     let error = ctx.validate_session_cleanup(session).unwrap_err();
    ///     assert!(matches!(&error, SessionError::Leaked { tasks, .. } if tasks[0].id == pending.id()));
    ///     assert!(error.to_string().contains(file!()), "names the spawn site: {error}");
    ///     drop(pending); // cancelled: no longer counts
    ///     assert_eq!(ctx.validate_session_cleanup(session), Ok(()));
    /// });
    /// ```
    pub fn validate_session_cleanup(&self, session: SessionId) -> Result<(), SessionError> {
        let tasks = self.registry.leaked(session)?;
        if tasks.is_empty() {
            Ok(())
        } else {
            Err(SessionError::Leaked { session, tasks })
        }
    }

    /// Whether `pass_through` was called in `session` (the request fails open).
    ///
    /// # Errors
    ///
    /// [`SessionError::Unknown`] / [`SessionError::Ended`] for an id that is not a session of
    /// this context whose results are still held.
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let session = ctx.create_session();
    ///     assert_eq!(ctx.passes_through(session), Ok(false));
    /// });
    /// ```
    pub fn passes_through(&self, session: SessionId) -> Result<bool, SessionError> {
        self.registry.passes_through(session)
    }

    /// Spawns a `Send` future onto the scheduler's background threads, linked to the
    /// current session (if any).
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     assert_eq!(ctx.spawn(async { 2 }).await, Ok(2));
    /// });
    /// ```
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> SessionTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_background(None, future)
    }

    /// [`spawn`](Self::spawn) with a label (see [`TaskLabel`]).
    ///
    /// ```
    /// use unified_scheduler::{SessionError, SimulatedExecutionContext, TaskLabel, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let session = ctx.create_session();
    ///     let label = TaskLabel::new();
    ///     let _task = ctx.with_session(session, || {
    ///         ctx.spawn_labeled(label, std::future::pending::<()>())
    ///     });
    ///     let Err(SessionError::Leaked { tasks, .. }) = ctx.validate_session_cleanup(session) else {
    ///         panic!("still running");
    ///     };
    ///     assert_eq!(tasks[0].label, Some(label));
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_labeled<F>(&self, label: TaskLabel, future: F) -> SessionTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_background(Some(label), future)
    }

    /// Spawns a future that need not be `Send` onto the main thread, linked to the current
    /// session (if any): the way a single-threaded Workers isolate runs everything.
    ///
    /// # Panics
    ///
    /// As [`Scheduler::spawn_foreground`](crate::Scheduler): off the scheduler's main thread.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     let not_send = Rc::new(3);
    ///     assert_eq!(ctx.spawn_local(async move { *not_send }).await, Ok(3));
    /// });
    /// ```
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> SessionTask<F::Output>
    where
        F: Future + ForegroundSafe + 'static,
        F::Output: ForegroundSafe + 'static,
    {
        let spawned_at = Location::caller();
        let Some(key) = self.link(Kind::Spawned, None) else {
            let task = self
                .scheduler
                .spawn_foreground(async move { Some(future.await) });
            return SessionTask::new(task.fallible(), None, spawned_at);
        };
        let linked = Linked::new(future, self.registry.clone(), key, |_| None);
        let task = self.scheduler.spawn_foreground(linked);
        self.registry.spawned(key, task.id());
        SessionTask::new(
            task.fallible(),
            Some((self.registry.clone(), key)),
            spawned_at,
        )
    }

    #[track_caller]
    fn spawn_background<F>(&self, label: Option<TaskLabel>, future: F) -> SessionTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let spawned_at = Location::caller();
        let Some(key) = self.link(Kind::Spawned, label) else {
            let task = self.spawn_on(label, async move { Some(future.await) });
            return SessionTask::new(task.fallible(), None, spawned_at);
        };
        let linked = Linked::new(future, self.registry.clone(), key, |_| None);
        let task = self.spawn_on(label, linked);
        self.registry.spawned(key, task.id());
        SessionTask::new(
            task.fallible(),
            Some((self.registry.clone(), key)),
            spawned_at,
        )
    }

    #[track_caller]
    fn spawn_on<G>(&self, label: Option<TaskLabel>, future: G) -> Task<G::Output>
    where
        G: Future + Send + 'static,
        G::Output: Send + 'static,
    {
        match label {
            Some(label) => self.scheduler.spawn_labeled(label, future),
            None => self.scheduler.spawn(future),
        }
    }

    /// Links a task about to be spawned to the current session, if there is one whose
    /// results are still held (a task left running after `wait_on_session` forgot its
    /// session spawns unlinked).
    #[track_caller]
    fn link(&self, kind: Kind, label: Option<TaskLabel>) -> Option<LinkKey> {
        let session = self.get_current_session()?;
        self.registry
            .link(session, kind, label, Location::caller())
            .ok()
    }

    /// Makes `session` current until the guard drops (for a request's own calls).
    pub(crate) fn enter(&self, session: SessionId) -> current::Entered {
        current::enter(self.registry.key(), session)
    }

    /// Marks `session` as failing open.
    #[cfg_attr(not(us_cloudflare), allow(dead_code))] // the Workers context's
    pub(crate) fn mark_pass_through(&self, session: SessionId) -> Result<(), SessionError> {
        self.registry.pass_through(session)
    }

    #[track_caller]
    pub(super) fn expect_open(&self, session: SessionId, call: &str) {
        if let Err(error) = self.registry.check_open(session) {
            panic!("{call}({session}) at {}: {error}", Location::caller());
        }
    }
}

/// The task of a piece of `wait_until` work: `None` if its session cancelled it, else the
/// work's outcome with its error as text.
pub(crate) type WaitUntilTask = Task<Option<Result<(), String>>>;

impl SimulatedExecutionContext {
    /// Spawns `work` as a foreground task (it need not be `Send`) linked to the current
    /// session as `wait_until` work; its error is recorded for `wait_on_session`.
    pub(crate) fn spawn_wait_until(
        &self,
        work: LocalBoxFuture<'static, Result<(), WorkError>>,
        at: &'static Location<'static>,
    ) -> Result<WaitUntilTask, ContextError> {
        let session = self.get_current_session().ok_or(ContextError::NoSession {
            call: "wait_until",
            at,
        })?;
        if !self.scheduler.is_main_thread() {
            return Err(ContextError::OffMainThread { at });
        }
        let key = self
            .registry
            .link(session, Kind::WaitUntil, None, at)
            .map_err(ContextError::Session)?;
        let work = async move { work.await.map_err(|error| error.to_string()) };
        let failure_of: fn(&Result<(), String>) -> Option<String> = |r| r.clone().err();
        let linked = Linked::new(work, self.registry.clone(), key, failure_of);
        let task = self.scheduler.spawn_foreground(linked);
        self.registry.spawned(key, task.id());
        Ok(task)
    }
}

impl ExecutionContext for SimulatedExecutionContext {
    /// Spawns `work` as a foreground task (it need not be `Send`) linked to the current
    /// session and allowed to outlive it. Its error is reported by `wait_on_session`.
    #[track_caller]
    fn wait_until(
        &self,
        work: LocalBoxFuture<'static, Result<(), WorkError>>,
    ) -> Result<(), ContextError> {
        self.spawn_wait_until(work, Location::caller())?.detach();
        Ok(())
    }

    /// Marks the current session as failing open, then takes the simulated latency of a
    /// runtime call ([`SessionConfig::runtime_latency`]) on the scheduler's timer.
    #[track_caller]
    fn pass_through(&self) -> LocalBoxFuture<'_, Result<(), ContextError>> {
        let at = Location::caller();
        // Read at the first poll: the future may be made outside the session it runs in.
        Box::pin(async move {
            let session = self.get_current_session().ok_or(ContextError::NoSession {
                call: "pass_through",
                at,
            })?;
            self.registry.pass_through(session)?;
            self.scheduler.timer(self.config.latency()).await;
            Ok(())
        })
    }
}

impl PlatformRuntime for SimulatedExecutionContext {
    /// The scheduler's timer: virtual under the `TestScheduler`.
    fn delay(&self, duration: Duration) -> LocalBoxFuture<'_, ()> {
        Box::pin(self.scheduler.timer(duration))
    }
}

impl fmt::Debug for SimulatedExecutionContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatedExecutionContext")
            .field("config", &self.config)
            .field("sessions", &self.registry)
            .finish()
    }
}
