//! The schedule as the user reads it: the last steps of a run (always, in a small ring) or
//! all of them (`record_schedule`, the env var `SCHEDULE=1`), each with its task, its spawn
//! site and the virtual time it ran at.

use ::core::fmt;
use ::core::time::Duration;
use alloc::vec::Vec;

use super::LiveTask;

/// How many of the last steps every run keeps, for the failure report.
pub(super) const RECENT_STEPS: usize = 32;

/// One step of a schedule: the task that ran, and when, as
/// [`TestScheduler::recent_schedule`](super::TestScheduler::recent_schedule) and a failing
/// seed's report show it.
///
/// ```
/// use unified_scheduler::{ScheduleStep, TestScheduler};
///
/// let test = TestScheduler::new();
/// let steps: Vec<ScheduleStep> = test.recent_schedule();
/// assert!(steps.is_empty()); // nothing ran yet
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScheduleStep {
    /// The step's number, from 0: how many runnables ran before it.
    pub step: u64,
    /// The task that ran.
    pub task: LiveTask,
    /// The virtual time it ran at, since the scheduler was made.
    pub at: Duration,
}

impl fmt::Display for ScheduleStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "step {:>5} at +{:>4}.{:03}s  {}",
            self.step,
            self.at.as_secs(),
            self.at.subsec_millis(),
            self.task
        )
    }
}

pub(super) struct ScheduleLog {
    /// The last steps, oldest overwritten first; `steps % RECENT_STEPS` is the next slot.
    recent: [Option<(LiveTask, Duration)>; RECENT_STEPS],
    steps: u64,
    /// Every step, when the whole schedule was asked for.
    all: Option<Vec<ScheduleStep>>,
}

impl ScheduleLog {
    pub(super) const fn new() -> Self {
        Self {
            recent: [None; RECENT_STEPS],
            steps: 0,
            all: None,
        }
    }

    /// Keep every step from now on, not only the last few.
    pub(super) fn keep_all(&mut self) {
        self.all.get_or_insert_with(Vec::new);
    }

    #[inline]
    pub(super) fn note(&mut self, task: LiveTask, at: Duration) {
        let step = self.steps;
        self.recent[(step % RECENT_STEPS as u64) as usize] = Some((task, at));
        self.steps += 1;
        if let Some(all) = &mut self.all {
            all.push(ScheduleStep { step, task, at });
        }
    }

    /// The task of the last step: the one running, or the last one that ran.
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // the stuck reports need `std`
    pub(super) fn last(&self) -> Option<LiveTask> {
        let step = self.steps.checked_sub(1)?;
        self.recent[(step % RECENT_STEPS as u64) as usize].map(|(task, _)| task)
    }

    /// The last steps, oldest first.
    fn recent(&self) -> Vec<ScheduleStep> {
        let kept = self.steps.min(RECENT_STEPS as u64);
        (self.steps - kept..self.steps)
            .filter_map(|step| {
                let (task, at) = self.recent[(step % RECENT_STEPS as u64) as usize]?;
                Some(ScheduleStep { step, task, at })
            })
            .collect()
    }

    /// Every step if they were kept, else the last ones.
    pub(super) fn recent_or_all(&self) -> Vec<ScheduleStep> {
        match &self.all {
            Some(all) => all.clone(),
            None => self.recent(),
        }
    }

    /// How many steps ran in all.
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // the runners' report needs `std`
    pub(super) fn steps(&self) -> u64 {
        self.steps
    }
}
