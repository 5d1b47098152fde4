//! What the `TestScheduler` says when a test cannot go on: a stuck `block` (who waits, on
//! what, what every task is doing and how the others ended) and a spent step budget.

use ::core::fmt::Write;
use ::core::panic::Location;
use ::core::sync::atomic::{AtomicUsize, Ordering};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::TestScheduler;
use super::state::State;
use super::tasks::LiveTask;
use crate::core::TaskId;
use crate::core::tracking::Await;

/// A `block` in progress, as the stuck report describes it.
pub(super) struct Blocked<'a> {
    /// Counts the blocks in progress; this one leaves it when dropped.
    depth_counter: Option<&'a AtomicUsize>,
    /// Blocks in progress outside this one.
    depth: usize,
    /// Whether a runner drives the scheduler (the outermost block is the test body).
    in_runner: bool,
    /// The task that called this `block`, for a nested one.
    caller: Option<LiveTask>,
    /// What the blocked future awaited when last polled.
    pub(super) awaited: Option<Await>,
}

impl<'a> Blocked<'a> {
    #[cfg(feature = "std")]
    pub(super) fn enter(
        depth_counter: &'a AtomicUsize,
        in_runner: bool,
        running: Option<LiveTask>,
    ) -> Self {
        let depth = depth_counter.fetch_add(1, Ordering::Relaxed);
        Self {
            depth_counter: Some(depth_counter),
            depth,
            in_runner,
            caller: if depth > 0 { running } else { None },
            awaited: None,
        }
    }

    /// A thread parked in `Scheduler::park` rather than in `block`.
    pub(super) fn parked() -> Self {
        Self {
            depth_counter: None,
            depth: 0,
            in_runner: false,
            caller: None,
            awaited: None,
        }
    }

    fn describe(&self, report: &mut String) {
        let who = match (&self.depth_counter, self.depth, &self.caller) {
            (None, ..) => String::from("a thread parked in `Scheduler::park` is waiting"),
            (Some(_), 0, _) if self.in_runner => String::from("the test body is waiting"),
            (Some(_), 0, _) => String::from("the future passed to `block` is waiting"),
            (Some(_), _, Some(task)) => format!("a `block` inside {task} is waiting"),
            (Some(_), _, None) => String::from("a nested `block` is waiting"),
        };
        let _ = match self.awaited {
            Some(Await { at, on }) => write!(report, "\n{who} at {at}, on task {on}."),
            None if self.depth_counter.is_some() => write!(
                report,
                "\n{who} on something that is not a task of this scheduler (a channel, a \
                 lock, a real thread?)."
            ),
            None => write!(report, "\n{who}."),
        };
    }
}

