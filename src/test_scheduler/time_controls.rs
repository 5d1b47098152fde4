//! Zed's clock and queue controls on the `TestScheduler`: the virtual wall clock, jumping
//! to the next timer, running until nothing is left, what is pending, and the
//! `block_with_timeout` tick budget at run time.

use ::core::ops::RangeInclusive;
#[cfg(feature = "std")]
use ::core::time::Duration;

use super::TestScheduler;

/// The virtual wall clock's start: 2026-01-01T00:00:00Z, as seconds since the Unix epoch.
#[cfg(feature = "std")]
const UTC_START_SECS: u64 = 1_767_225_600;

/// What waits in a `TestScheduler`, by kind, from
/// [`pending_task_counts`](TestScheduler::pending_task_counts).
///
/// ```
/// use unified_scheduler::{PendingTaskCounts, TestScheduler};
///
/// assert_eq!(TestScheduler::new().pending_task_counts(), PendingTaskCounts::default());
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingTaskCounts {
    /// Background runnables ready to run.
    pub background: usize,
    /// Main-thread runnables ready to run.
    pub foreground: usize,
    /// Runnables of deprioritized labels, which run only when nothing else can.
    pub deprioritized: usize,
    /// Timers that have not fired (cancelled ones included until they are swept).
    pub timers: usize,
}

impl TestScheduler {
    /// The virtual wall-clock time, `SystemTime`-like: 2026-01-01T00:00:00Z when the
    /// scheduler is made, moving with its virtual clock, so code that stamps times is
    /// deterministic too. `dyn Scheduler::utc_now` answers this under the `TestScheduler`
    /// and the real time elsewhere.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use unified_scheduler::TestScheduler;
    ///
    /// let test = TestScheduler::new();
    /// let start = test.utc_now();
    /// assert_eq!(start.duration_since(UNIX_EPOCH).unwrap().as_secs(), 1_767_225_600);
    /// test.advance_clock(Duration::from_secs(90));
    /// assert_eq!(test.utc_now().duration_since(start).unwrap(), Duration::from_secs(90));
    /// ```
    #[cfg(feature = "std")]
    pub fn utc_now(&self) -> std::time::SystemTime {
        let start = std::time::UNIX_EPOCH + Duration::from_secs(UTC_START_SECS);
        start + self.lock().elapsed
    }

    /// Moves the clock to the next timer's deadline and runs what is then ready; `false`
    /// (and nothing moves) when no timer is pending.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::prelude::*;
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let start = test.now();
    /// let timer = test.timer(Duration::from_secs(7));
    /// assert!(test.advance_clock_to_next_timer());
    /// assert!(timer.is_finished());
    /// assert_eq!(test.now() - start, Duration::from_secs(7));
    /// assert!(!test.advance_clock_to_next_timer()); // none left
    /// ```
    pub fn advance_clock_to_next_timer(&self) -> bool {
        let next = {
            let mut state = self.lock();
            let next = state.next_deadline();
            if let Some(deadline) = next {
                state.elapsed = state.elapsed.max(deadline);
            }
            next
        };
        self.run_until_parked();
        next.is_some()
    }

    /// Runs until nothing is left: what is ready runs, then the clock jumps to the next
    /// timer, until no runnable and no timer remain (Zed's `run_with_clock_advancement`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::prelude::*;
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// let start = test.now();
    /// let inner = test.clone();
    /// let task = test.spawn(async move {
    ///     for _ in 0..3 {
    ///         inner.timer(Duration::from_secs(60)).await;
    ///     }
    /// });
    /// test.run_with_clock_advancement();
    /// assert!(task.is_finished());
    /// assert_eq!(test.now() - start, Duration::from_secs(180));
    /// assert!(!test.has_pending_tasks());
    /// ```
    pub fn run_with_clock_advancement(&self) {
        self.run_until_parked();
        while self.advance_clock_to_next_timer() {}
    }

    /// Whether anything waits: a runnable ready to run or a timer not yet fired.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::prelude::*;
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// assert!(!test.has_pending_tasks());
    /// test.spawn(async {}).detach();
    /// assert!(test.has_pending_tasks());
    /// test.run_until_parked();
    /// assert!(!test.has_pending_tasks());
    /// ```
    pub fn has_pending_tasks(&self) -> bool {
        let mut state = self.lock();
        state.has_runnable() || state.next_deadline().is_some()
    }

    /// What waits, by kind: ready background, foreground and deprioritized runnables, and
    /// pending timers.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::prelude::*;
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// test.spawn(async {}).detach();
    /// test.spawn_foreground(async {}).detach();
    /// let _timer = test.timer(Duration::from_secs(1));
    /// let counts = test.pending_task_counts();
    /// assert_eq!((counts.background, counts.foreground, counts.timers), (1, 1, 1));
    /// ```
    pub fn pending_task_counts(&self) -> PendingTaskCounts {
        let state = self.lock();
        // Foreground runnables wait among the others only in FIFO order (`randomize_order`
        // off); otherwise in their sessions.
        let foreground_in_order = state
            .in_order
            .iter()
            .filter(|runnable| runnable.metadata().foreground)
            .count();
        let prioritized: usize = state.prioritized.iter().map(|queue| queue.len()).sum();
        let in_sessions: usize = state.sessions.iter().map(|queue| queue.len()).sum();
        PendingTaskCounts {
            background: state.ready.len() + state.in_order.len() - foreground_in_order
                + prioritized,
            foreground: in_sessions + foreground_in_order,
            deprioritized: state.deprioritized.len(),
            timers: state.timers.len(),
        }
    }

    /// Sets, from now on, how many ticks a `block_with_timeout` may run before it gives up
    /// (drawn per call from `range`): `0..=0` makes every timeout fire before any other
    /// work runs, for a test of the timed-out path.
    ///
    /// # Panics
    ///
    /// If `range` is empty (`5..=1`).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::prelude::*;
    ///
    /// let test = Arc::new(TestScheduler::new());
    /// test.set_timeout_ticks(0..=0);
    /// let work = test.spawn(async {});
    /// assert!(test.block_with_timeout(Duration::from_secs(1), work).is_err());
    /// ```
    #[track_caller]
    pub fn set_timeout_ticks(&self, range: RangeInclusive<usize>) {
        assert!(
            range.start() <= range.end(),
            "set_timeout_ticks({range:?}): the range is empty; give one like 0..=1000"
        );
        self.lock().config.block_tick_range = range;
    }
}
