//! One step of the `TestScheduler`: pick a runnable under the lock, check the step budget
//! and the determinism trace, and run it outside the lock; and the lock itself, which
//! applies the task ends recorded meanwhile.

use ::core::mem::ManuallyDrop;
#[cfg(feature = "std")]
use ::core::sync::atomic::AtomicUsize;
use ::core::sync::atomic::{AtomicBool, Ordering};
use alloc::vec::Vec;

#[cfg(feature = "std")]
use super::report::Blocked;
use super::report::{FINAL_STRETCH, budget_report};
use super::state::{Pick, State};
use super::{LiveTask, TestScheduler};
use crate::core::Runnable;
use crate::sync::MutexGuard;

impl TestScheduler {
    /// The state, with every task end recorded so far applied (see `run_next`). Runnables
    /// of cancelled timers taken off the heap under it are dropped when it is released.
    pub(super) fn lock(&self) -> Locked<'_> {
        self.lock_inlined()
    }

    /// The state without the ends recorded so far applied, for `enqueue`, which reads no
    /// task's end: the next `lock` applies them, and the enqueue skips two loads.
    #[inline(always)]
    pub(super) fn lock_for_enqueue(&self) -> Locked<'_> {
        Locked(ManuallyDrop::new(self.state.lock()))
    }

    /// `lock`, inlined: for the lock of every step (`run_next`), where the call itself cost
    /// 23 instructions a task.
    #[inline(always)]
    pub(super) fn lock_inlined(&self) -> Locked<'_> {
        let mut state = self.state.lock();
        state.apply_log(self.tracker.log());
        Locked(ManuallyDrop::new(state))
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
            // One test on the path: the budget's end lies within the final stretch.
            if steps + FINAL_STRETCH >= state.config.max_steps {
                if steps >= state.config.max_steps {
                    let report = budget_report(&state, task);
                    // Back in the queue: `clear` drops it, outside any lock, when the seed
                    // ends.
                    state.push_ready(runnable);
                    drop(state);
                    panic!("{report}");
                }
                state.final_steps.push(task.id);
            }
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
            state.unlock();
            runnable
        };
        self.progress();
        let background = !runnable.metadata().foreground;
        let _flag = BackgroundFlag::set(&self.running_background, background);
        runnable.run();
        true
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
            (state.in_runner, state.schedule.last())
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
/// after it is released, since dropping a task may wake its awaiter, which schedules. The
/// guard is in a `ManuallyDrop` so that its drop can come first, with no `Option` to check
/// at every access (a dozen a step).
pub(super) struct Locked<'a>(ManuallyDrop<MutexGuard<'a, State>>);

impl ::core::ops::Deref for Locked<'_> {
    type Target = State;
    #[inline(always)]
    fn deref(&self) -> &State {
        &self.0
    }
}

impl ::core::ops::DerefMut for Locked<'_> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut State {
        &mut self.0
    }
}

impl Drop for Locked<'_> {
    #[inline]
    fn drop(&mut self) {
        self.unlock_in_place();
    }
}

impl Locked<'_> {
    /// Releases the lock now: the same as dropping it, but inlined into the caller, for
    /// the two locks of every step (the drop glue is a call of its own, 28 instructions).
    #[inline(always)]
    pub(super) fn unlock(self) {
        let mut this = ManuallyDrop::new(self);
        this.unlock_in_place();
    }

    /// Drops the guard, then the discarded runnables. Called once: by `drop`, or by
    /// `unlock`, which does not drop `self` after.
    #[inline(always)]
    fn unlock_in_place(&mut self) {
        let discarded = match self.0.discarded.is_empty() {
            true => None,
            false => Some(take_discarded(&mut self.0)),
        };
        // SAFETY: the guard is dropped once, here, and never used after: the callers
        // (`drop` and `unlock`) run this once and never touch `self.0` again.
        unsafe { ManuallyDrop::drop(&mut self.0) };
        drop(discarded);
    }
}

#[cold]
fn take_discarded(state: &mut State) -> Vec<Runnable> {
    ::core::mem::take(&mut state.discarded)
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