impl Drop for Blocked<'_> {
    fn drop(&mut self) {
        if let Some(counter) = self.depth_counter {
            counter.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl TestScheduler {
    /// The stuck report, and (with `std`) where the live tasks' wakers were cloned if
    /// `pending_traces` is on, or how to turn it on if not.
    pub(super) fn stuck_report(&self, state: &State, blocked: &Blocked<'_>) -> String {
        #[cfg_attr(not(feature = "std"), allow(unused_mut))]
        let mut report = stuck_report(state, blocked);
        #[cfg(feature = "std")]
        {
            let live: Vec<LiveTask> = state.tasks.live().collect();
            match &self.pending_traces {
                Some(traces) => traces.describe(&live, &mut report),
                None if !live.is_empty() => report.push_str(
                    "\nSet PENDING_TRACES=1 (or `TestSchedulerConfig::pending_traces(true)`) to \
                     see where each pending task's waker was cloned.",
                ),
                None => {}
            }
        }
        report
    }
}

/// Why a blocked test cannot go on: the seed, who waits on what, every live task, the
/// hint, and how the tasks that are gone ended.
pub(super) fn stuck_report(state: &State, blocked: &Blocked<'_>) -> String {
    let mut report = format!(
        "TestScheduler (seed {}): the test is blocked and nothing can make progress: no task \
         can run and no timer is pending.",
        state.config.seed
    );
    blocked.describe(&mut report);
    let live: Vec<LiveTask> = state.tasks.live().collect();
    let _ = write!(report, "\nlive tasks ({}):", live.len());
    for task in &live {
        let _ = write!(report, "\n  {task}");
    }
    if let Some(hint) = &state.waiting_hint {
        let _ = write!(report, "\nwaiting for: {hint}");
    }
    let held_back: usize = state
        .blocked_sessions
        .iter()
        .filter_map(|&session| state.sessions.get(usize::from(session)))
        .map(|queue| queue.len())
        .sum();
    if held_back > 0 {
        let _ = write!(
            report,
            "\n{held_back} foreground task(s) of a blocked executor's own session wait: a \
             ForegroundExecutor's tasks do not run inside its own `block` (on a real main \
             thread they could not either). Await them outside the block, or spawn them on \
             another executor."
        );
    }
    let ended = &state.tasks.ended;
    let dropped = dropped_by_site(state);
    let dropped_count: u64 = dropped.iter().map(|(_, n)| n).sum();
    let _ = write!(
        report,
        "\nended so far: {} finished, {} cancelled, {} panicked.",
        ended.finished,
        ended.cancelled + dropped_count,
        ended.panicked.len()
    );
    if dropped_count > 0 {
        let sites: Vec<String> = dropped.iter().map(|(at, n)| format!("{at} x{n}")).collect();
        let (tasks, their) = match dropped_count {
            1 => ("task was", "its"),
            _ => ("tasks were", "their"),
        };
        let _ = write!(
            report,
            "\n{dropped_count} {tasks} cancelled when {their} Task was dropped (spawned at {}): \
             dropping a Task cancels the task; call `.detach()` on a Task to let it run \
             without awaiting it.",
            sites.join(", ")
        );
    }
    for task in &ended.panicked {
        let _ = write!(
            report,
            "\nearlier, {task} panicked (its message is printed above)"
        );
    }
    if dropped_count == 0 && !state.config.allow_parking {
        report.push_str(
            "\nIf the test waits for something outside the scheduler (a real thread, real \
             I/O), call `allow_parking()` on the TestScheduler.",
        );
    }
    report
}

/// Tasks cancelled by a dropped `Task`, ended or about to be, by spawn site.
fn dropped_by_site(state: &State) -> Vec<(&'static Location<'static>, u64)> {
    let mut sites = state.tasks.ended.dropped.clone();
    for task in state.tasks.dropped_pending() {
        match sites.iter_mut().find(|(at, _)| *at == task.spawned_at) {
            Some((_, count)) => *count += 1,
            None => sites.push((task.spawned_at, 1)),
        }
    }
    sites
}

/// How many of the last steps the budget report looks at.
pub(super) const FINAL_STRETCH: u64 = 1024;

/// Why the seed stopped after `max_steps` steps: the task about to run, and the tasks that
/// ran most in the final stretch (a livelock's members).
pub(super) fn budget_report(state: &State, next: LiveTask) -> String {
    let mut counts: Vec<(TaskId, usize)> = Vec::new();
    for id in &state.final_steps {
        match counts.iter_mut().find(|(seen, _)| seen == id) {
            Some((_, n)) => *n += 1,
            None => counts.push((*id, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let busiest: Vec<String> = counts
        .iter()
        .take(3)
        .map(|(id, n)| match n {
            1 => format!("task {id} (1 step)"),
            n => format!("task {id} ({n} steps)"),
        })
        .collect();
    format!(
        "TestScheduler (seed {}): the step budget ran out after {} steps without the test \
         ending: a livelock (tasks that keep waking each other), or a task that never stops \
         yielding? About to run: {next}. Most steps of the last {}: {}. If the test really \
         needs more steps, raise the budget with `TestSchedulerConfig::max_steps` or the \
         env var MAX_STEPS.",
        state.config.seed,
        state.config.max_steps,
        state.final_steps.len(),
        busiest.join(", "),
    )
}
