//! The pick of a non-default [`Strategy`](super::Strategy): lists the runnables the
//! uniform pick would draw from, asks the strategy's picker (`pct.rs`, `urw.rs`) which one
//! runs, and takes it off its queue. Off the default pick's path: `run_next` (`step.rs`)
//! calls it instead of `State::pick`, through one branch, only when a strategy other than
//! the default is set (`State::pick` itself is unchanged).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::config::TestSchedulerConfig;
use super::forced::Forced;
use super::learned::{Site, site};
use super::pct::Pct;
use super::rng::SeededRng;
use super::state::{Pick, State};
use super::strategy::Strategy;
use super::urw::Urw;
use crate::core::{Priority, Runnable, TaskId};

/// The most runnables a strategy's pick looks through. Its pick lists every runnable, so
/// with thousands queued a run would take time quadratic in them; above this many, a pick
/// is the uniform walk's (a bug among that many runnables is a uniform walk's to find).
pub(crate) const STRATEGY_CANDIDATES_AT_MOST: usize = 256;

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
    /// Each candidate's priority weight (`Priority::weight`), beside `ids`.
    weights: Vec<u32>,
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

impl Queue {
    /// The priority weight of the tasks waiting here: `Medium`'s but in the queues of
    /// the other priorities (slots `Low`, `High`, `Realtime`).
    fn weight(self) -> u32 {
        let priority = match self {
            Queue::Prioritized(0, _) => Priority::Low,
            Queue::Prioritized(1, _) => Priority::High,
            Queue::Prioritized(_, _) => Priority::Realtime,
            Queue::Ready(_) | Queue::Session(_) => Priority::Medium,
        };
        priority.weight() as u32
    }
}

impl Picker {
    /// The picker of `config`'s strategy; `None` for the default (the uniform pick).
    pub(super) fn new(config: &TestSchedulerConfig) -> Option<Box<Self>> {
        if let Some(run) = config.forced.as_ref().filter(|_| config.randomize_order) {
            // A forced schedule (`forced.rs`) overrides the strategy.
            return Some(Self::with_kind(Kind::Forced(Forced::new(run.clone()))));
        }
        let strategy = config.strategy.for_seed(config.seed);
        if strategy == Strategy::UniformRandom || !config.randomize_order {
            // Before the stream is made: a uniform scheduler pays nothing. FIFO order
            // (`randomize_order` off) takes no strategy.
            return None;
        }
        let rng = SeededRng::new(config.seed ^ STRATEGY_STREAM);
        let kind = match strategy {
            Strategy::UniformRandom | Strategy::Portfolio => return None,
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
            weights: Vec::new(),
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
        if self.too_many_for_the_strategy(from == Pick::Any) {
            return self.pick(from);
        }
        let mut picker = self.picker.take().expect("called with a picker");
        let picked = self.pick_with(&mut picker, from == Pick::Any);
        self.picker = Some(picker);
        picked
    }

    /// Whether more tasks are runnable than a strategy's pick looks through
    /// ([`STRATEGY_CANDIDATES_AT_MOST`]); then the pick is the uniform walk's. A forced
    /// schedule always picks itself: it replays a recorded run exactly.
    fn too_many_for_the_strategy(&self, with_sessions: bool) -> bool {
        let forced = matches!(
            self.picker.as_deref(),
            Some(Picker {
                kind: Kind::Forced(_),
                ..
            })
        );
        let sessions = if with_sessions {
            self.sessions.len()
        } else {
            0
        };
        let most =
            self.ready.len() + self.prioritized.iter().map(VecDeque::len).sum::<usize>() + sessions;
        !forced && most > STRATEGY_CANDIDATES_AT_MOST
    }

    /// Under PCT, whether the future blocked in `block` is polled before a task runs
    /// (`pct.rs`: the body ranks like a task); `None` under other strategies, whose body
    /// polls stay a coin flip per task run, and when too many tasks are runnable for the
    /// strategy's pick.
    #[cfg(feature = "std")] // `block` under virtual time (`drive.rs`) needs std
    pub(super) fn strategy_body_goes_first(&mut self) -> Option<bool> {
        if self.too_many_for_the_strategy(true) {
            return None;
        }
        let mut picker = self.picker.take()?;
        let first = match &mut picker.kind {
            Kind::Pct(_) => {
                self.list_candidates(&mut picker, true);
                let Picker {
                    kind: Kind::Pct(pct),
                    candidates,
                    ids,
                    weights,
                    ..
                } = &mut *picker
                else {
                    unreachable!("matched above")
                };
                ids.clear();
                ids.extend(candidates.iter().map(|c| c.0));
                weights.clear();
                weights.extend(candidates.iter().map(|c| c.2.weight()));
                Some(pct.body_goes_first(ids, weights))
            }
            _ => None,
        };
        self.picker = Some(picker);
        first
    }

    /// Fills `picker.candidates` with what the uniform pick would draw from.
    fn list_candidates(&self, picker: &mut Picker, with_sessions: bool) {
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
    }

    fn pick_with(&mut self, picker: &mut Picker, with_sessions: bool) -> Option<Runnable> {
        self.list_candidates(picker, with_sessions);
        let candidates = &picker.candidates;
        self.choice_points += u64::from(candidates.len() > 1);
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
                picker.weights.clear();
                picker
                    .weights
                    .extend(candidates.iter().map(|c| c.2.weight()));
                pct.choose(&picker.ids, &picker.weights)
            }
            Kind::Urw(urw) => {
                picker.sites.clear();
                picker.sites.extend(candidates.iter().map(|c| (c.0, c.1)));
                picker.weights.clear();
                picker
                    .weights
                    .extend(candidates.iter().map(|c| c.2.weight()));
                urw.choose(&picker.sites, &picker.weights)
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
            Queue::Ready(index) => Some(self.ready.swap_remove(index)),
            Queue::Prioritized(slot, index) => self.prioritized[slot].swap_remove_back(index),
            Queue::Session(session) => self.sessions[session].pop_front(),
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use alloc::sync::Arc;

    use super::{Kind, PRUNE_AT_LEAST, STRATEGY_CANDIDATES_AT_MOST};
    use crate::core::Scheduler;
    use crate::{Strategy, TestScheduler, TestSchedulerConfig};

    /// Tasks spawned one after another, each ending before the next: the picker's table
    /// follows the live tasks, not every task ever seen.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "safe bookkeeping over thousands of steps: minutes under miri"
    )]
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

    /// 600 runnable tasks at once: PCT's pick sees them only once no more than
    /// `STRATEGY_CANDIDATES_AT_MOST` are runnable (before, the uniform walk picks), so it
    /// gives no more than that many a priority, and its linear pick stays bounded.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "safe bookkeeping over hundreds of picks: minutes under miri"
    )]
    fn a_strategy_picks_uniformly_among_more_runnables_than_it_looks_through() {
        let test = Arc::new(TestScheduler::with_config(
            TestSchedulerConfig::new().strategy(Strategy::Pct { depth: 1 }),
        ));
        let scheduler: Arc<dyn Scheduler> = test.clone();
        for _ in 0..600 {
            scheduler.spawn(async {}).detach();
        }
        test.run_until_parked();
        let state = test.lock();
        let picker = state.picker.as_ref().expect("a strategy's picker");
        let Kind::Pct(pct) = &picker.kind else {
            unreachable!("PCT was asked for")
        };
        assert!(
            pct.tracked() <= STRATEGY_CANDIDATES_AT_MOST,
            "PCT ranked {} tasks",
            pct.tracked()
        );
        assert!(pct.tracked() > 0, "PCT picked none");
    }
}
