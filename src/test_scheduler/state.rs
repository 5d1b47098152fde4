//! What the `TestScheduler` keeps behind its lock: the queues, the virtual clock, the task
//! table, and the one policy that picks the next runnable.

use ::core::time::Duration;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use super::config::TestSchedulerConfig;
use super::rng::SeededRng;
use super::schedule_log::ScheduleLog;
use super::tasks::{LiveTask, TaskTable};
use super::trace::Trace;
use crate::core::tracking::{TaskEnd, TaskEvent};
use crate::core::{Runnable, TaskId, TaskLabel};
use crate::timer_heap::TimerHeap;

pub(super) struct State {
    pub(super) config: TestSchedulerConfig,
    pub(super) rng: SeededRng,
    /// Virtual time since the scheduler was made.
    pub(super) elapsed: Duration,
    /// Background runnables; with `randomize_order` off, every runnable, in FIFO order.
    pub(super) ready: VecDeque<Runnable>,
    /// Main-thread runnables, FIFO among themselves (used with `randomize_order` on).
    pub(super) foreground: VecDeque<Runnable>,
    /// Runnables whose label was deprioritized when they were scheduled.
    pub(super) deprioritized: VecDeque<Runnable>,
    pub(super) deprioritized_labels: Vec<TaskLabel>,
    pub(super) timers: TimerHeap<Duration>,
    pub(super) tasks: TaskTable,
    pub(super) trace: Trace,
    /// The steps as the user reads them (the last few, or all), for reports.
    pub(super) schedule: ScheduleLog,
    pub(super) waiting_hint: Option<String>,
    /// The task `run_next` picked last: the one running, or the last one that ran.
    pub(super) last_run: Option<LiveTask>,
    /// The tasks run in the last stretch before the step budget ran out, for its report.
    pub(super) final_steps: Vec<TaskId>,
    /// Whether a runner drives this scheduler (its outermost `block` is the test body).
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // the runners need `std`
    pub(super) in_runner: bool,
    /// Runnables of cancelled timers taken off the heap, to drop once the lock is released
    /// (dropping a task may wake its awaiter, which schedules).
    pub(super) discarded: Vec<Runnable>,
    /// Scratch space for draining the end log.
    events: Vec<TaskEvent>,
    /// Tasks given up on since the timer heap was last swept of them.
    gave_up_since_sweep: usize,
    /// Threads parked in `block` with parking allowed, woken by every schedule.
    #[cfg(feature = "std")]
    pub(super) parked: Vec<(std::thread::ThreadId, parking::Unparker)>,
}

impl State {
    pub(super) fn new(config: TestSchedulerConfig) -> Self {
        let mut schedule = ScheduleLog::new();
        if config.record_schedule {
            schedule.keep_all();
        }
        Self {
            rng: SeededRng::new(config.seed),
            config,
            elapsed: Duration::ZERO,
            ready: VecDeque::new(),
            foreground: VecDeque::new(),
            deprioritized: VecDeque::new(),
            deprioritized_labels: Vec::new(),
            timers: TimerHeap::new(),
            tasks: TaskTable::new(),
            trace: Trace::new(),
            schedule,
            waiting_hint: None,
            last_run: None,
            final_steps: Vec::new(),
            in_runner: false,
            discarded: Vec::new(),
            events: Vec::new(),
            gave_up_since_sweep: 0,
            #[cfg(feature = "std")]
            parked: Vec::new(),
        }
    }

    /// Whether a runnable waits in a queue (due timers aside).
    pub(super) fn has_runnable(&self) -> bool {
        !self.ready.is_empty() || !self.foreground.is_empty() || !self.deprioritized.is_empty()
    }

