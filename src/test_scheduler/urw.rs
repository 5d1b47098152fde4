//! The URW picker (`Strategy::Urw`): each pick weighted by the task's estimated remaining
//! steps, estimated per spawn site from an earlier run (`learned.rs`).

use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use super::learned::{Site, SiteSteps};
use super::rng::SeededRng;
use crate::core::TaskId;

pub(super) struct Urw {
    rng: SeededRng,
    estimates: Option<Arc<SiteSteps>>,
    /// The steps each task has run so far.
    taken: BTreeMap<TaskId, u64>,
    /// Scratch space for the weights of one pick.
    weights: alloc::vec::Vec<u64>,
}

impl Urw {
    pub(super) fn new(rng: SeededRng, estimates: Option<Arc<SiteSteps>>) -> Self {
        Self {
            rng,
            estimates,
            taken: BTreeMap::new(),
            weights: alloc::vec::Vec::new(),
        }
    }

    /// How many tasks it keeps a step count for.
    pub(super) fn tracked(&self) -> usize {
        self.taken.len()
    }

    /// Drops the step counts of tasks that ended (ids are never reused).
    pub(super) fn forget_ended(&mut self, running: impl Fn(TaskId) -> bool) {
        self.taken.retain(|id, _| running(*id));
    }

    /// The index in `candidates` (not empty) to run; `priorities[i]` is the priority weight
    /// of `candidates[i]`, which scales its weight as it does in the uniform walk's pick.
    pub(super) fn choose(&mut self, candidates: &[(TaskId, Site)], priorities: &[u32]) -> usize {
        debug_assert!(!candidates.is_empty());
        self.weights.clear();
        for ((id, site), &priority) in candidates.iter().zip(priorities) {
            let estimate = self
                .estimates
                .as_deref()
                .map_or(1, |estimates| estimates.estimate(site));
            let taken = self.taken.get(id).copied().unwrap_or(0);
            // At least 1: a task that outlives its estimate stays runnable.
            let remaining = estimate.saturating_sub(taken).max(1);
            self.weights
                .push(remaining.saturating_mul(u64::from(priority)));
        }
        let total = self
            .weights
            .iter()
            .fold(0u64, |sum, weight| sum.saturating_add(*weight));
        let mut draw = ((u128::from(self.rng.next_u64()) * u128::from(total)) >> 64) as u64;
        let mut chosen = candidates.len() - 1;
        for (index, weight) in self.weights.iter().enumerate() {
            if draw < *weight {
                chosen = index;
                break;
            }
            draw -= weight;
        }
        *self.taken.entry(candidates[chosen].0).or_insert(0) += 1;
        chosen
    }
}
