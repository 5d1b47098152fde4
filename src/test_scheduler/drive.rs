//! `Scheduler::drive` under virtual time (with `std`): poll the blocked future, let the
//! seed run other tasks between two polls, then wait for a wake (`wait.rs`). The blocked
//! future's waker reports being woken or dropped on another OS thread.

use ::core::future::Future;
use ::core::pin::Pin;
use ::core::task::{Context, Poll};
use ::core::time::Duration;
use alloc::sync::Arc;

use super::TestScheduler;
use super::report::Blocked;
use super::wait::{Budget, WakeFlag, spend, waker};
use crate::core::Driven;

/// Which thread the blocked future belongs to, and where to report uses of its waker.
pub(super) struct Watch {
    reports: Arc<super::threads::ForeignWakes>,
    home: std::thread::ThreadId,
    home_name: alloc::string::String,
}

impl WakeFlag {
    /// A flag for the future blocked on the calling thread: a wake or a drop of its waker on
    /// another OS thread is reported to `test`.
    pub(super) fn for_block(test: &TestScheduler) -> Self {
        let here = std::thread::current();
        let mut flag = Self::new();
        flag.watch = Some(Watch {
            reports: test.foreign.clone(),
            home: here.id(),
            home_name: alloc::string::String::from(here.name().unwrap_or("<unnamed>")),
        });
        flag
    }

    /// Checks a wake or drop of the waker (`what`) against the blocking thread.
    pub(super) fn report_use(&self, what: &str) {
        if let Some(watch) = &self.watch {
            watch.reports.check(
                watch.home,
                || &watch.home_name,
                || alloc::format!("the waker of the future blocked in `block` was {what}"),
            );
        }
    }
}

impl TestScheduler {
    /// `Scheduler::drive` under virtual time. Between two polls of the future the seed
    /// decides how many tasks run (each coin flip that comes up heads runs one), so a future
    /// that wakes itself still lets the world move and races the tasks like any task; then
    /// it waits for a wake with `run_until_woken`. A timeout gives a tick budget drawn from
    /// `block_tick_range` (log-uniformly, so short budgets come up as often as long ones),
    /// spent by every tick and by every poll after the first.
    pub(super) fn drive_virtually(
        &self,
        mut future: Pin<&mut dyn Future<Output = ()>>,
        timeout: Option<Duration>,
    ) -> Driven {
        let woken = Arc::new(WakeFlag::for_block(self));
        let waker = waker(woken.clone());
        let waker = match &self.pending_traces {
            Some(traces) => traces.wrap_blocked(&waker),
            None => waker,
        };
        let mut cx = Context::from_waker(&waker);
        let (mut budget, deadline) = match timeout {
            None => (None, None),
            Some(timeout) => {
                let mut state = self.lock();
                let (start, end) = state.config.block_tick_range.clone().into_inner();
                let budget = state.rng.log_uniform_in(start, end);
                (Some(budget), Some(state.elapsed.saturating_add(timeout)))
            }
        };
        let mut blocked = self.enter_block();
        let mut first = true;
        loop {
            if !::core::mem::take(&mut first) && !spend(&mut budget) {
                return Driven::TimedOut;
            }
            if self
                .poll_blocked(future.as_mut(), &mut cx, &mut blocked)
                .is_ready()
            {
                return Driven::Ready;
            }
            if !self.let_tasks_run(&mut budget) {
                return Driven::TimedOut;
            }
            if !self.run_until_woken(&woken, deadline, &mut budget, &blocked) {
                return Driven::TimedOut;
            }
        }
    }

    /// Between two polls of a blocked future: with random order, run tasks while seeded coin
    /// flips come up heads (zero or more); in FIFO order, run one. `false` if the budget ran
    /// out.
    fn let_tasks_run(&self, budget: &mut Budget) -> bool {
        if !self.lock().config.randomize_order {
            if *budget == Some(0) {
                return false;
            }
            if self.tick() {
                spend(budget);
            }
            return true;
        }
        while self.next_runs_a_task() {
            if *budget == Some(0) {
                return false;
            }
            if !self.tick() {
                break;
            }
            spend(budget);
        }
        true
    }

    /// Whether a task runs before the blocked future is polled again: the strategy's call
    /// under PCT (the body ranks like a task), else a seeded coin flip.
    fn next_runs_a_task(&self) -> bool {
        let mut state = self.lock();
        match state.strategy_body_goes_first() {
            Some(body_first) => !body_first,
            None => state.rng.coin(),
        }
    }

    /// Polls the blocked future, noting for the stuck report which task it waits on.
    fn poll_blocked(
        &self,
        future: Pin<&mut dyn Future<Output = ()>>,
        cx: &mut Context<'_>,
        blocked: &mut Blocked<'_>,
    ) -> Poll<()> {
        self.progress();
        let mut poll = Poll::Pending;
        blocked.awaited = crate::core::tracking::poll_collecting(self.tracker.log(), || {
            poll = future.poll(cx);
        });
        poll
    }
}
