//! Background work on GCD: the [`Gate`] that says whether the dispatcher is closed, the
//! trampolines that run a runnable handed straight to the GCD global queue of its task's QoS
//! class (or drop it once its dispatcher is closed), and, for `worker_threads: Some(n)`, our
//! FIFO queue with at most `n` drain callbacks in flight (one more lent while a task blocks).
//!
//! **Priorities.** A task's [`Priority`] picks its QoS class ([`qos_class`]): `Low` runs at
//! `UTILITY`, `Medium` at `DEFAULT`, `High` at `USER_INITIATED`, `Realtime` at
//! `USER_INTERACTIVE`, on the global queue of that class (`dispatch_get_global_queue(qos,
//! 0)`), or, without a slot, on the dispatcher's private queue of that class (one per class,
//! each carrying the gate). The kernel's scheduler orders the classes. In limited mode
//! (`worker_threads: Some(n)`) our own queue stays FIFO and its drain callbacks run at
//! `USER_INITIATED`, whatever the tasks' priorities.
//!
//! A trampoline gets one word of context, the runnable, so the gate it checks is named by
//! the function itself: [`SLOTS`] static gates, each with its own trampoline
//! (`run_in_slot::<I>`), claimed by a dispatcher for its lifetime. With every slot taken (that
//! many dispatchers alive at once), a dispatcher submits to a private concurrent queue that
//! targets the same global queue and carries its gate as the queue's specific value, which
//! the trampoline finds with `dispatch_get_specific`. The slot path skips that queue's hop:
//! measured on libdispatch, it costs about as much again as the raw `dispatch_async_f`.

use ::core::cell::Cell;
use ::core::ffi::{c_uint, c_void};
use ::core::ptr::{self, NonNull};
use ::core::sync::atomic::{AtomicBool, Ordering};
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use std::io;

use super::Shared;
use super::ffi::{
    self, Function, Object, QOS_CLASS_DEFAULT, QOS_CLASS_USER_INITIATED,
    QOS_CLASS_USER_INTERACTIVE, QOS_CLASS_UTILITY, QUEUE_OVERCOMMIT,
};
use crate::core::{Priority, Runnable};
use crate::platform::main_thread::discard;
use crate::platform::unwind::{no_unwind, run_guarded};
use crate::sync::Mutex;

/// How many runnables one drain callback runs before it hands its thread back to GCD (and
/// submits a fresh callback to go on).
const DRAIN_BUDGET: usize = 64;

/// Whether a dispatcher is closed: once it is, whatever GCD calls for it drops its runnable.
#[derive(Default)]
pub(super) struct Gate {
    closed: AtomicBool,
    /// For a slot's gate: claimed by a live dispatcher.
    in_use: AtomicBool,
}

