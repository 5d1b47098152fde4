//! One step of the `TestScheduler`: pick a runnable under the lock, check the step budget
//! and the determinism trace, run it outside the lock, and collect how its task ended; and
//! the lock itself, which applies the ends recorded meanwhile.

#[cfg(feature = "std")]
use ::core::sync::atomic::AtomicUsize;
use ::core::sync::atomic::{AtomicBool, Ordering};

#[cfg(feature = "std")]
use super::report::Blocked;
use super::report::{FINAL_STRETCH, budget_report};
use super::state::{Pick, State};
use super::{LiveTask, TestScheduler};
use crate::core::Runnable;
#[cfg(feature = "std")]
use crate::core::TaskId;
#[cfg(feature = "std")]
use crate::core::tracking::TaskEnd;
use crate::sync::MutexGuard;

impl TestScheduler {
    /// The state, with every task end recorded so far applied (see `run_next`). Runnables
    /// of cancelled timers taken off the heap under it are dropped when it is released.
    pub(super) fn lock(&self) -> Locked<'_> {
        self.lock_inlined()
    }

    /// `lock`, inlined: for the two calls of every step (`run_next`, and `enqueue` on each
    /// wake), where the call itself cost 23 instructions a task.
    #[inline(always)]
    pub(super) fn lock_inlined(&self) -> Locked<'_> {
        let mut state = self.state.lock();
        state.apply_log(self.tracker.log());
        #[cfg(feature = "std")]
        if self.pending_end.load(Ordering::Relaxed) != 0 {
            let (id, end) = decode_end(self.pending_end.swap(0, Ordering::Relaxed));
            state.task_ended(id, end);
        }
        Locked(Some(state))
    }

    /// Picks and runs the next runnable; see `tick`.
    pub(super) fn run_next(&self, from: Pick) -> bool {
        let runnable = {
            let mut state = self.lock_inlined();
            #[cfg(feature = "std")]
            if let Some(failure) = self.foreign.take() {
                drop(state);
                panic!("{failure}");
            }
            // A non-default strategy picks in `picker.rs`: the one branch it adds here.
            let picked = if state.picker.is_none() {
                state.pick(from)
            } else {
                state.pick_by_strategy(from)
            };
            let Some(runnable) = picked else {
                return false;
            };
            let task = LiveTask::from(runnable.metadata());
            let steps = state.trace.steps();
            if steps >= state.config.max_steps {
                let report = budget_report(&state, task);
                // Back in the queue: `clear` drops it, outside any lock, when the seed ends.
                state.push_ready(runnable);
                drop(state);
                panic!("{report}");
            }
            if steps + FINAL_STRETCH >= state.config.max_steps {
                state.final_steps.push(task.id);
            }
            state.last_run = Some(task);
            let at = state.elapsed;
            state.schedule.note(task, at);
            #[cfg(feature = "tracing")]
            tracing::trace!(
                target: "unified_scheduler::test_scheduler",
                seed = state.config.seed,
                step = state.trace.steps(),
                task = task.id.as_u64(),
                label = task.label.map(|label| label.as_u64()),
                spawned_at = %task.spawned_at,
                at = ?at,
                "step"
            );
            if let Some(divergence) = state.trace.step(task) {
                let seed = state.config.seed;
                state.push_ready(runnable);
                drop(state);
                panic!(
                    "non-deterministic schedule for seed {seed}: {divergence}. Something \
                     outside the seed decides the order: a HashMap's iteration order, real \
                     time, a real thread waking a task, or state left over from another run"
                );
            }
            runnable
        };
        self.progress();
        let background = !runnable.metadata().foreground;
        let _flag = BackgroundFlag::set(&self.running_background, background);
        self.run_runnable(runnable);
        true
    }

    /// Runs one runnable. With `std`, the task's end (if it ends now) comes back directly and
    /// is applied at the next lock, sparing a lock per task. A nested run (a task that
    /// blocks, or ticks, inside its own poll) may have left an end there: the later store
    /// takes the slot and applies the earlier end itself, so no end is ever lost.
    #[cfg(feature = "std")]
    fn run_runnable(&self, runnable: Runnable) {
        if let Some((id, end)) = crate::core::tracking::run_collecting(self.tracker.log(), runnable)
        {
            let earlier = self
                .pending_end
                .swap(encode_end(id, end), Ordering::Relaxed);
            if earlier != 0 {
                let (id, end) = decode_end(earlier);
                self.state.lock().task_ended(id, end);
            }
        }
    }

    #[cfg(not(feature = "std"))]
    fn run_runnable(&self, runnable: Runnable) {
        runnable.run();
    }

    /// Notes progress for the runner's watchdog: only a change matters, so a plain load and
    /// store (no read-modify-write on the hot path) will do, even if two threads tick.
    pub(super) fn progress(&self) {
        let seen = self.progress.load(Ordering::Relaxed);
        self.progress.store(seen.wrapping_add(1), Ordering::Relaxed);
    }

    /// A `block` begins: it describes itself for the stuck report until dropped.
    #[cfg(feature = "std")]
    pub(super) fn enter_block(&self) -> Blocked<'_> {
        let (in_runner, running) = {
            let state = self.lock();
            (state.in_runner, state.last_run)
        };
        Blocked::enter(&self.block_depth, in_runner, running)
    }

    /// Runs `park` with the calling thread counted as parked for a real wake.
    #[cfg(feature = "std")]
    pub(super) fn parked_for_real<R>(&self, park: impl FnOnce() -> R) -> R {
        struct Parked<'a>(&'a AtomicUsize);
        impl Drop for Parked<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        self.parked_for_real.fetch_add(1, Ordering::Relaxed);
        let _parked = Parked(&self.parked_for_real);
        park()
    }
}

