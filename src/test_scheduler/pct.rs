//! The PCT picker (`Strategy::Pct`): random distinct priorities, `depth - 1` change points
//! over the expected run length, and a fairness fallback for tasks that spin on
//! `yield_now`.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::rng::SeededRng;
use super::strategy::PCT_FAIRNESS_BOUND;
use crate::core::TaskId;

/// Initial priorities have this bit set; lowered ones (`1..depth`) do not, so every
/// lowered task ranks below every task still at its initial priority.
const INITIAL: u64 = 1 << 63;

pub(super) struct Pct {
    rng: SeededRng,
    /// Each task's priority, given when it is first seen runnable.
    priorities: BTreeMap<TaskId, u64>,
    /// The steps at which the running task drops, ascending.
    change_points: Vec<u64>,
    /// How many change points have passed.
    passed: usize,
    /// The task picked last, and how many picks in a row it got while others waited.
    last: Option<TaskId>,
    run: u32,
}

impl Pct {
    /// A picker for `depth` over a run of about `k` steps, drawing from `rng`.
    pub(super) fn new(mut rng: SeededRng, depth: u32, k: u64) -> Self {
        let k = k.max(1);
        let mut change_points: Vec<u64> = (1..depth)
            .map(|_| 1 + rng.next_u64() % k) // uniform over 1..=k (bias < k / 2^64)
            .collect();
        change_points.sort_unstable();
        Self {
            rng,
            priorities: BTreeMap::new(),
            change_points,
            passed: 0,
            last: None,
            run: 0,
        }
    }

    /// How many tasks it keeps a priority for.
    pub(super) fn tracked(&self) -> usize {
        self.priorities.len()
    }

    /// Drops the priorities of tasks that ended (ids are never reused, so an ended task's
    /// priority is never asked for again): memory follows the live tasks.
    pub(super) fn forget_ended(&mut self, running: impl Fn(TaskId) -> bool) {
        self.priorities.retain(|id, _| running(*id));
    }

    /// The index in `candidates` (not empty) to run at scheduler step `step`.
    pub(super) fn choose(&mut self, candidates: &[TaskId], step: u64) -> usize {
        debug_assert!(!candidates.is_empty());
        while self
            .change_points
            .get(self.passed)
            .is_some_and(|&at| at <= step)
        {
            // The i-th change point (of d - 1) lowers to d - 1 - i: later ones rank lower.
            let lowered = (self.change_points.len() - self.passed) as u64;
            if let Some(running) = self.last {
                self.priorities.insert(running, lowered);
            }
            self.passed += 1;
        }
        for &id in candidates {
            if !self.priorities.contains_key(&id) {
                let priority = self.rng.next_u64() | INITIAL;
                self.priorities.insert(id, priority);
            }
        }
        let others_wait = candidates.len() > 1;
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
}
