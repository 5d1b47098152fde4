//! The timer thread: one [`TimerHeap`], slept on with `park_deadline` until the earliest
//! deadline. All due timers fire in one wakeup and go, in deadline order, to the pool's
//! global queue (or, for foreground tasks, to the main thread); a new timer wakes the thread only if it is due before the thread would wake anyway.
//! Fired runnables never run on the timer thread, so a long task cannot delay another timer.

use ::core::time::Duration;
use alloc::vec::Vec;
use std::time::Instant;

use super::Shared;
use crate::core::Runnable;
use crate::sync::Mutex;
use crate::timer_heap::TimerHeap;

pub(super) struct Timers {
    state: Mutex<State>,
    unparker: parking::Unparker,
}

struct State {
    heap: TimerHeap<Instant>,
    /// Timers too far away for `Instant` to represent: they never fire.
    never: Vec<Runnable>,
    sleep: Sleep,
    shutdown: bool,
}

/// What the timer thread is doing, so `add` unparks it only when needed.
#[derive(Clone, Copy)]
enum Sleep {
    /// It will look at the heap before it sleeps again.
    Awake,
    /// Parked until this instant.
    Until(Instant),
    /// Parked with no timer pending.
    Forever,
}

impl Timers {
    pub(super) fn new(unparker: parking::Unparker) -> Self {
        Self {
            state: Mutex::new(State {
                heap: TimerHeap::new(),
                never: Vec::new(),
                sleep: Sleep::Awake,
                shutdown: false,
            }),
            unparker,
        }
    }

    /// Queues `runnable` to go to the pool once `delay` (non-zero) has passed.
    pub(super) fn add(&self, delay: Duration, runnable: Runnable) {
        let mut state = self.state.lock();
        if state.shutdown {
            drop(state);
            drop(runnable);
            return;
        }
        let Some(deadline) = Instant::now().checked_add(delay) else {
            state.never.push(runnable);
            return;
        };
        state.heap.push(deadline, runnable);
        let wake = match state.sleep {
            Sleep::Awake => false,
            Sleep::Forever => true,
            Sleep::Until(wake_at) => deadline < wake_at,
        };
        if wake {
            state.sleep = Sleep::Awake;
        }
        drop(state);
        if wake {
            self.unparker.unpark();
        }
    }

    pub(super) fn len(&self) -> usize {
        self.state.lock().heap.len()
    }

    /// Tells the timer thread to stop (join it next).
    pub(super) fn stop(&self) {
        self.state.lock().shutdown = true;
        self.unparker.unpark();
    }

    /// Every timer that has not fired; later `add`s drop their runnable.
    pub(super) fn take_all(&self) -> Vec<Runnable> {
        let mut state = self.state.lock();
        state.shutdown = true;
        let mut all: Vec<Runnable> = state.heap.drain().collect();
        all.append(&mut state.never);
        all
    }
}

/// The timer thread's loop, until `stop`.
pub(super) fn run(timers: &Timers, shared: &Shared, parker: &parking::Parker) {
    let mut fired = Vec::new();
    loop {
        let mut state = timers.state.lock();
        state.sleep = Sleep::Awake;
        if state.shutdown {
            return;
        }
        let now = Instant::now();
        while let Some((_, runnable)) = state.heap.pop_due(now) {
            fired.push(runnable);
        }
        if !fired.is_empty() {
            drop(state);
            shared.push_fired(&mut fired);
            continue;
        }
        match state.heap.next_deadline() {
            Some(deadline) => {
                state.sleep = Sleep::Until(deadline);
                drop(state);
                parker.park_deadline(deadline);
            }
            None => {
                state.sleep = Sleep::Forever;
                drop(state);
                parker.park();
            }
        }
    }
}
