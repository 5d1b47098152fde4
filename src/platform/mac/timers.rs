//! Timers: one heap of runnables by deadline and one dispatch timer source (leeway 0), armed
//! for the earliest deadline. Its handler hands every due runnable over (foreground ones to
//! the main thread, the rest to the pool) in deadline order and re-arms the source, also when
//! it fired early on our clock.

use ::core::ffi::c_void;
use ::core::mem::ManuallyDrop;
use ::core::ptr;
use ::core::time::Duration;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::io;
use std::time::Instant;

use super::Shared;
use super::ffi::{self, Object, QOS_CLASS_USER_INITIATED, TIME_FOREVER, TIME_NOW};
use crate::core::Runnable;
use crate::platform::main_thread::discard;
use crate::platform::unwind::no_unwind;
use crate::timer_heap::TimerHeap;

/// The longest delay the source is armed for: 2^61 ns (73 years), well below the 2^62 ns
/// at which libdispatch turns a delay into "forever". A later deadline re-arms when it fires.
const MAX_ARM_NANOS: i64 = 1 << 61;

/// The timers of one dispatcher.
pub(super) struct Timers {
    pub(super) heap: TimerHeap<Instant>,
    /// Timers too far away for `Instant` to represent: they never fire.
    pub(super) never: Vec<Runnable>,
    /// The deadline the source is armed for, if any.
    armed: Option<Instant>,
    pub(super) shutdown: bool,
}

impl Timers {
    pub(super) fn new() -> Self {
        Self {
            heap: TimerHeap::new(),
            never: Vec::new(),
            armed: None,
            shutdown: false,
        }
    }
}

/// The serial queue the timer source's handlers run on (libdispatch backs a serial queue
/// with an overcommit thread, so blocked workers cannot hold timers back) and the source,
/// not yet started.
pub(super) fn create_source() -> io::Result<(Object, Object)> {
    // SAFETY: a null attribute is `DISPATCH_QUEUE_SERIAL`; the result is a static attribute.
    let attr = unsafe {
        ffi::dispatch_queue_attr_make_with_qos_class(ptr::null_mut(), QOS_CLASS_USER_INITIATED, 0)
    };
    // SAFETY: a NUL-terminated label (copied) and a valid attribute.
    let raw = unsafe { ffi::dispatch_queue_create(c"unified-scheduler.gcd.timers".as_ptr(), attr) };
    let queue =
        Object::owned(raw).ok_or_else(|| io::Error::other("dispatch_queue_create failed"))?;
    // SAFETY: `_dispatch_source_type_timer` is `DISPATCH_SOURCE_TYPE_TIMER`, which takes
    // handle 0 and mask 0; the queue is live. The source starts inactive.
    let raw = unsafe {
        ffi::dispatch_source_create(
            &raw const ffi::_dispatch_source_type_timer,
            0,
            0,
            queue.raw(),
        )
    };
    let source =
        Object::owned(raw).ok_or_else(|| io::Error::other("dispatch_source_create failed"))?;
    Ok((queue, source))
}

/// Gives the timer source its context (a strong reference to `shared`, released by the
/// cancel handler), its handlers, and starts it.
pub(super) fn start_source(shared: &Arc<Shared>) {
    let source = shared.timer_source.raw();
    let context = Arc::into_raw(shared.clone()).cast_mut().cast::<c_void>();
    // SAFETY: the source is live and inactive. The context is set before the handlers (they
    // get the context current when they are set); `timer_cancelled` releases it after the
    // last handler has returned, when `Drop` cancels the source. Resuming an inactive source
    // activates it once.
    unsafe {
        ffi::dispatch_set_context(source, context);
        ffi::dispatch_source_set_event_handler_f(source, Some(timer_fired));
        ffi::dispatch_source_set_cancel_handler_f(source, Some(timer_cancelled));
        ffi::dispatch_resume(source);
    }
}

impl Shared {
    /// Puts a runnable with a non-zero `delay` in the heap and re-arms the source if its
    /// deadline is the earliest; a deadline `Instant` cannot represent never fires.
    pub(super) fn add_timer(&self, delay: Duration, runnable: Runnable) {
        let now = Instant::now();
        let mut timers = self.timers.lock();
        if timers.shutdown {
            drop(timers);
            return discard([runnable]); // a timer set by a task after shutdown
        }
        let Some(deadline) = now.checked_add(delay) else {
            timers.never.push(runnable);
            return;
        };
        timers.heap.push(deadline, runnable);
        if timers.armed.is_none_or(|armed| deadline < armed) {
            timers.armed = Some(deadline);
            self.arm(deadline, now);
        }
    }

    /// Arms the source for `deadline` (called under the timers lock, so the last arming is
    /// the one `armed` records), rounding up, at least 1 ns, at most [`MAX_ARM_NANOS`].
    fn arm(&self, deadline: Instant, now: Instant) {
        let nanos = deadline.saturating_duration_since(now).as_nanos();
        let delta = nanos.clamp(1, MAX_ARM_NANOS as u128) as i64;
        // SAFETY: no preconditions.
        let start = unsafe { ffi::dispatch_time(TIME_NOW, delta) };
        // SAFETY: the source is live (we hold it) and may be re-armed from any thread; an
        // interval of `DISPATCH_TIME_FOREVER` makes it fire once.
        unsafe { ffi::dispatch_source_set_timer(self.timer_source.raw(), start, TIME_FOREVER, 0) };
    }

    /// The source fired: take every timer due on our clock, re-arm for the next one, and
    /// hand the due runnables over in deadline order.
    fn fire_timers(self: &Arc<Self>) {
        let mut timers = self.timers.lock();
        if timers.shutdown {
            return;
        }
        let now = Instant::now();
        let mut fired = Vec::new();
        while let Some((_, runnable)) = timers.heap.pop_due(now) {
            fired.push(runnable);
        }
        timers.armed = timers.heap.next_deadline();
        if let Some(next) = timers.armed {
            self.arm(next, now);
        }
        drop(timers);
        // The handlers of one source never run at once, so hand-overs keep deadline order.
        for runnable in fired {
            if runnable.metadata().foreground {
                self.send_foreground(runnable);
            } else {
                self.push(runnable);
            }
        }
    }
}

/// The timer source's event handler.
unsafe extern "C" fn timer_fired(context: *mut c_void) {
    no_unwind("timer source handler", || {
        // SAFETY: `context` is the strong reference `start_source` gave the source, released
        // only by `timer_cancelled`, which libdispatch runs after the last event handler has
        // returned; borrowing it without releasing it (`ManuallyDrop`) is sound.
        let shared =
            ManuallyDrop::new(unsafe { Arc::from_raw(context.cast_const().cast::<Shared>()) });
        shared.fire_timers();
    });
}

/// The timer source's cancel handler: releases the source's reference to the shared state.
unsafe extern "C" fn timer_cancelled(context: *mut c_void) {
    no_unwind("timer source cancel handler", || {
        // SAFETY: the strong reference `start_source` gave the source; the cancel handler
        // runs once, after every event handler.
        drop(unsafe { Arc::from_raw(context.cast_const().cast::<Shared>()) });
    });
}
