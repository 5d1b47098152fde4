//! The pick of a non-default [`Strategy`](super::Strategy): lists the runnables the
//! uniform pick would draw from, asks the strategy's picker (`pct.rs`, `urw.rs`) which one
//! runs, and takes it off its queue. Off the default pick's path: `run_next` (`step.rs`)
//! calls it instead of `State::pick`, through one branch, only when a strategy other than
//! the default is set (`State::pick` itself is unchanged).

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::config::TestSchedulerConfig;
use super::forced::Forced;
use super::learned::{Site, site};
use super::pct::Pct;
use super::rng::SeededRng;
use super::state::{Pick, State};
use super::strategy::Strategy;
use super::urw::Urw;
use crate::core::{Runnable, TaskId};

/// PCT's run length when nothing was learned (no [`steps_hint`](TestSchedulerConfig::steps_hint)).
pub(crate) const DEFAULT_STEPS_HINT: u64 = 1000;

/// Forks the strategy's stream from the seed, apart from the scheduler's own, so the
/// strategy's draws leave `block_with_timeout`'s and `rng()`'s as they were.
const STRATEGY_STREAM: u64 = 0x5354_5241_5445_4759; // "STRATEGY"

pub(super) struct Picker {
    kind: Kind,
    /// Scratch space: the runnables of one pick and where each waits.
    candidates: Vec<(TaskId, Site, Queue)>,
    ids: Vec<TaskId>,
    sites: Vec<(TaskId, Site)>,
    /// How many tasks the picker may track before it forgets the ended ones.
    prune_at: usize,
}

/// The least `Picker::prune_at`.
const PRUNE_AT_LEAST: usize = 1024;

enum Kind {
    Pct(Pct),
    Urw(Urw),
    Forced(Forced),
}

/// Where a candidate waits.
#[derive(Copy, Clone)]
enum Queue {
    Ready(usize),
    Prioritized(usize, usize),
    Session(usize),
}

impl Picker {
    /// The picker of `config`'s strategy; `None` for the default (the uniform pick).
    pub(super) fn new(config: &TestSchedulerConfig) -> Option<Box<Self>> {
        if let Some(run) = config.forced.as_ref().filter(|_| config.randomize_order) {
            // A forced schedule (`forced.rs`) overrides the strategy.
            return Some(Self::with_kind(Kind::Forced(Forced::new(run.clone()))));
        }
        if config.strategy.is_default() || !config.randomize_order {
            // Before the stream is made: a fresh default scheduler pays nothing. FIFO order
            // (`randomize_order` off) takes no strategy.
            return None;
        }
        let rng = SeededRng::new(config.seed ^ STRATEGY_STREAM);
        let kind = match config.strategy {
            Strategy::UniformRandom => return None,
            Strategy::Pct { depth } => Kind::Pct(Pct::new(
                rng,
                depth,
                config.steps_hint.unwrap_or(DEFAULT_STEPS_HINT),
            )),
            Strategy::Urw => Kind::Urw(Urw::new(rng, config.site_steps.clone())),
        };
        Some(Self::with_kind(kind))
    }

    fn with_kind(kind: Kind) -> Box<Self> {
        Box::new(Self {
            kind,
            candidates: Vec::new(),
            ids: Vec::new(),
            sites: Vec::new(),
            prune_at: PRUNE_AT_LEAST,
        })
    }
}

impl State {
    /// The strategy's pick, by the rules of `State::pick`: a due timer first; then among
    /// the runnables, background ones of every priority and (unless `from` is background
    /// only) the heads of the open sessions; when none, a uniform draw among the
    /// deprioritized, as the default pick does.
    #[cold]
    #[inline(never)]
    pub(super) fn pick_by_strategy(&mut self, from: Pick) -> Option<Runnable> {
        self.discard_cancelled_timers();
        if let Some((_, timer)) = self.timers.pop_due(self.elapsed) {
            return Some(timer);
        }
        let mut picker = self.picker.take().expect("called with a picker");
        let picked = self.pick_with(&mut picker, from == Pick::Any);
        self.picker = Some(picker);
        picked
    }