impl Gate {
    const fn new() -> Self {
        Self {
            closed: AtomicBool::new(false),
            in_use: AtomicBool::new(false),
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// The QoS class a background task of `priority` runs at.
fn qos_class(priority: Priority) -> c_uint {
    match priority {
        Priority::Low => QOS_CLASS_UTILITY,
        Priority::Medium => QOS_CLASS_DEFAULT,
        Priority::High => QOS_CLASS_USER_INITIATED,
        Priority::Realtime => QOS_CLASS_USER_INTERACTIVE,
    }
}

/// Every priority, in the order of `Pool::queues`.
const PRIORITIES: [Priority; 4] = [
    Priority::Low,
    Priority::Medium,
    Priority::High,
    Priority::Realtime,
];

/// The index of `priority` in `Pool::queues`.
fn class_of(priority: Priority) -> usize {
    match priority {
        Priority::Low => 0,
        Priority::Medium => 1,
        Priority::High => 2,
        Priority::Realtime => 3,
    }
}

/// How many dispatchers at once get a gate slot (the rest use their private queue).
const SLOTS: usize = 32;

/// The slots' gates: static, so a trampoline may read its gate whenever GCD calls it. A slot
/// is released only when its dispatcher's shared state is gone, which no runnable of a task
/// spawned on that dispatcher outlives (it holds the state as its task queue).
static GATES: [Gate; SLOTS] = [const { Gate::new() }; SLOTS];

macro_rules! trampolines {
    ($($slot:literal)*) => {
        [$(run_in_slot::<$slot> as Function),*]
    };
}

/// Each slot's trampoline, by index.
static TRAMPOLINES: [Function; SLOTS] = trampolines!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
);

/// The key of the [`Gate`] on a private queue: the address of this static.
static GATE_KEY: u8 = 0;

fn gate_key() -> *const c_void {
    (&raw const GATE_KEY).cast()
}

/// A dispatcher's gate: a slot, or its private queue's specific value.
pub(super) enum DispatcherGate {
    Slot(usize),
    Queue(Arc<Gate>),
}

impl DispatcherGate {
    /// Claims a free slot (if `direct`: only runnables handed straight to GCD need one), or a
    /// gate for the private `queues` (set as the specific value of each).
    fn new(queues: &[Object], direct: bool) -> Self {
        for (slot, gate) in GATES.iter().enumerate().filter(|_| direct) {
            let claimed = gate
                .in_use
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok();
            if claimed {
                gate.closed.store(false, Ordering::Release);
                return Self::Slot(slot);
            }
        }
        let gate = Arc::new(Gate::new());
        for queue in queues {
            let context = Arc::into_raw(gate.clone()).cast_mut().cast::<c_void>();
            // SAFETY: the queue is live and ours; the context is a strong reference the queue
            // owns from now on, released by `release_gate` when the queue is disposed of,
            // which libdispatch does only once no callback of the queue is pending or running.
            unsafe {
                ffi::dispatch_queue_set_specific(
                    queue.raw(),
                    gate_key(),
                    context,
                    Some(release_gate),
                )
            };
        }
        Self::Queue(gate)
    }

    fn gate(&self) -> &Gate {
        match self {
            Self::Slot(slot) => &GATES[*slot],
            Self::Queue(gate) => gate,
        }
    }

    pub(super) fn close(&self) {
        self.gate().close();
    }

    pub(super) fn is_closed(&self) -> bool {
        self.gate().is_closed()
    }
}

impl Drop for DispatcherGate {
    /// Frees the slot (the gate stays closed until a new dispatcher claims it).
    fn drop(&mut self) {
        if let Self::Slot(slot) = self {
            GATES[*slot].in_use.store(false, Ordering::Release);
        }
    }
}

/// The background side of one dispatcher.
pub(super) struct Pool {
    /// The private concurrent queues, one per priority (by `class_of`), each at its QoS
    /// class: direct runnables go through them only without a slot; drain callbacks (but
    /// lent ones) always go through the `USER_INITIATED` (`High`) one.
    queues: [Object; 4],
    pub(super) gate: DispatcherGate,
    /// Our FIFO queue, for `worker_threads: Some(n)`; `None` hands runnables straight to GCD.
    limited: Option<Mutex<Limited>>,
}

/// Our own queue and its drain callbacks (`worker_threads: Some(width)`).
pub(super) struct Limited {
    pub(super) queue: VecDeque<Runnable>,
    width: usize,
    /// Drain callbacks submitted and not finished (running or waiting to start).
    drainers: usize,
    /// Tasks blocked in `block` on a drain callback's thread, each counted once: the width
    /// is raised by this many while they block.
    lent: usize,
}

std::thread_local! {
    /// The `Shared` whose drain callback runs on this thread right now (null if none).
    static RUNNING_FOR: Cell<*const Shared> = const { Cell::new(ptr::null()) };
    /// Whether the task this drain callback runs is blocked in `block` (and so counted in
    /// `Limited::lent`) until its poll returns.
    static BLOCKING: Cell<bool> = const { Cell::new(false) };
}

impl Pool {
    /// The private queue with its gate, and our own queue for `width` `Some(n)`.
    pub(super) fn new(width: Option<usize>) -> io::Result<Self> {
        let [low, medium, high, realtime] = PRIORITIES.map(|priority| {
            // SAFETY: `_dispatch_queue_attr_concurrent` is libdispatch's static attribute
            // (`DISPATCH_QUEUE_CONCURRENT`); the result is another static attribute
            // (attributes are never released).
            let attr = unsafe {
                ffi::dispatch_queue_attr_make_with_qos_class(
                    (&raw const ffi::_dispatch_queue_attr_concurrent).cast_mut(),
                    qos_class(priority),
                    0,
                )
            };
            // SAFETY: a NUL-terminated label (copied by libdispatch) and a valid attribute.
            let raw =
                unsafe { ffi::dispatch_queue_create(c"unified-scheduler.gcd".as_ptr(), attr) };
            Object::owned(raw).ok_or_else(|| io::Error::other("dispatch_queue_create failed"))
        });
        let queues = [low?, medium?, high?, realtime?];
        let gate = DispatcherGate::new(&queues, width.is_none());
        let limited = width.map(|width| {
            Mutex::new(Limited {
                queue: VecDeque::new(),
                width,
                drainers: 0,
                lent: 0,
            })
        });
        Ok(Self {
            queues,
            gate,
            limited,
        })
    }

    /// Which gate the dispatcher has, for `Debug`: its slot, or `None` for its queue's.
    pub(super) fn gate_slot(&self) -> Option<usize> {
        match self.gate {
            DispatcherGate::Slot(slot) => Some(slot),
            DispatcherGate::Queue(_) => None,
        }
    }

    /// `Some(n)` for a limited pool, `None` when GCD decides.
    pub(super) fn width(&self) -> Option<usize> {
        self.limited.as_ref().map(|limited| limited.lock().width)
    }

    /// Runnables in our own queue, and drain callbacks in flight (both 0 when GCD decides:
    /// what is inside GCD cannot be counted).
    pub(super) fn counts(&self) -> (usize, usize) {
        self.limited.as_ref().map_or((0, 0), |limited| {
            let limited = limited.lock();
            (limited.queue.len(), limited.drainers)
        })
    }

    /// Takes our queue (limited mode), for shutdown: the gate is closed, so nothing is queued
    /// after this.
    pub(super) fn take_queued(&self) -> VecDeque<Runnable> {
        self.limited
            .as_ref()
            .map(|limited| ::core::mem::take(&mut limited.lock().queue))
            .unwrap_or_default()
    }
}

impl Shared {
    /// Hands a background runnable to GCD (or to our queue); after shutdown, cancels it.
    pub(super) fn push(self: &Arc<Self>, runnable: Runnable) {
        let Some(limited) = &self.pool.limited else {
            if self.pool.gate.is_closed() {
                return discard([runnable]); // a wake after shutdown
            }
            let priority = runnable.metadata().priority;
            let context = runnable.into_raw().as_ptr().cast::<c_void>();
            let (queue, trampoline) = match self.pool.gate {
                DispatcherGate::Slot(slot) => {
                    (ffi::global_queue(qos_class(priority), 0), TRAMPOLINES[slot])
                }
                DispatcherGate::Queue(_) => (
                    self.pool.queues[class_of(priority)].raw(),
                    run_on_queue as Function,
                ),
            };
            // SAFETY: the queue is live (a static global queue, or ours, which we hold); the
            // trampoline takes the runnable back from `context` exactly once, when GCD calls it.
            unsafe { ffi::dispatch_async_f(queue, context, trampoline) };
            return;
        };
        let mut limited = limited.lock();
        // Checked under the lock `Drop` takes the queue with, after closing the gate.
        if self.pool.gate.is_closed() {
            drop(limited);
            return discard([runnable]);
        }
        limited.queue.push_back(runnable);
        let start = limited.drainers < limited.width + limited.lent;
        if start {
            limited.drainers += 1;
        }
        let overcommit = limited.lent > 0;
        drop(limited);
        if start {
            self.submit_drainer(overcommit);
        }
    }

    /// Submits one drain callback, already counted in `drainers`: to our queue, or, while a
    /// task blocks, to the overcommit global queue, which starts a thread for it at once.
    fn submit_drainer(self: &Arc<Self>, overcommit: bool) {
        let queue = if overcommit {
            ffi::global_queue(QOS_CLASS_USER_INITIATED, QUEUE_OVERCOMMIT)
        } else {
            self.pool.queues[class_of(Priority::High)].raw()
        };
        let context = Arc::into_raw(self.clone()).cast_mut().cast::<c_void>();
        // SAFETY: the queue is live (ours, held by `self`, or a static global queue);
        // `drain` takes back the strong reference in `context` exactly once.
        unsafe { ffi::dispatch_async_f(queue, context, drain) };
    }

    /// One drain callback: runs queued runnables until the queue is empty, the pool is
    /// closed, the width shrank below the callbacks in flight, or the budget is spent.
    fn drain(self: Arc<Self>) {
        let limited = self
            .pool
            .limited
            .as_ref()
            .expect("drains only in a limited pool");
        let previous = RUNNING_FOR.with(|running| running.replace(Arc::as_ptr(&self)));
        let mut ran = 0;
        loop {
            let mut state = limited.lock();
            if self.pool.gate.is_closed() || state.drainers > state.width + state.lent {
                state.drainers -= 1;
                break;
            }
            if ran == DRAIN_BUDGET && !state.queue.is_empty() {
                // Hand the thread back to GCD; this callback's count goes to the next one.
                let overcommit = state.lent > 0;
                drop(state);
                RUNNING_FOR.with(|running| running.set(previous));
                return self.submit_drainer(overcommit);
            }
            let Some(runnable) = state.queue.pop_front() else {
                state.drainers -= 1;
                break;
            };
            drop(state);
            run_guarded(runnable);
            ran += 1;
            self.end_blocking();
        }
        RUNNING_FOR.with(|running| running.set(previous));
    }

    /// The task running in this thread's drain callback is about to block in `block`: raise
    /// the width by one for as long as it blocks and, if work waits, submit a drain callback
    /// for it. Nothing when GCD decides the width, on other threads, and after the first
    /// call of one poll.
    pub(super) fn begin_blocking(self: &Arc<Self>) {
        let Some(limited) = &self.pool.limited else {
            return;
        };
        let ours = RUNNING_FOR.with(|running| ptr::eq(running.get(), Arc::as_ptr(self)));
        if !ours || BLOCKING.with(|blocking| blocking.replace(true)) {
            return;
        }
        let mut state = limited.lock();
        state.lent += 1;
        let start = !self.pool.gate.is_closed()
            && !state.queue.is_empty()
            && state.drainers < state.width + state.lent;
        if start {
            state.drainers += 1;
        }
        drop(state);
        if start {
            self.submit_drainer(true);
        }
    }

    /// After a runnable ran in a drain callback: if its task blocked, take back the thread
    /// it was lent.
    fn end_blocking(&self) {
        if BLOCKING.with(|blocking| blocking.replace(false)) {
            if let Some(limited) = &self.pool.limited {
                limited.lock().lent -= 1;
            }
        }
    }
}

/// Runs a runnable GCD calls, or drops it if `gate` says its dispatcher is closed.
fn run_or_drop(context: *mut c_void, closed: impl FnOnce() -> bool) {
    // SAFETY: `context` is the `Runnable::into_raw` of `Shared::push`, and GCD calls each
    // submitted callback once: we take the runnable back exactly once.
    let runnable = unsafe { Runnable::from_raw(NonNull::new_unchecked(context.cast())) };
    if closed() {
        discard([runnable]);
    } else {
        run_guarded(runnable);
    }
}

/// The trampoline of slot `SLOT`'s dispatcher.
unsafe extern "C" fn run_in_slot<const SLOT: usize>(context: *mut c_void) {
    no_unwind("dispatch callback", || {
        run_or_drop(context, || GATES[SLOT].is_closed());
    });
}

/// The trampoline of a dispatcher without a slot, on its private queue.
unsafe extern "C" fn run_on_queue(context: *mut c_void) {
    no_unwind("dispatch callback", || {
        run_or_drop(context, || {
            // SAFETY: no preconditions; on our queue it returns the gate's pointer, which the
            // queue owns (and so keeps alive) while this callback of the queue runs.
            let gate = unsafe { ffi::dispatch_get_specific(gate_key()) }.cast::<Gate>();
            // SAFETY: non-null only on our queue, where it points to a live `Gate` (above).
            gate.is_null() || unsafe { &*gate }.is_closed()
        });
    });
}

/// A drain callback (`worker_threads: Some(n)`).
unsafe extern "C" fn drain(context: *mut c_void) {
    no_unwind("dispatch drain callback", || {
        // SAFETY: `context` is the strong reference `submit_drainer` leaked for this callback,
        // which GCD calls once: we take it back exactly once.
        let shared = unsafe { Arc::from_raw(context.cast_const().cast::<Shared>()) };
        shared.drain();
    });
}

/// The destructor of the queue's specific value: releases the queue's reference to the gate.
unsafe extern "C" fn release_gate(context: *mut c_void) {
    no_unwind("queue-specific destructor", || {
        // SAFETY: `context` is the strong reference `Pool::new` gave the queue; libdispatch
        // calls the destructor once, when the queue is disposed of.
        drop(unsafe { Arc::from_raw(context.cast_const().cast::<Gate>()) });
    });
}
