//! Blocking under virtual time: run tasks, jump the clock to the next timer, and fail
//! loudly (listing every live task) instead of hanging when nothing can progress.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::Waker;
use core::time::Duration;

use super::{State, TestScheduler};
use crate::{Runnable, Unparker};

/// A wake target: a flag for the blocking loop, plus (with `std`) a real unpark in case the
/// loop is parked waiting for another thread.
pub(super) struct WakeFlag {
    woken: AtomicBool,
    #[cfg(feature = "std")]
    unparker: parking::Unparker,
}

impl WakeFlag {
    pub(super) fn new(owner: &Owner) -> Self {
        #[cfg(not(feature = "std"))]
        let _ = owner;
        Self {
            woken: AtomicBool::new(false),
            #[cfg(feature = "std")]
            unparker: owner.unparker.clone(),
        }
    }

    pub(super) fn unparker(self: &Arc<Self>) -> Unparker {
        Unparker::from_waker(Waker::from(self.clone()))
    }

    fn take(&self) -> bool {
        self.woken.swap(false, Ordering::AcqRel)
    }
}

impl alloc::task::Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        #[cfg(feature = "std")]
        self.unparker.unpark();
    }
}

/// The thread a `TestScheduler` belongs to (the one that made it), and its clock's epoch.
#[cfg(feature = "std")]
pub(super) struct Owner {
    thread: std::thread::ThreadId,
    name: String,
    epoch: std::time::Instant,
    parker: crate::sync::Mutex<parking::Parker>,
    unparker: parking::Unparker,
}

/// Without `std` there are no threads to tell apart.
#[cfg(not(feature = "std"))]
pub(super) struct Owner;

#[cfg(feature = "std")]
impl Owner {
    pub(super) fn current() -> Self {
        let thread = std::thread::current();
        let (parker, unparker) = parking::pair();
        Self {
            thread: thread.id(),
            name: String::from(thread.name().unwrap_or("<unnamed>")),
            epoch: std::time::Instant::now(),
            parker: crate::sync::Mutex::new(parker),
            unparker,
        }
    }

    pub(super) fn is_current(&self) -> bool {
        crate::core::current_thread_id() == self.thread
    }

    /// The virtual instant `elapsed` after the epoch, saturating far in the future.
    pub(super) fn epoch_plus(&self, elapsed: Duration) -> std::time::Instant {
        self.epoch
            .checked_add(elapsed)
            .unwrap_or_else(|| far_future(self.epoch))
    }
}

#[cfg(not(feature = "std"))]
impl Owner {
    pub(super) fn current() -> Self {
        Self
    }
}

/// The latest instant we can represent past `from` (about 30 years on: far enough for any
/// test, near enough for every platform's `Instant`).
#[cfg(feature = "std")]
fn far_future(from: std::time::Instant) -> std::time::Instant {
    from.checked_add(Duration::from_secs(60 * 60 * 24 * 365 * 30))
        .unwrap_or(from)
}

impl TestScheduler {
    /// Records a schedule from a foreign OS thread while parking is forbidden: the test's
    /// order then depends on the OS, not the seed. Raised on the test's thread at the next
    /// tick, since panicking here would hit the foreign thread instead.
    pub(super) fn check_thread(&self, state: &mut State, runnable: &Runnable) {
        #[cfg(feature = "std")]
        if !state.config.allow_parking
            && state.pending_failure.is_none()
            && !self.owner.is_current()
        {
            let here = std::thread::current();
            state.pending_failure = Some(format!(
                "non-determinism (seed {}): {} was woken from thread {:?} while the test runs \
                 on thread {:?}; a wake from another OS thread makes the order depend on the \
                 OS, not the seed. If the test really waits for a thread or real I/O, call \
                 `allow_parking()` on the TestScheduler",
                state.config.seed,
                runnable.metadata(),
                here.name().unwrap_or("<unnamed>"),
                self.owner.name,
            ));
        }
        #[cfg(not(feature = "std"))]
        let _ = (state, runnable);
    }

