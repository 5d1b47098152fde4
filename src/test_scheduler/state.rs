//! What the `TestScheduler` keeps behind its lock: the queues, the virtual clock, the task
//! table, and the one policy that picks the next runnable.

use ::core::time::Duration;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use super::config::TestSchedulerConfig;
use super::picker::Picker;
use super::prefetch::{PREFETCH_FROM, SLOT_LEAD, TASK_LEAD, prefetch_line, prefetch_task};
use super::rng::SeededRng;
use super::schedule_log::ScheduleLog;
#[cfg(feature = "std")]
use super::spare_queues::SpareQueues;
use super::tasks::TaskTable;
use super::trace::Trace;
use crate::core::tracking::{TaskEnd, TaskEvent};
use crate::core::{Priority, Runnable, TaskId, TaskLabel};
use crate::timer_heap::TimerHeap;

pub(super) struct State {
    pub(super) config: TestSchedulerConfig,
    pub(super) rng: SeededRng,
    /// Virtual time since the scheduler was made.
    pub(super) elapsed: Duration,
    /// Background runnables of [`Priority::Medium`] (the default), with `randomize_order`
    /// on. The pick takes any of them and moves the last into the gap: a `Vec`, whose
    /// `swap_remove` costs a third of `VecDeque`'s.
    pub(super) ready: Vec<Runnable>,
    /// With `randomize_order` off, every runnable, in FIFO order.
    pub(super) in_order: VecDeque<Runnable>,
    /// Background runnables of the other priorities (`randomize_order` on): `Low`, `High`,
    /// `Realtime`. Empty unless a task was spawned with a priority, so the default pick
    /// never looks at them.
    pub(super) prioritized: [VecDeque<Runnable>; 3],
    /// Whether a runnable ever went into `prioritized`: until one does, the pick need not
    /// look at its three queues.
    ever_prioritized: bool,
    /// Main-thread runnables by session (foreground executor), FIFO within each (used with
    /// `randomize_order` on); session 0 is the main one, `spawn_foreground`'s.
    pub(super) sessions: Vec<VecDeque<Runnable>>,
    /// Sessions blocked in `ForegroundExecutor::block`, innermost last: their own tasks
    /// wait until the block returns (Zed's re-entrancy guard).
    pub(super) blocked_sessions: Vec<u16>,
    /// The session the next `TestScheduler::foreground()` gets.
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // the executors need `std`
    pub(super) next_session: u16,
    /// Runnables whose label was deprioritized when they were scheduled.
    pub(super) deprioritized: VecDeque<Runnable>,
    pub(super) deprioritized_labels: Vec<TaskLabel>,
    pub(super) timers: TimerHeap<Duration>,
    pub(super) tasks: TaskTable,
    pub(super) trace: Trace,
    /// The steps as the user reads them (the last few, or all), for reports.
    pub(super) schedule: ScheduleLog,
    pub(super) waiting_hint: Option<String>,
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
    /// The picker of a non-default strategy (`picker.rs`); `None` for the uniform pick.
    pub(super) picker: Option<alloc::boxed::Box<Picker>>,
    /// Picks made among two or more runnables: PCT's `k` is learned from it (`learned.rs`).
    pub(super) choice_points: u64,
}

impl State {
    pub(super) fn new(config: TestSchedulerConfig) -> Self {
        let mut schedule = ScheduleLog::new();
        if config.record_schedule {
            schedule.keep_all();
        }
        #[cfg(feature = "std")]
        let (ready, tasks) = match SpareQueues::take() {
            Some(spare) => (spare.ready, TaskTable::with_buffers(spare.tasks)),
            None => (Vec::new(), TaskTable::new()),
        };
        #[cfg(not(feature = "std"))]
        let (ready, tasks) = (Vec::new(), TaskTable::new());
        Self {
            rng: SeededRng::new(config.seed),
            picker: Picker::new(&config),
            choice_points: 0,
            config,
            elapsed: Duration::ZERO,
            ready,
            in_order: VecDeque::new(),
            prioritized: [VecDeque::new(), VecDeque::new(), VecDeque::new()],
            ever_prioritized: false,
            sessions: Vec::new(),
            blocked_sessions: Vec::new(),
            next_session: 1,
            deprioritized: VecDeque::new(),
            deprioritized_labels: Vec::new(),
            timers: TimerHeap::new(),
            tasks,
            trace: Trace::new(),
            schedule,
            waiting_hint: None,
            final_steps: Vec::new(),
            in_runner: false,
            discarded: Vec::new(),
            events: Vec::new(),
            gave_up_since_sweep: 0,
            #[cfg(feature = "std")]
            parked: Vec::new(),
        }
    }

