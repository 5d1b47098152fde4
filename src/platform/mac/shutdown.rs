//! Shutdown, when the user's last reference to the dispatcher is dropped: close the gate,
//! stop the timers, take every queued runnable and cancel it. GCD's queues cannot be stopped
//! or joined; what it still calls finds the gate closed and drops its runnable. The steps and
//! their order are the ones in the implementation notes.

use ::core::mem;
use alloc::vec::Vec;

use super::MacDispatcher;
use super::ffi;
use crate::core::Runnable;
use crate::platform::main_thread::discard;

impl Drop for MacDispatcher {
    fn drop(&mut self) {
        let shared = &self.shared;
        // 1. From now on every runnable GCD calls, and every wake, is dropped, not run.
        shared.pool.gate.close();
        // 2. Timers: nothing is handed over any more; the cancel handler releases the
        // source's reference to the shared state once a handler still running returns.
        let mut dropped: Vec<Runnable> = {
            let mut timers = shared.timers.lock();
            timers.shutdown = true;
            let mut all: Vec<Runnable> = timers.heap.drain().collect();
            all.append(&mut timers.never);
            all
        };
        // SAFETY: the source is live (the shared state holds it); cancelling is allowed from
        // any thread, once or more.
        unsafe { ffi::dispatch_source_cancel(shared.timer_source.raw()) };
        // 3. Our background queue (taken under the lock `push` checks the gate under) and
        // the foreground queue.
        dropped.extend(shared.pool.take_queued());
        let foreground = {
            let mut main = shared.main.lock();
            main.shutdown = true;
            mem::take(&mut main.queue)
        };
        // 4. Cancel what never ran, so every awaiter hears of it: off the main thread a
        // foreground task's `!Send` future is leaked inside it, never dropped here.
        discard(dropped);
        discard(foreground);
    }
}
