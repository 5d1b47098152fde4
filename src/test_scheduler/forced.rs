//! A forced schedule: the run follows a given list of choices ("at step n, run task t")
//! and otherwise a fixed default order that needs no choice (the task that ran last goes
//! on, else the lowest-id runnable). A schedule is then its deviations from that default;
//! the shrinker (`shrink.rs`) removes them. `picker.rs` asks this picker as it asks PCT's.

use ::core::fmt;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::strategy::PCT_FAIRNESS_BOUND;
use crate::core::TaskId;
use crate::sync::Mutex;

/// The choices a [`TestScheduler`](crate::TestScheduler) follows instead of its seed's
/// strategy: at each listed step (counted from 0, as [`ScheduleStep::step`](crate::ScheduleStep)
/// counts) run the listed task if it is runnable. At every other step, or when the listed
/// task cannot run, the default order runs: the task that ran last goes on if it can, else
/// the runnable with the lowest [`TaskId`] (task ids follow spawn order, so they name the
/// same tasks from run to run). After 64 picks in a row of one task while others wait, the
/// default order runs the lowest other id, so a task spinning on `yield_now` cannot starve
/// the one it waits for. Due timers still run first. Set it with
/// [`TestSchedulerConfig::forced_schedule`](crate::TestSchedulerConfig::forced_schedule);
/// it needs `randomize_order` on (the default).
///
/// ```
/// use unified_scheduler::{ForcedSchedule, TaskId};
///
/// let choices = ForcedSchedule::new([(3, TaskId::from_raw(2).unwrap())]);
/// assert_eq!(choices.len(), 1);
/// assert_eq!(choices.get(3), TaskId::from_raw(2));
/// assert_eq!(choices.get(4), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ForcedSchedule {
    choices: BTreeMap<u64, TaskId>,
}

impl ForcedSchedule {
    /// The schedule of these `(step, task)` choices (a later one for the same step wins).
    ///
    /// ```
    /// use unified_scheduler::{ForcedSchedule, TaskId};
    /// let one = TaskId::from_raw(1).unwrap();
    /// assert!(ForcedSchedule::new([]).is_empty());
    /// assert_eq!(ForcedSchedule::new([(0, one), (0, one)]).len(), 1);
    /// ```
    pub fn new(choices: impl IntoIterator<Item = (u64, TaskId)>) -> Self {
        Self {
            choices: choices.into_iter().collect(),
        }
    }

    /// The task chosen for `step`, if any.
    ///
    /// ```
    /// use unified_scheduler::{ForcedSchedule, TaskId};
    /// let two = TaskId::from_raw(2).unwrap();
    /// assert_eq!(ForcedSchedule::new([(5, two)]).get(5), Some(two));
    /// ```
    pub fn get(&self, step: u64) -> Option<TaskId> {
        self.choices.get(&step).copied()
    }

    /// How many choices it lists.
    ///
    /// ```
    /// use unified_scheduler::ForcedSchedule;
    /// assert_eq!(ForcedSchedule::default().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.choices.len()
    }

    /// Whether it lists no choice: the run follows the default order alone.
    ///
    /// ```
    /// use unified_scheduler::ForcedSchedule;
    /// assert!(ForcedSchedule::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.choices.is_empty()
    }

    /// The choices, by step.
    ///
    /// ```
    /// use unified_scheduler::{ForcedSchedule, TaskId};
    /// let one = TaskId::from_raw(1).unwrap();
    /// let steps: Vec<u64> = ForcedSchedule::new([(9, one), (2, one)]).iter().map(|c| c.0).collect();
    /// assert_eq!(steps, [2, 9]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (u64, TaskId)> + '_ {
        self.choices.iter().map(|(step, task)| (*step, *task))
    }
}

/// A choice taken that the default order would not have made: at `step`, `task` ran
/// instead of `default`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Deviation {
    pub(crate) step: u64,
    pub(crate) task: TaskId,
    pub(crate) default: TaskId,
}

/// A forced schedule as a config carries it, with the log of the run's deviations, which
/// the shrinker reads.
pub(crate) struct ForcedRun {
    pub(crate) choices: ForcedSchedule,
    pub(crate) deviations: Mutex<Vec<Deviation>>,
}

impl ForcedRun {
    pub(crate) fn new(choices: ForcedSchedule) -> Arc<Self> {
        Arc::new(Self {
            choices,
            deviations: Mutex::new(Vec::new()),
        })
    }
}

// A config compares and prints by its choices; the log is an output.
impl PartialEq for ForcedRun {
    fn eq(&self, other: &Self) -> bool {
        self.choices == other.choices
    }
}

impl Eq for ForcedRun {}

impl fmt::Debug for ForcedRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.choices.fmt(f)
    }
}

/// The forced picker.
pub(super) struct Forced {
    run: Arc<ForcedRun>,
    last: Option<TaskId>,
    /// Picks in a row of `last` while others waited.
    streak: u32,
}

impl Forced {
    pub(super) fn new(run: Arc<ForcedRun>) -> Self {
        Self {
            run,
            last: None,
            streak: 0,
        }
    }

    /// The index in `candidates` (not empty) to run at scheduler step `step`.
    pub(super) fn choose(&mut self, candidates: &[TaskId], step: u64) -> usize {
        debug_assert!(!candidates.is_empty());
        let position = |id: TaskId| candidates.iter().position(|&c| c == id);
        let lowest = |skip: Option<TaskId>| {
            (0..candidates.len())
                .filter(|&i| Some(candidates[i]) != skip)
                .min_by_key(|&i| candidates[i])
        };
        let starving = self.streak >= PCT_FAIRNESS_BOUND && candidates.len() > 1;
        let default = match self.last.and_then(position) {
            Some(_) if starving => lowest(self.last),
            Some(index) => Some(index),
            None => lowest(None),
        }
        .expect("not empty");
        let chosen = match self.run.choices.get(step).and_then(position) {
            Some(index) if index != default => {
                self.run.deviations.lock().push(Deviation {
                    step,
                    task: candidates[index],
                    default: candidates[default],
                });
                index
            }
            _ => default,
        };
        let id = candidates[chosen];
        self.streak = if self.last == Some(id) && candidates.len() > 1 {
            self.streak + 1
        } else {
            0
        };
        self.last = Some(id);
        chosen
    }
}