    /// Whether a runnable that `pick` may take waits in a queue (due timers aside; a
    /// blocked session's tasks do not count).
    pub(super) fn has_runnable(&self) -> bool {
        !self.ready.is_empty()
            || !self.in_order.is_empty()
            || self.prioritized.iter().any(|queue| !queue.is_empty())
            || self.open_sessions() > 0
            || !self.deprioritized.is_empty()
    }

    /// The next runnable, by the rules on `TestScheduler::tick`. Inlined into `run_next`, its
    /// one caller on the hot path.
    #[inline]
    pub(super) fn pick(&mut self, from: Pick) -> Option<Runnable> {
        let background_only = from == Pick::BackgroundOnly;
        self.discard_cancelled_timers();
        if let Some((_, timer)) = self.timers.pop_due(self.elapsed) {
            return Some(timer);
        }
        if !self.config.randomize_order {
            let blocked = &self.blocked_sessions;
            let index = if background_only {
                self.in_order.iter().position(|r| !r.metadata().foreground)
            } else if blocked.is_empty() {
                (!self.in_order.is_empty()).then_some(0)
            } else {
                let in_blocked =
                    |m: &crate::core::TaskMetadata| m.foreground && blocked.contains(&m.session);
                self.in_order.iter().position(|r| !in_blocked(r.metadata()))
            };
            return match index {
                Some(index) => self.in_order.remove(index),
                None => self.deprioritized.pop_front(),
            };
        }
        let heads = if background_only {
            0
        } else {
            self.open_sessions()
        };
        if !self.ever_prioritized || self.prioritized.iter().all(VecDeque::is_empty) {
            // Every task at the default priority: one uniform draw, as before priorities
            // existed, so old seeds replay bit for bit.
            let candidates = self.ready.len() + heads;
            self.choice_points += u64::from(candidates > 1);
            if candidates > 0 {
                let choice = self.rng.below(candidates);
                return if choice < self.ready.len() {
                    let picked = self.ready.swap_remove(choice);
                    if self.ready.len() >= PREFETCH_FROM {
                        self.prefetch_next_picks(heads);
                    }
                    Some(picked)
                } else {
                    self.pop_session(choice - self.ready.len())
                };
            }
        } else {
            return self.pick_weighted(heads);
        }
        if self.deprioritized.is_empty() {
            return None;
        }
        let choice = self.rng.below(self.deprioritized.len());
        self.deprioritized.swap_remove_back(choice)
    }

    /// One draw over every runnable, each weighted by its priority (foreground heads count
    /// as `Medium`).
    #[inline(never)] // off the default pick's path
    fn pick_weighted(&mut self, heads: usize) -> Option<Runnable> {
        let medium = self.ready.len() + heads;
        let classes = [
            (Priority::Low, self.prioritized[0].len()),
            (Priority::Medium, medium),
            (Priority::High, self.prioritized[1].len()),
            (Priority::Realtime, self.prioritized[2].len()),
        ];
        let total: usize = classes.iter().map(|(p, n)| p.weight() * n).sum();
        self.choice_points += u64::from(classes.iter().map(|(_, n)| n).sum::<usize>() > 1);
        let mut choice = self.rng.below(total);
        for (priority, count) in classes {
            let span = priority.weight() * count;
            if choice >= span {
                choice -= span;
                continue;
            }
            let index = choice / priority.weight();
            return match priority {
                Priority::Medium if index < self.ready.len() => Some(self.ready.swap_remove(index)),
                Priority::Medium => self.pop_session(index - self.ready.len()),
                other => self.prioritized[prioritized_slot(other)].swap_remove_back(index),
            };
        }
        unreachable!("the draw is below the total weight")
    }

    /// Prefetches, for the uniform picks to come if nothing is scheduled meanwhile, the
    /// next one's task, the task [`TASK_LEAD`] picks after it and the queue slot
    /// [`SLOT_LEAD`] after it (see `prefetch`). Each of those picks draws among one
    /// candidate fewer than the one before.
    #[inline]
    fn prefetch_next_picks(&self, heads: usize) {
        let candidates = self.ready.len() + heads;
        debug_assert!(self.ready.len() >= PREFETCH_FROM && PREFETCH_FROM > SLOT_LEAD);
        let ready = &self.ready;
        let next = self.rng.peek_below(0, candidates);
        if let Some(runnable) = next.and_then(|index| ready.get(index)) {
            prefetch_task(runnable);
        }
        let later = self.rng.peek_below(TASK_LEAD, candidates - TASK_LEAD);
        if let Some(runnable) = later.and_then(|index| ready.get(index)) {
            prefetch_task(runnable);
        }
        if let Some(slot) = self.rng.peek_below(SLOT_LEAD, candidates - SLOT_LEAD) {
            prefetch_line(ready.as_ptr().wrapping_add(slot));
        }
    }

