//! The PCT picker (`Strategy::Pct`): random distinct priorities, `depth - 1` change points
//! over the expected number of choice points, and a fairness fallback for tasks that spin
//! on `yield_now`.
//!
//! Only *choice points* count: picks where more than one task could run. A change point
//! drawn over every step would mostly land where nothing else could run and change
//! nothing (the shapes PCT is for have a handful of real choices among many steps). The
//! future blocked in `block` (the test body) takes part as one more task, [`BODY`], so that
//! a body racing the tasks it spawned gets a priority like they do.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::rng::SeededRng;
use super::strategy::PCT_FAIRNESS_BOUND;
use crate::core::TaskId;

/// Initial priorities have this bit set; lowered ones (`1..depth`) do not, so every
/// lowered task ranks below every task still at its initial priority.
const INITIAL: u64 = 1 << 63;

/// The future blocked in `block`, as a candidate of PCT's picks: an id no task gets (task
/// ids count up from 1, the ids of ready tasks from `1 << 63`).
pub(super) const BODY: TaskId = match TaskId::from_raw(u64::MAX) {
    Some(id) => id,
    None => unreachable!(),
};

pub(super) struct Pct {
    rng: SeededRng,
    /// Each task's priority, given when it is first seen runnable.
    priorities: BTreeMap<TaskId, u64>,
    /// The choice points at which the running task drops, ascending.
    change_points: Vec<u64>,
    /// How many change points have passed.
    passed: usize,
    /// How many choice points (picks among two or more) there have been.
    choices: u64,
    /// The task picked last, and how many picks in a row it got while others waited.
    last: Option<TaskId>,
    run: u32,
    /// A pick already made by [`Pct::body_goes_first`]: the task it chose over the body,
    /// which the scheduler's next pick takes without choosing again.
    decided: Option<TaskId>,
}

impl Pct {
    /// A picker for `depth` over a run of about `k` choice points, drawing from `rng`.
    pub(super) fn new(mut rng: SeededRng, depth: u32, k: u64) -> Self {
        let k = k.max(1);
        let mut change_points: Vec<u64> = (1..depth)
            // Uniform over 0..=k (bias < k / 2^64): after choice point i the task chosen
            // there drops, that is at choice i + 1; 0 lowers whatever ran before the first
            // choice (the body, say). The extra point matters for the short runs of async
            // tests, where `k` is a handful.
            .map(|_| {
                let scale = 1 + rng.next_u64() % k;
                1 + rng.next_u64() % (scale + 1)
            })
            .collect();
        change_points.sort_unstable();
        Self {
            rng,
            priorities: BTreeMap::new(),
            change_points,
            passed: 0,
            choices: 0,
            last: None,
            run: 0,
            decided: None,
        }
    }

    /// How many tasks it keeps a priority for.
    pub(super) fn tracked(&self) -> usize {
        self.priorities.len()
    }

    /// Drops the priorities of tasks that ended (ids are never reused, so an ended task's
    /// priority is never asked for again): memory follows the live tasks.
    pub(super) fn forget_ended(&mut self, running: impl Fn(TaskId) -> bool) {
        self.priorities.retain(|id, _| *id == BODY || running(*id));
    }

    /// Whether the blocked future (the body) is polled before any of `tasks` runs. `false`
    /// when no task can run; when one of `tasks` wins, the next [`choose`](Self::choose)
    /// takes it.
    #[cfg(feature = "std")] // `block` under virtual time (`drive.rs`) needs std
    pub(super) fn body_goes_first(
        &mut self,
        tasks: &mut Vec<TaskId>,
        weights: &mut Vec<u32>,
    ) -> bool {
        if tasks.is_empty() {
            return true;
        }
        tasks.push(BODY);
        weights.push(crate::core::Priority::Medium.weight() as u32);
        let chosen = tasks[self.choose(tasks, weights)];
        tasks.pop();
        weights.pop();
        if chosen == BODY {
            return true;
        }
        self.decided = Some(chosen);
        false
    }

    /// The index in `candidates` (not empty) to run next; `weights[i]` is the priority
    /// weight of `candidates[i]`.
    pub(super) fn choose(&mut self, candidates: &[TaskId], weights: &[u32]) -> usize {
        debug_assert!(!candidates.is_empty());
        if let Some(decided) = self.decided.take() {
            if let Some(index) = candidates.iter().position(|&id| id == decided) {
                return index;
            }
        }
        let others_wait = candidates.len() > 1;
        if others_wait {
            self.choices += 1;
            self.pass_change_points();
        }
        for (&id, &weight) in candidates.iter().zip(weights) {
            if !self.priorities.contains_key(&id) {
                // The best of `weight` draws: of two tasks of weights a and b, the first
                // ranks above with probability a / (a + b), as the uniform walk's weighted
                // pick runs it first (a High task over a Low one 9 times in 10).
                let best = (0..weight.max(1)).map(|_| self.rng.next_u64()).max();
                self.priorities
                    .insert(id, best.unwrap_or_default() | INITIAL);
            }
        }
        let starving = others_wait
            && self.run >= PCT_FAIRNESS_BOUND
            && self.last.is_some_and(|last| candidates.contains(&last));
        let chosen = if starving {
            self.rng.below(candidates.len())
        } else {
            let rank = |index: &usize| (self.priorities[&candidates[*index]], candidates[*index]);
            (0..candidates.len()).max_by_key(rank).expect("not empty")
        };
        let id = candidates[chosen];
        self.run = match (others_wait, self.last == Some(id)) {
            (false, _) => 0,
            (true, true) if !starving => self.run + 1,
            (true, _) => 1,
        };
        self.last = Some(id);
        chosen
    }

    /// At each change point reached, the task that ran last drops below every initial
    /// priority; the i-th (of d - 1) to d - 1 - i, so later ones rank lower still.
    fn pass_change_points(&mut self) {
        while self
            .change_points
            .get(self.passed)
            .is_some_and(|&at| at <= self.choices)
        {
            let lowered = (self.change_points.len() - self.passed) as u64;
            if let Some(running) = self.last {
                self.priorities.insert(running, lowered);
            }
            self.passed += 1;
        }
    }
}