    fn pick_with(&mut self, picker: &mut Picker, with_sessions: bool) -> Option<Runnable> {
        let candidates = &mut picker.candidates;
        candidates.clear();
        let entry = |r: &Runnable, queue| (r.metadata().id, site(r.metadata().spawned_at), queue);
        for (index, runnable) in self.ready.iter().enumerate() {
            candidates.push(entry(runnable, Queue::Ready(index)));
        }
        for (slot, queue) in self.prioritized.iter().enumerate() {
            for (index, runnable) in queue.iter().enumerate() {
                candidates.push(entry(runnable, Queue::Prioritized(slot, index)));
            }
        }
        if with_sessions {
            for (session, queue) in self.sessions.iter().enumerate() {
                if let Some(head) = queue.front().filter(|_| !self.is_blocked(session)) {
                    candidates.push(entry(head, Queue::Session(session)));
                }
            }
        }
        if candidates.is_empty() {
            if self.deprioritized.is_empty() {
                return None;
            }
            let choice = self.rng.below(self.deprioritized.len());
            return self.deprioritized.swap_remove_back(choice);
        }
        let chosen = match &mut picker.kind {
            Kind::Pct(pct) => {
                picker.ids.clear();
                picker.ids.extend(candidates.iter().map(|c| c.0));
                pct.choose(&picker.ids, self.trace.steps())
            }
            Kind::Urw(urw) => {
                picker.sites.clear();
                picker.sites.extend(candidates.iter().map(|c| (c.0, c.1)));
                urw.choose(&picker.sites)
            }
            Kind::Forced(forced) => {
                picker.ids.clear();
                picker.ids.extend(candidates.iter().map(|c| c.0));
                forced.choose(&picker.ids, self.trace.steps())
            }
        };
        let tracked = match &picker.kind {
            Kind::Pct(pct) => pct.tracked(),
            Kind::Urw(urw) => urw.tracked(),
            Kind::Forced(_) => 0, // keeps no per-task memory
        };
        if tracked >= picker.prune_at {
            // Amortized: at most one sweep per doubling of what is tracked.
            let tasks = &self.tasks;
            let running = |id| tasks.is_running(id);
            let kept = match &mut picker.kind {
                Kind::Pct(pct) => {
                    pct.forget_ended(running);
                    pct.tracked()
                }
                Kind::Urw(urw) => {
                    urw.forget_ended(running);
                    urw.tracked()
                }
                Kind::Forced(_) => 0,
            };
            picker.prune_at = (2 * kept).max(PRUNE_AT_LEAST);
        }
        match candidates[chosen].2 {
            Queue::Ready(index) => self.ready.swap_remove_back(index),
            Queue::Prioritized(slot, index) => self.prioritized[slot].swap_remove_back(index),
            Queue::Session(session) => self.sessions[session].pop_front(),
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use alloc::sync::Arc;

    use super::{Kind, PRUNE_AT_LEAST};
    use crate::core::Scheduler;
    use crate::{Strategy, TestScheduler, TestSchedulerConfig};

    /// Tasks spawned one after another, each ending before the next: the picker's table
    /// follows the live tasks, not every task ever seen.
    #[test]
    fn the_pickers_forget_ended_tasks() {
        for strategy in [Strategy::Pct { depth: 3 }, Strategy::Urw] {
            let test = Arc::new(TestScheduler::with_config(
                TestSchedulerConfig::new().strategy(strategy),
            ));
            let scheduler: Arc<dyn Scheduler> = test.clone();
            for _ in 0..10 * PRUNE_AT_LEAST {
                scheduler.spawn(async {}).detach();
                test.run_until_parked();
            }
            let state = test.lock();
            let picker = state.picker.as_ref().expect("a strategy's picker");
            let tracked = match &picker.kind {
                Kind::Pct(pct) => pct.tracked(),
                Kind::Urw(urw) => urw.tracked(),
                Kind::Forced(_) => unreachable!("no forced schedule here"),
            };
            assert!(
                tracked <= PRUNE_AT_LEAST,
                "{strategy}: {tracked} tasks tracked"
            );
        }
    }
}
