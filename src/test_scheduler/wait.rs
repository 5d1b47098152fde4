//! Waiting under virtual time: run tasks until a flag is set, jump the clock to the next
//! timer, and fail loudly (saying what every task is doing) instead of hanging when nothing
//! can progress. `Scheduler::park` waits here; so does `block` (see `drive`).

use ::core::sync::atomic::{AtomicBool, Ordering};
use ::core::task::Waker;
use ::core::time::Duration;
use alloc::sync::Arc;

use super::TestScheduler;
use super::report::Blocked;
use crate::core::Unparker;

/// What a blocking loop waits for: a flag set by the blocked future's waker (or the
/// unparker), plus, with `std`, a real unpark of the blocking thread in case it is parked
/// waiting for another thread.
pub(super) struct WakeFlag {
    woken: AtomicBool,
    #[cfg(feature = "std")]
    thread: parking::Unparker,
    /// Reports uses of the waker off the blocking thread as non-determinism.
    #[cfg(feature = "std")]
    pub(super) watch: Option<super::drive::Watch>,
}

impl WakeFlag {
    /// A flag for a loop on the calling thread.
    pub(super) fn new() -> Self {
        Self {
            woken: AtomicBool::new(false),
            #[cfg(feature = "std")]
            thread: crate::core::thread_parker::raw_unparker(),
            #[cfg(feature = "std")]
            watch: None,
        }
    }

    pub(super) fn unparker(self: &Arc<Self>) -> Unparker {
        Unparker::from_waker(waker(self.clone()))
    }

    fn set(&self) {
        self.woken.store(true, Ordering::Release);
        #[cfg(feature = "std")]
        self.thread.unpark();
    }

    pub(super) fn take(&self) -> bool {
        self.woken.swap(false, Ordering::AcqRel)
    }

    #[cfg(feature = "std")]
    pub(super) fn is_set(&self) -> bool {
        self.woken.load(Ordering::Acquire)
    }
}

/// The waker of a flag. With `std` a hand-written vtable, so that dropping a waker (not only
/// waking it) can be checked against the blocking thread too.
#[cfg(feature = "std")]
pub(super) fn waker(flag: Arc<WakeFlag>) -> Waker {
    use ::core::task::{RawWaker, RawWakerVTable};

    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop);

    // Every `data` below is a pointer from `Arc::into_raw` of a `WakeFlag`, and every waker
    // holding it owns one strong count: `clone` adds one, `wake` and `drop` give theirs back.
    unsafe fn clone(data: *const ()) -> RawWaker {
        // SAFETY: the waker being cloned owns a count, so the allocation is alive.
        unsafe { Arc::increment_strong_count(data.cast::<WakeFlag>()) };
        RawWaker::new(data, &VTABLE)
    }
    unsafe fn wake(data: *const ()) {
        // SAFETY: takes back the count this waker owned; it is not used again.
        let flag = unsafe { Arc::from_raw(data.cast::<WakeFlag>()) };
        flag.report_use("woken");
        flag.set();
    }
    unsafe fn wake_by_ref(data: *const ()) {
        // SAFETY: the waker owns a count for as long as this borrow of it lasts.
        let flag = unsafe { &*data.cast::<WakeFlag>() };
        flag.report_use("woken");
        flag.set();
    }
    unsafe fn drop(data: *const ()) {
        // SAFETY: takes back the count this waker owned; it is not used again.
        let flag = unsafe { Arc::from_raw(data.cast::<WakeFlag>()) };
        flag.report_use("dropped");
    }

    let raw = RawWaker::new(Arc::into_raw(flag).cast(), &VTABLE);
    // SAFETY: the vtable's functions follow the `RawWaker` contract as argued above, and
    // `WakeFlag` is `Send + Sync`, so the waker may be used from any thread.
    unsafe { Waker::from_raw(raw) }
}

#[cfg(not(feature = "std"))]
pub(super) fn waker(flag: Arc<WakeFlag>) -> Waker {
    Waker::from(flag)
}

#[cfg(not(feature = "std"))]
impl alloc::task::Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.set();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.set();
    }
}

/// A tick budget: `None` is unlimited.
pub(super) type Budget = Option<usize>;

/// Takes one from the budget; `false` if it was spent already.
pub(super) fn spend(budget: &mut Budget) -> bool {
    match budget {
        Some(0) => false,
        Some(left) => {
            *left -= 1;
            true
        }
        None => true,
    }
}

impl TestScheduler {
    /// Runs tasks until `woken` is set (`true`), or until the virtual `deadline` passes or
    /// the tick `budget` runs out (`false`). When nothing can run, the clock jumps to the
    /// next timer; when there is no timer either, it parks for a real wake if allowed, and
    /// otherwise panics with everything known about the stuck test.
    pub(super) fn run_until_woken(
        &self,
        woken: &WakeFlag,
        deadline: Option<Duration>,
        budget: &mut Budget,
        blocked: &Blocked<'_>,
    ) -> bool {
        loop {
            if woken.take() {
                return true;
            }
            if *budget == Some(0) {
                return false;
            }
            if self.tick() {
                spend(budget);
                continue;
            }
            let mut state = self.lock();
            if state.has_runnable() {
                // Scheduled (from another thread) between the tick and this lock: its
                // unpark went to the threads parked then, not to this one, so run it now.
                continue;
            }
            if let Some(timer) = state.next_deadline() {
                if deadline.is_none_or(|deadline| timer <= deadline) {
                    state.elapsed = state.elapsed.max(timer);
                    continue;
                }
            }
            #[cfg(feature = "std")]
            if state.config.allow_parking {
                // Wait for a real wake, for as long (in real time) as the timeout has left,
                // but no longer than the park limit: a wake that never comes fails the seed.
                let left = deadline.map(|deadline| deadline.saturating_sub(state.elapsed));
                let limit = state.config.park_time_limit;
                let limited = limit.is_some_and(|limit| left.is_none_or(|left| limit < left));
                let wait = if limited { limit } else { left };
                let me = crate::core::thread_bound::current_thread_id();
                state
                    .parked
                    .push((me, crate::core::thread_parker::raw_unparker()));
                drop(state);
                let unparked = woken.is_set()
                    || self.parked_for_real(|| crate::core::thread_parker::park(wait))
                        == crate::core::Park::Unparked;
                let mut state = self.lock();
                state.parked.retain(|(thread, _)| *thread != me);
                if !unparked && !woken.is_set() {
                    if limited && !state.has_runnable() {
                        let report = self.stuck_report(&state, blocked);
                        drop(state);
                        panic!(
                            "{report}\nParking is allowed, but no wake came from another thread \
                             within {:?} of real time (`park_time_limit`): raise the limit if \
                             the real work needs longer.",
                            limit.unwrap_or_default()
                        );
                    }
                    if let Some(deadline) = deadline {
                        state.elapsed = state.elapsed.max(deadline);
                    }
                    return false;
                }
                continue;
            }
            if let Some(deadline) = deadline {
                state.elapsed = state.elapsed.max(deadline);
                return false;
            }
            let report = self.stuck_report(&state, blocked);
            drop(state);
            panic!("{report}");
        }
    }
}
