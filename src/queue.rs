//! `QueueScheduler`: the smallest real scheduler, driven by hand on one thread.

use ::core::fmt;
use ::core::time::Duration;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use std::thread::{self, ThreadId};
use std::time::Instant;

use crate::core::thread_parker;
use crate::core::{Park, Runnable, Scheduler, Unparker};
use crate::sync::Mutex;
use crate::timer_heap::TimerHeap;

/// A single-threaded scheduler: runnables wait in one FIFO queue until the thread that
/// created it (its main thread) runs them, with [`run_all`](QueueScheduler::run_all) or by
/// blocking on a future.
///
/// It is the embeddable loop for programs that already own their main loop (call
/// `run_all` once per iteration: it runs what was queued when called and returns), a
/// reference implementation of [`Scheduler`], and the scheduler this crate's examples use.
/// Timers use real time. Any thread may block on it at once with the others; only the main
/// thread runs tasks while it blocks.
///
/// ```
/// use std::sync::Arc;
/// use unified_scheduler::{QueueScheduler, Scheduler};
///
/// let queue = Arc::new(QueueScheduler::new());
/// let scheduler: Arc<dyn Scheduler> = queue.clone();
/// let task = scheduler.spawn(async { 1 });
/// assert_eq!(queue.run_all(), 1);
/// assert_eq!(scheduler.block(task), 1);
/// ```
pub struct QueueScheduler {
    state: Mutex<State>,
    /// The main thread's unparker: new work wakes the main thread, which runs it.
    main_unparker: Unparker,
    main_thread: ThreadId,
}

struct State {
    ready: VecDeque<Runnable>,
    timers: TimerHeap<Instant>,
    /// Timers too far away for `Instant` to represent: they never fire.
    never: Vec<Runnable>,
}

impl Default for QueueScheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl QueueScheduler {
    /// A scheduler whose main thread is the calling thread.
    ///
    /// ```
    /// use unified_scheduler::QueueScheduler;
    /// assert!(QueueScheduler::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                ready: VecDeque::new(),
                timers: TimerHeap::new(),
                never: Vec::new(),
            }),
            main_unparker: thread_parker::unparker(),
            main_thread: thread::current().id(),
        }
    }

    /// How many runnables are ready to run.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    /// let queue = Arc::new(QueueScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = queue.clone();
    /// scheduler.spawn(async {}).detach();
    /// assert_eq!(queue.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.state.lock().ready.len()
    }

    /// Whether no runnable is ready.
    ///
    /// ```
    /// use unified_scheduler::QueueScheduler;
    /// assert!(QueueScheduler::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs the runnables that were ready when it was called, and the timers due by then;
    /// returns how many ran. Work they spawn or wake waits for the next call, so a task that
    /// keeps yielding cannot keep `run_all` from returning to the host's loop (smol's
    /// `try_tick` discipline).
    ///
    /// # Panics
    ///
    /// If called from a thread other than the one that created the scheduler.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    /// let queue = Arc::new(QueueScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = queue.clone();
    /// let inner = scheduler.clone();
    /// scheduler.spawn(async move { inner.spawn(async {}).detach() }).detach();
    /// assert_eq!(queue.run_all(), 1); // the outer task; it spawned the inner one
    /// assert_eq!(queue.run_all(), 1); // the inner task
    /// assert_eq!(queue.run_all(), 0);
    /// ```
    #[track_caller]
    pub fn run_all(&self) -> usize {
        assert!(
            self.is_main_thread(),
            "QueueScheduler::run_all must be called on the thread that created the scheduler"
        );
        let batch = {
            let mut state = self.state.lock();
            let now = Instant::now();
            while let Some((_, timer)) = state.timers.pop_due(now) {
                state.ready.push_back(timer);
            }
            state.ready.len()
        };
        let mut ran = 0;
        while ran < batch {
            let Some(runnable) = self.state.lock().ready.pop_front() else {
                break; // cleared meanwhile
            };
            runnable.run();
            ran += 1;
        }
        ran
    }

    /// Drops every queued runnable and timer: their tasks are cancelled, and awaiters see
    /// that (`None` from a `FallibleTask`). Returns how many were dropped.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    /// let queue = Arc::new(QueueScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = queue.clone();
    /// let task = scheduler.spawn(async {});
    /// assert_eq!(queue.clear(), 1);
    /// assert!(task.is_finished());
    /// ```
    pub fn clear(&self) -> usize {
        let dropped = {
            let mut state = self.state.lock();
            let mut dropped: Vec<Runnable> = state.ready.drain(..).collect();
            dropped.extend(state.timers.drain());
            dropped.append(&mut state.never);
            dropped
        };
        // Dropped outside the lock: dropping a task may wake others, which schedule.
        let count = dropped.len();
        drop(dropped);
        count
    }

    fn next_timer(&self) -> Option<Instant> {
        self.state.lock().timers.next_deadline()
    }
}

impl Scheduler for QueueScheduler {
    fn schedule(&self, runnable: Runnable) {
        self.state.lock().ready.push_back(runnable);
        self.main_unparker.unpark();
    }

    fn schedule_foreground(&self, runnable: Runnable) {
        self.schedule(runnable);
    }

    fn schedule_after(&self, delay: Duration, runnable: Runnable) {
        let mut state = self.state.lock();
        match Instant::now().checked_add(delay) {
            Some(deadline) => state.timers.push(deadline, runnable),
            None => state.never.push(runnable),
        }
        drop(state);
        self.main_unparker.unpark();
    }

    /// On the main thread, runs what is ready first and returns at once if anything ran;
    /// parks (the calling thread, on its own parker) only when nothing did, waking for the
    /// main thread's next timer.
    fn park(&self, timeout: Option<Duration>) -> Park {
        let on_main = self.is_main_thread();
        if on_main && self.run_all() > 0 {
            return Park::Unparked;
        }
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let next_timer = if on_main { self.next_timer() } else { None };
        match (deadline, next_timer) {
            (None, None) => thread_parker::park(None),
            (Some(a), Some(b)) => thread_parker::park_deadline(a.min(b)),
            (Some(at), None) | (None, Some(at)) => thread_parker::park_deadline(at),
        }
    }

    /// The calling thread's unparker.
    fn unparker(&self) -> Unparker {
        thread_parker::unparker()
    }

    fn is_main_thread(&self) -> bool {
        thread::current().id() == self.main_thread
    }

    fn now(&self) -> crate::core::Instant {
        crate::core::Instant::now()
    }
}

impl fmt::Debug for QueueScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock();
        f.debug_struct("QueueScheduler")
            .field("ready", &state.ready.len())
            .field("timers", &state.timers.len())
            .finish_non_exhaustive()
    }
}