    /// The next runnable, by the rules on `TestScheduler::tick`.
    pub(super) fn pick(&mut self, from: Pick) -> Option<Runnable> {
        let background_only = from == Pick::BackgroundOnly;
        self.discard_cancelled_timers();
        if let Some((_, timer)) = self.timers.pop_due(self.elapsed) {
            return Some(timer);
        }
        if !self.config.randomize_order {
            let index = if background_only {
                self.ready.iter().position(|r| !r.metadata().foreground)
            } else if self.ready.is_empty() {
                None
            } else {
                Some(0)
            };
            return match index {
                Some(index) => self.ready.remove(index),
                None => self.deprioritized.pop_front(),
            };
        }
        let foreground = usize::from(!background_only && !self.foreground.is_empty());
        let candidates = self.ready.len() + foreground;
        if candidates > 0 {
            let choice = self.rng.below(candidates);
            return if choice < self.ready.len() {
                self.ready.swap_remove_back(choice)
            } else {
                self.foreground.pop_front()
            };
        }
        if self.deprioritized.is_empty() {
            return None;
        }
        let choice = self.rng.below(self.deprioritized.len());
        self.deprioritized.swap_remove_back(choice)
    }

    /// The deadline of the next timer that can still fire: a timer whose `Task` was dropped
    /// or cancelled never moves the clock.
    pub(super) fn next_deadline(&mut self) -> Option<Duration> {
        self.discard_cancelled_timers();
        self.timers.next_deadline()
    }

    /// Takes the timers at the head of the heap whose task gave up off it, for dropping
    /// after the lock is released.
    fn discard_cancelled_timers(&mut self) {
        while let Some(runnable) = self.timers.peek() {
            if !self.tasks.gave_up(runnable.metadata().id) {
                break;
            }
            let (_, runnable) = self.timers.pop().expect("peeked above");
            self.discarded.push(runnable);
        }
    }

    pub(super) fn push_ready(&mut self, runnable: Runnable) {
        if runnable.metadata().foreground && self.config.randomize_order {
            self.foreground.push_back(runnable);
        } else {
            self.ready.push_back(runnable);
        }
    }

    /// Applies what the end log recorded, oldest first.
    #[inline]
    pub(super) fn apply_log(&mut self, log: &crate::core::tracking::EndLog) {
        if log.has_events() {
            self.apply_events(log);
        }
    }

    #[inline(never)]
    fn apply_events(&mut self, log: &crate::core::tracking::EndLog) {
        log.drain_into(&mut self.events);
        let mut events = ::core::mem::take(&mut self.events);
        for event in events.drain(..) {
            match event {
                TaskEvent::Ended(id, end) => self.task_ended(id, end),
                TaskEvent::GaveUp(id, how) => {
                    if self.tasks.give_up(id, how) {
                        self.gave_up_since_sweep += 1;
                    }
                }
            }
        }
        self.events = events; // keep the buffer
        // Cancelled timers far in the future would wait in the heap until the clock reaches
        // them; sweep them out once there are about as many as there are timers.
        if self.gave_up_since_sweep > self.timers.len().max(64) {
            self.gave_up_since_sweep = 0;
            let tasks = &self.tasks;
            let cancelled = self.timers.extract(|r| tasks.gave_up(r.metadata().id));
            self.discarded.extend(cancelled);
        }
    }

    pub(super) fn task_ended(&mut self, id: TaskId, end: TaskEnd) {
        self.tasks.end(id, end);
    }

    /// Every queued runnable and timer, for `clear`.
    pub(super) fn take_all(&mut self) -> Vec<Runnable> {
        let mut all: Vec<Runnable> = self.ready.drain(..).collect();
        all.extend(self.foreground.drain(..));
        all.extend(self.deprioritized.drain(..));
        all.extend(self.timers.drain());
        all.append(&mut self.discarded);
        all
    }
}

/// Which runnables a tick may pick.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(super) enum Pick {
    /// Any runnable: background, foreground or (when nothing else can run) deprioritized.
    Any,
    /// Background runnables only (`tick_background_only`).
    BackgroundOnly,
}