    /// Ends a real park of the test's thread, if parking is allowed and one may be waiting.
    pub(super) fn wake_parked(&self, state: &State) {
        #[cfg(feature = "std")]
        if state.config.allow_parking {
            self.owner.unparker.unpark();
        }
        #[cfg(not(feature = "std"))]
        let _ = state;
    }

    /// Runs tasks until `woken` is set (`true`), or until the virtual `deadline` passes or
    /// the tick `budget` runs out (`false`). When nothing can run, the clock jumps to the
    /// next timer; when there is no timer either, it parks for a real wake if allowed, and
    /// otherwise panics with everything known about the stuck test.
    pub(super) fn run_until_woken(
        &self,
        woken: &WakeFlag,
        deadline: Option<Duration>,
        budget: &mut Option<usize>,
    ) -> bool {
        loop {
            if woken.take() {
                return true;
            }
            if *budget == Some(0) {
                return false;
            }
            if self.tick() {
                if let Some(left) = budget {
                    *left -= 1;
                }
                continue;
            }
            let mut state = self.lock();
            if let Some(timer) = state.timers.next_deadline() {
                if deadline.is_none_or(|deadline| timer <= deadline) {
                    state.elapsed = state.elapsed.max(timer);
                    continue;
                }
            }
            #[cfg(feature = "std")]
            if state.config.allow_parking {
                // Wait for a real wake, for as long (in real time) as the timeout has left.
                let left = deadline.map(|deadline| deadline.saturating_sub(state.elapsed));
                drop(state);
                let parker = self.owner.parker.lock();
                let unparked = match left {
                    _ if woken.woken.load(Ordering::Acquire) => true,
                    Some(left) => parker.park_timeout(left),
                    None => {
                        parker.park();
                        true
                    }
                };
                drop(parker);
                if !unparked {
                    let mut state = self.lock();
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
            let report = stuck_report(&state);
            drop(state);
            panic!("{report}");
        }
    }

    /// `Scheduler::block_on` under virtual time; see `run_until_woken`.
    #[cfg(feature = "std")]
    pub(super) fn block_on_virtual(
        &self,
        mut future: core::pin::Pin<&mut dyn core::future::Future<Output = ()>>,
        timeout: Option<Duration>,
    ) -> bool {
        let woken = Arc::new(WakeFlag::new(&self.owner));
        let waker = Waker::from(woken.clone());
        let mut cx = core::task::Context::from_waker(&waker);
        let (mut budget, deadline) = match timeout {
            None => (None, None),
            Some(timeout) => {
                let mut state = self.lock();
                let (start, end) = state.config.block_tick_range.clone().into_inner();
                let budget = state.rng.in_range(start, end);
                (Some(budget), Some(state.elapsed.saturating_add(timeout)))
            }
        };
        loop {
            if future.as_mut().poll(&mut cx).is_ready() {
                return true;
            }
            if !self.run_until_woken(&woken, deadline, &mut budget) {
                return false;
            }
        }
    }
}

/// Why a blocked test cannot go on: the seed, every live task, the hint and any panics.
fn stuck_report(state: &State) -> String {
    let mut report = format!(
        "TestScheduler (seed {}): the test is blocked and nothing can make progress: no task \
         can run and no timer is pending.",
        state.config.seed
    );
    let live: alloc::vec::Vec<_> = state.tasks.live().collect();
    let _ = write!(report, "\nlive tasks ({}):", live.len());
    for task in &live {
        let _ = write!(report, "\n  {task}");
    }
    if let Some(hint) = &state.waiting_hint {
        let _ = write!(report, "\nwaiting for: {hint}");
    }
    for task in &state.panicked {
        let _ = write!(
            report,
            "\nearlier, {task} panicked (its message is printed above)"
        );
    }
    report.push_str(
        "\nIf the test waits for something outside the scheduler (a real thread, real I/O), \
         call `allow_parking()` on the TestScheduler.",
    );
    report
}
