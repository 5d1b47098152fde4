//! Foreground work on the process's main thread: which thread that is, the queue of
//! foreground runnables, the coalesced wake submitted to GCD's main queue that runs them in
//! slices, and (on Linux) draining the main queue from `park` through CoreFoundation's hooks.

use ::core::ffi::c_void;
use ::core::mem;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use std::sync::OnceLock;

use super::ffi;
use super::{MAIN_BUDGET, Shared};
use crate::core::thread_parker;
use crate::core::{Runnable, Unparker};
use crate::platform::main_thread::discard;
use crate::platform::unwind::{no_unwind, run_guarded};

/// The main thread's queue of foreground runnables.
pub(super) struct MainQueue {
    pub(super) queue: VecDeque<Runnable>,
    /// A wake is on the main queue and has not run yet.
    posted: bool,
    pub(super) shutdown: bool,
}

impl MainQueue {
    pub(super) fn new() -> Self {
        Self {
            queue: VecDeque::new(),
            posted: false,
            shutdown: false,
        }
    }
}

/// The main thread's unparker, once the main thread has created a dispatcher or parked in
/// one: every dispatcher's foreground work goes to the same thread.
static MAIN_UNPARKER: OnceLock<Unparker> = OnceLock::new();

/// Whether the calling thread is the process's main thread.
pub(super) fn is_main_thread() -> bool {
    #[cfg(target_vendor = "apple")]
    {
        // SAFETY: no preconditions.
        unsafe { ffi::pthread_main_np() != 0 }
    }
    #[cfg(not(target_vendor = "apple"))]
    {
        // SAFETY: no preconditions; the main thread's id is the process id.
        unsafe { ffi::gettid() == ffi::getpid() }
    }
}

/// Fails a call that only the main thread may make, naming the method.
#[track_caller]
pub(super) fn assert_main_thread(method: &str) {
    assert!(
        is_main_thread(),
        "{method} must be called on the process's main thread, not on {:?}",
        std::thread::current().name().unwrap_or("<unnamed>")
    );
}

/// On the main thread: makes its unparker known, so that foreground work ends its parks.
/// Registered before the main thread looks at the queue and parks, so no wakeup is lost.
pub(super) fn register_main_thread() {
    if MAIN_UNPARKER.get().is_none() && is_main_thread() {
        let _ = MAIN_UNPARKER.set(thread_parker::unparker());
    }
}

/// On Linux, on the main thread: drains GCD's main queue if its handle says work waits, the
/// way CoreFoundation's run loop does; whether it did. Elsewhere (and on Apple, where the
/// app's run loop drains it) nothing.
pub(super) fn drain_main_queue() -> bool {
    #[cfg(not(target_vendor = "apple"))]
    {
        if !is_main_thread() {
            return false; // the callback kills the process off the main thread
        }
        let mut signalled = 0u64;
        // SAFETY: no preconditions; the handle is the main queue's eventfd, non-blocking.
        let fd = unsafe { ffi::_dispatch_get_main_queue_handle_4CF() };
        // SAFETY: reads at most 8 bytes into a live `u64`; a non-blocking eventfd returns
        // its count (and resets it) or fails with `EAGAIN` when nothing was signalled.
        let read = unsafe { ffi::read(fd, (&raw mut signalled).cast::<c_void>(), 8) };
        if read != 8 {
            return false;
        }
        // SAFETY: on the main thread (checked above), the only thread the main queue may be
        // drained on; the argument is unused. A nested call (from a task that blocks inside
        // the drain) returns at once.
        unsafe { ffi::_dispatch_main_queue_callback_4CF(::core::ptr::null_mut()) };
        true
    }
    #[cfg(target_vendor = "apple")]
    {
        false
    }
}

impl Shared {
    /// Queues a foreground runnable, submits one coalesced wake to the main queue, unparks
    /// the main thread; after shutdown, cancels it.
    pub(super) fn send_foreground(self: &Arc<Self>, runnable: Runnable) {
        let mut main = self.main.lock();
        if main.shutdown {
            drop(main);
            return discard([runnable]); // a wake after shutdown, through the task queue
        }
        main.queue.push_back(runnable);
        let post = !mem::replace(&mut main.posted, true);
        drop(main);
        if post {
            self.post_wake();
        }
        if let Some(unparker) = MAIN_UNPARKER.get() {
            unparker.unpark();
        }
    }

    /// Submits the wake callback to the main queue.
    fn post_wake(self: &Arc<Self>) {
        let context = Arc::into_raw(self.clone()).cast_mut().cast::<c_void>();
        // SAFETY: the main queue is static; `main_wake` takes back the strong reference in
        // `context` exactly once, when the main thread drains the queue.
        unsafe { ffi::dispatch_async_f(ffi::main_queue(), context, main_wake) };
    }

    /// On the main thread: runs up to [`MAIN_BUDGET`] foreground runnables; how many ran.
    /// The lock is not held while a task runs: it may block, spawn, or drop the dispatcher.
    pub(super) fn run_main_slice(self: &Arc<Self>) -> usize {
        let mut ran = 0;
        while ran < MAIN_BUDGET {
            let next = self.main.lock().queue.pop_front();
            let Some(runnable) = next else { break };
            run_guarded(runnable);
            ran += 1;
        }
        ran
    }

    /// The wake ran on the main thread: run a slice, and submit the wake again if work
    /// remains, so the run loop's other sources get their turn.
    fn on_main_wake(self: &Arc<Self>) {
        self.main.lock().posted = false;
        self.run_main_slice();
        let mut main = self.main.lock();
        let again = !main.queue.is_empty() && !main.shutdown && !main.posted;
        if again {
            main.posted = true;
        }
        drop(main);
        if again {
            self.post_wake();
        }
    }
}

/// The wake callback on the main queue; GCD calls it on the main thread.
unsafe extern "C" fn main_wake(context: *mut c_void) {
    no_unwind("main-queue callback", || {
        // SAFETY: `context` is the strong reference `post_wake` leaked for this callback,
        // which GCD calls once: we take it back exactly once.
        let shared = unsafe { Arc::from_raw(context.cast_const().cast::<Shared>()) };
        shared.on_main_wake();
    });
}