    /// How many sessions have a task to run and are not blocked.
    #[inline]
    fn open_sessions(&self) -> usize {
        match self.sessions.as_slice() {
            [] => 0,
            [main] if self.blocked_sessions.is_empty() => usize::from(!main.is_empty()),
            _ => self.open_sessions_slow(),
        }
    }

    #[inline(never)]
    fn open_sessions_slow(&self) -> usize {
        self.sessions
            .iter()
            .enumerate()
            .filter(|(session, queue)| !queue.is_empty() && !self.is_blocked(*session))
            .count()
    }

    pub(super) fn is_blocked(&self, session: usize) -> bool {
        self.blocked_sessions
            .iter()
            .any(|&blocked| usize::from(blocked) == session)
    }

    /// Takes the head of the `nth` open session.
    #[inline(never)]
    fn pop_session(&mut self, nth: usize) -> Option<Runnable> {
        let session = (0..self.sessions.len())
            .filter(|&session| !self.sessions[session].is_empty() && !self.is_blocked(session))
            .nth(nth)?;
        self.sessions[session].pop_front()
    }

    /// The deadline of the next timer that can still fire: a timer whose `Task` was dropped
    /// or cancelled never moves the clock.
    pub(super) fn next_deadline(&mut self) -> Option<Duration> {
        self.discard_cancelled_timers();
        self.timers.next_deadline()
    }

    /// Takes the timers at the head of the heap whose task gave up off it, for dropping
    /// after the lock is released.
    #[inline(always)] // on every pick, and nearly always finds no timer
    pub(super) fn discard_cancelled_timers(&mut self) {
        while let Some(runnable) = self.timers.peek() {
            if !self.tasks.gave_up(runnable.metadata().id) {
                break;
            }
            let (_, runnable) = self.timers.pop().expect("peeked above");
            self.discarded.push(runnable);
        }
    }

    #[inline(always)] // into `schedule`, every wake's path
    pub(super) fn push_ready(&mut self, runnable: Runnable) {
        let meta = runnable.metadata();
        if !self.config.randomize_order {
            self.in_order.push_back(runnable);
        } else if meta.foreground {
            let session = usize::from(meta.session);
            if self.sessions.len() <= session {
                self.sessions.resize_with(session + 1, VecDeque::new);
            }
            self.sessions[session].push_back(runnable);
        } else if meta.priority == Priority::Medium {
            self.ready.push(runnable);
        } else {
            self.ever_prioritized = true;
            self.prioritized[prioritized_slot(meta.priority)].push_back(runnable);
        }
    }

    /// Applies what the end log recorded, oldest first. Always inlined: it is on every
    /// step's lock, where LLVM's choice to call it cost 11 instructions a task.
    #[inline(always)]
    pub(super) fn apply_log(&mut self, log: &crate::core::tracking::EndLog) {
        if log.has_events() {
            self.apply_events(log);
        }
        if let Some((id, end)) = log.take_last_end() {
            self.task_ended(id, end);
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

    #[inline]
    pub(super) fn task_ended(&mut self, id: TaskId, end: TaskEnd) {
        self.tasks.end(id, end);
    }

    /// Every queued runnable and timer, for `clear`.
    pub(super) fn take_all(&mut self) -> Vec<Runnable> {
        let mut all: Vec<Runnable> = self.ready.drain(..).collect();
        all.extend(self.in_order.drain(..));
        for queue in &mut self.prioritized {
            all.extend(queue.drain(..));
        }
        for queue in &mut self.sessions {
            all.extend(queue.drain(..));
        }
        all.extend(self.deprioritized.drain(..));
        all.extend(self.timers.drain());
        all.append(&mut self.discarded);
        all
    }
}

/// The queues' memory goes to the next scheduler made on this thread (`spare_queues`).
#[cfg(feature = "std")]
impl Drop for State {
    fn drop(&mut self) {
        let table_capacity = self.tasks.capacity();
        SpareQueues {
            ready: ::core::mem::take(&mut self.ready),
            tasks: self.tasks.take_buffers(),
        }
        .keep(table_capacity);
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

/// Where a priority other than `Medium` waits in `State::prioritized`.
fn prioritized_slot(priority: Priority) -> usize {
    match priority {
        Priority::Low => 0,
        Priority::High => 1,
        Priority::Realtime => 2,
        Priority::Medium => unreachable!("medium tasks wait in `ready`"),
    }
}
