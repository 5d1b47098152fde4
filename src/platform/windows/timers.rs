//! Timers on the Windows thread pool: one heap of runnables by deadline, a pool timer armed
//! per deadline, and the timer callback that hands every due runnable over (foreground ones
//! to the main thread, the rest to the pool) in deadline order, under the heap's lock, or
//! re-arms itself if it fired early on our clock.

use ::core::ffi::c_void;
use ::core::time::Duration;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::thread;
use std::time::Instant;

use windows_sys::Win32::Foundation::FILETIME;
use windows_sys::Win32::System::Threading::{
    CloseThreadpoolTimer, CreateThreadpoolTimer, PTP_TIMER, SetThreadpoolTimer,
};

use super::Shared;
use crate::core::Runnable;
use crate::platform::unwind::no_unwind;
use crate::timer_heap::TimerHeap;

/// The timers of one dispatcher: the runnables by deadline and the pool timers armed for
/// them.
pub(super) struct Timers {
    pub(super) heap: TimerHeap<Instant>,
    /// Timers too far away for `Instant` to represent: they never fire.
    pub(super) never: Vec<Runnable>,
    /// Pool timers armed and not yet finished, by id. An entry is removed (and then owned)
    /// either by its callback once it has handed over the due runnables, or by `Drop`.
    pub(super) armed: BTreeMap<u64, ArmedTimer>,
    next_id: u64,
    pub(super) shutdown: bool,
}

/// A pool timer and its context, owned by whoever removes it from [`Timers::armed`].
pub(super) struct ArmedTimer {
    pub(super) timer: PTP_TIMER,
    pub(super) ctx: *mut TimerCtx,
}

// SAFETY: `ctx` is a `Box<TimerCtx>` (which is `Send`: it holds an `Arc<Shared>`, an
// `Instant` and a `u64`) turned into a raw pointer; whoever removes the entry from `armed`
// under the lock owns it, so moving the entry to another thread moves that ownership.
unsafe impl Send for ArmedTimer {}

/// A pool timer's context: which deadline it stands for.
pub(super) struct TimerCtx {
    shared: Arc<Shared>,
    deadline: Instant,
    id: u64,
}

impl Timers {
    pub(super) fn new() -> Self {
        Self {
            heap: TimerHeap::new(),
            never: Vec::new(),
            armed: BTreeMap::new(),
            next_id: 0,
            shutdown: false,
        }
    }
}

/// A relative due time for `SetThreadpoolTimer`: negative, in 100 ns units, rounded up so
/// the timer is never early, at least one unit (0 would mean an absolute time), saturating.
fn relative_due_time(delay: Duration) -> FILETIME {
    let ticks = delay.as_nanos().div_ceil(100).clamp(1, i64::MAX as u128) as i64;
    let due = (-ticks) as u64;
    FILETIME {
        dwLowDateTime: due as u32,
        dwHighDateTime: (due >> 32) as u32,
    }
}

impl Shared {
    /// Puts a runnable with a non-zero `delay` in the heap and arms a pool timer for its
    /// deadline; a deadline `Instant` cannot represent never fires (it waits for shutdown).
    pub(super) fn arm_timer(self: &Arc<Self>, delay: Duration, runnable: Runnable) {
        let Some(deadline) = Instant::now().checked_add(delay) else {
            self.timers.lock().never.push(runnable);
            return;
        };
        let mut timers = self.timers.lock();
        let id = timers.next_id;
        timers.next_id += 1;
        timers.heap.push(deadline, runnable);
        let ctx = Box::into_raw(Box::new(TimerCtx {
            shared: self.clone(),
            deadline,
            id,
        }));
        let timer = loop {
            // SAFETY: `timer_callback` has the timer-callback signature; `ctx` is a live
            // box that the timer's owner frees (see `Timers::armed`); the environment is a
            // valid V3 environment.
            let timer = unsafe {
                CreateThreadpoolTimer(Some(timer_callback), ctx as *mut c_void, self.envs.normal())
            };
            if timer != 0 {
                break timer;
            }
            // Out of memory. The runnable is safe in the heap; try again shortly, without
            // holding up timer callbacks that need the lock.
            drop(timers);
            thread::sleep(Duration::from_millis(1));
            timers = self.timers.lock();
        };
        timers.armed.insert(id, ArmedTimer { timer, ctx });
        let due = relative_due_time(delay);
        // SAFETY: `timer` is live and in `armed`; its callback takes the lock we hold before
        // touching anything, so it sees the entry.
        unsafe { SetThreadpoolTimer(timer, &due, 0, 0) };
    }

    /// Hands fired timers over, in order: foreground ones to the main thread, the rest to
    /// the pool's queues. Returns the classes of the pool callbacks still to be submitted, which
    /// the caller does once it has released the timers lock (a submission may have to wait
    /// and retry, see `pool`, and must not hold up every other timer meanwhile).
    fn push_fired(&self, fired: Vec<Runnable>) -> Vec<usize> {
        let mut to_submit = Vec::new();
        for runnable in fired {
            if runnable.metadata().foreground {
                self.send_foreground(runnable);
            } else if let Some(class) = self.enqueue(runnable) {
                to_submit.push(class);
            }
        }
        to_submit
    }

    /// A pool timer fired: hand over every due runnable, or re-arm if it fired early.
    /// Returns whether the callback now owns (and must close and free) its timer.
    fn fire_timers(self: &Arc<Self>, ctx: &TimerCtx, timer: PTP_TIMER) -> bool {
        let mut timers = self.timers.lock();
        if timers.shutdown {
            return false; // `Drop` took the entry, waits for us, and closes the timer.
        }
        let now = Instant::now();
        if now < ctx.deadline {
            let due = relative_due_time(ctx.deadline - now);
            // SAFETY: `timer` is the live timer this callback runs for; it stays in `armed`,
            // so only this callback or `Drop` (which waits for callbacks) closes it.
            unsafe { SetThreadpoolTimer(timer, &due, 0, 0) };
            return false;
        }
        let mut fired = Vec::new();
        while let Some((_, runnable)) = timers.heap.pop_due(now) {
            fired.push(runnable);
        }
        // Still under the lock: hand-over order is deadline order across callbacks.
        let to_submit = self.push_fired(fired);
        timers.armed.remove(&ctx.id);
        drop(timers);
        for class in to_submit {
            self.submit(class);
        }
        true
    }
}

/// The callback of a pool timer armed by `schedule_after`.
unsafe extern "system" fn timer_callback(_instance: isize, context: *mut c_void, timer: PTP_TIMER) {
    no_unwind("timer callback", || {
        let ctx = context as *mut TimerCtx;
        // SAFETY: `ctx` is the `Box<TimerCtx>` of this timer. It is freed only by whoever
        // removes the timer from `armed`: `Drop`, which first waits for this callback to
        // return, or this callback below, after its last use of the reference.
        let owned = unsafe { (*ctx).shared.fire_timers(&*ctx, timer) };
        if owned {
            // SAFETY: we removed the timer from `armed`, so nobody else closes or frees
            // it; closing a timer from its own callback is allowed (it is freed once the
            // callback returns), and `ctx` is not used after it is freed.
            unsafe {
                CloseThreadpoolTimer(timer);
                drop(Box::from_raw(ctx));
            }
        }
    });
}
