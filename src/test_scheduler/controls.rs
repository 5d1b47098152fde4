//! The test controls on every scheduler: `advance_clock`, `run_until_parked`, ... on
//! `dyn Scheduler` (and so on the executors, which dereference to it). Each reaches the
//! `TestScheduler` by downcast and does nothing on any other scheduler, so the same app
//! code runs in production and under test. Here too: the executors over a `TestScheduler`.

use ::core::time::Duration;
#[cfg(feature = "std")]
use alloc::sync::Arc;

use super::{RandomDelay, TestScheduler};
use crate::core::{Scheduler, TaskId, TaskLabel};
#[cfg(feature = "std")]
use crate::executor::{BackgroundExecutor, ForegroundExecutor};

impl dyn Scheduler {
    fn as_test(&self) -> Option<&TestScheduler> {
        self.downcast_ref::<TestScheduler>()
    }

    /// Under a `TestScheduler`: makes tasks with `label` run only when nothing else can.
    /// Elsewhere: nothing.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use unified_scheduler::{QueueScheduler, Scheduler, TaskLabel, TestScheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(TestScheduler::new());
    /// let order = Arc::new(Mutex::new(Vec::new()));
    /// let slow = TaskLabel::new();
    /// scheduler.deprioritize(slow);
    /// let o = order.clone();
    /// scheduler.spawn_labeled(slow, async move { o.lock().unwrap().push("slow") }).detach();
    /// let o = order.clone();
    /// scheduler.spawn(async move { o.lock().unwrap().push("fast") }).detach();
    /// scheduler.run_until_parked();
    /// assert_eq!(*order.lock().unwrap(), ["fast", "slow"]);
    ///
    /// let production: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// production.deprioritize(TaskLabel::new()); // a no-op in production
    /// ```
    pub fn deprioritize(&self, label: TaskLabel) {
        if let Some(test) = self.as_test() {
            test.deprioritize(label);
        }
    }

    /// Under a `TestScheduler`: runs one runnable; whether one ran. Elsewhere: nothing runs,
    /// so `false`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler, TestScheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(TestScheduler::new());
    /// scheduler.spawn(async {}).detach();
    /// assert!(scheduler.tick());
    /// assert!(!scheduler.tick());
    /// let production: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// production.spawn(async {}).detach();
    /// assert!(!production.tick());
    /// ```
    pub fn tick(&self) -> bool {
        self.as_test().is_some_and(TestScheduler::tick)
    }

    /// Under a `TestScheduler`: runs until nothing can run without moving the clock.
    /// Elsewhere: nothing.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(TestScheduler::new());
    /// let task = scheduler.spawn(async { 1 });
    /// scheduler.run_until_parked();
    /// assert!(task.is_finished());
    /// ```
    pub fn run_until_parked(&self) {
        if let Some(test) = self.as_test() {
            test.run_until_parked();
        }
    }

    /// Under a `TestScheduler`: moves virtual time forward by `duration`, firing timers on
    /// the way. Elsewhere: nothing.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{Scheduler, TestScheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(TestScheduler::new());
    /// let timer = scheduler.timer(Duration::from_secs(60));
    /// scheduler.advance_clock(Duration::from_secs(60));
    /// assert!(timer.is_finished());
    /// ```
    pub fn advance_clock(&self, duration: Duration) {
        if let Some(test) = self.as_test() {
            test.advance_clock(duration);
        }
    }

    /// Under a `TestScheduler`: yields a seeded number of times, so other tasks may run in
    /// between. Elsewhere: ready at once.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// scheduler.block(scheduler.simulate_random_delay());
    /// ```
    pub fn simulate_random_delay(&self) -> RandomDelay {
        match self.as_test() {
            Some(test) => test.simulate_random_delay(),
            None => RandomDelay::none(),
        }
    }

    /// Under a `TestScheduler`: `Some(true)` while the task runs (spawned, its future
    /// neither finished nor dropped, its `Task` neither dropped nor cancelled), see
    /// [`TestScheduler::is_live`]. Elsewhere `None`: production schedulers do not track
    /// their tasks.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler, TestScheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(TestScheduler::new());
    /// let task = scheduler.spawn(async {});
    /// assert_eq!(scheduler.is_task_running(task.id()), Some(true));
    /// scheduler.run_until_parked();
    /// assert_eq!(scheduler.is_task_running(task.id()), Some(false));
    ///
    /// let production: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let task = production.spawn(async {});
    /// assert_eq!(production.is_task_running(task.id()), None);
    /// ```
    pub fn is_task_running(&self, id: TaskId) -> Option<bool> {
        self.as_test().map(|test| test.is_live(id))
    }
}

#[cfg(feature = "std")]
impl TestScheduler {
    /// A [`BackgroundExecutor`] over this scheduler.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::TestScheduler;
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let task = test.background().spawn(async { 1 });
    /// test.run_until_parked();
    /// assert!(task.is_finished());
    /// ```
    pub fn background(self: &Arc<Self>) -> BackgroundExecutor {
        BackgroundExecutor::new(self.clone())
    }

    /// A [`ForegroundExecutor`] over this scheduler, for the calling (main) thread: a
    /// session of its own, as a client's executor is in Zed's tests. Each session keeps its
    /// tasks in FIFO order; the seed interleaves the sessions with each other and with
    /// background work; while the executor [`block`](ForegroundExecutor::block)s, its own
    /// tasks wait and the others go on. (Clones of one executor share its session.)
    ///
    /// # Panics
    ///
    /// On the 65,536th executor made by one scheduler.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use std::sync::Arc;
    /// use unified_scheduler::TestScheduler;
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let local = Rc::new(1);
    /// let task = test.foreground().spawn(async move { *local });
    /// test.run_until_parked();
    /// assert!(task.is_finished());
    /// ```
    #[track_caller]
    pub fn foreground(self: &Arc<Self>) -> ForegroundExecutor {
        ForegroundExecutor::in_session(self.clone(), self.new_session())
    }

    /// A session no executor has yet: for `foreground()`, and for each `spawn_dedicated`
    /// task (its own loop on production, its own session here).
    pub(crate) fn new_session(&self) -> u16 {
        let mut state = self.lock();
        let session = state.next_session;
        state.next_session = session.checked_add(1).expect(
            "65,535 sessions (foreground executors and dedicated tasks) made by one \
             TestScheduler: share one executor per client (clone it) instead of making one \
             per task, and spawn short work with `spawn` rather than `spawn_dedicated`",
        );
        session
    }

    /// Marks `session` blocked (its tasks wait) until the guard drops.
    pub(crate) fn block_session(&self, session: u16) -> SessionBlocked<'_> {
        self.lock().blocked_sessions.push(session);
        SessionBlocked {
            test: self,
            session,
        }
    }
}

/// Unblocks a session when its `ForegroundExecutor::block` returns or unwinds.
#[cfg(feature = "std")]
pub(crate) struct SessionBlocked<'a> {
    test: &'a TestScheduler,
    session: u16,
}

#[cfg(feature = "std")]
impl Drop for SessionBlocked<'_> {
    fn drop(&mut self) {
        let mut state = self.test.lock();
        if let Some(at) = state
            .blocked_sessions
            .iter()
            .rposition(|&blocked| blocked == self.session)
        {
            state.blocked_sessions.remove(at);
        }
    }
}