/// The locked state; runnables discarded under the lock (cancelled timers) are dropped
/// after it is released, since dropping a task may wake its awaiter, which schedules.
pub(super) struct Locked<'a>(Option<MutexGuard<'a, State>>);

impl ::core::ops::Deref for Locked<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        self.0.as_ref().expect("held until dropped")
    }
}

impl ::core::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.0.as_mut().expect("held until dropped")
    }
}

impl Drop for Locked<'_> {
    #[inline]
    fn drop(&mut self) {
        if self
            .0
            .as_ref()
            .is_some_and(|state| !state.discarded.is_empty())
        {
            self.drop_discarded();
        }
    }
}

impl Locked<'_> {
    #[cold]
    fn drop_discarded(&mut self) {
        if let Some(mut state) = self.0.take() {
            let discarded = ::core::mem::take(&mut state.discarded);
            drop(state);
            drop(discarded);
        }
    }
}

/// A task end packed in a `u64` (never 0): the id, shifted, and the kind in the low bits.
#[cfg(feature = "std")]
fn encode_end(id: TaskId, end: TaskEnd) -> u64 {
    let kind = match end {
        TaskEnd::Completed => 1,
        TaskEnd::Cancelled => 2,
        TaskEnd::Panicked => 3,
    };
    (id.as_u64() << 2) | kind
}

#[cfg(feature = "std")]
fn decode_end(packed: u64) -> (TaskId, TaskEnd) {
    let end = match packed & 3 {
        1 => TaskEnd::Completed,
        2 => TaskEnd::Cancelled,
        _ => TaskEnd::Panicked,
    };
    let id = TaskId::from_raw(packed >> 2).expect("a packed end holds a task id");
    (id, end)
}

/// Marks whether a background runnable is running, for `is_main_thread`, and puts back
/// what was there before when dropped (even on unwinding): a task that ticks the scheduler
/// itself stays a background task after the nested run.
struct BackgroundFlag<'a> {
    flag: &'a AtomicBool,
    before: bool,
}

impl<'a> BackgroundFlag<'a> {
    fn set(flag: &'a AtomicBool, background: bool) -> Self {
        // Only the ticking thread writes it; others only read it.
        let before = flag.load(Ordering::Relaxed);
        flag.store(background, Ordering::Relaxed);
        Self { flag, before }
    }
}

impl Drop for BackgroundFlag<'_> {
    fn drop(&mut self) {
        self.flag.store(self.before, Ordering::Relaxed);
    }
}
