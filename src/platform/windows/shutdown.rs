//! Shutdown, when the user's last reference to the dispatcher is dropped: stop the pool
//! timers, take every queued runnable and cancel it (off the main thread, a foreground
//! task's future is leaked inside its cancelled task), wait for the callbacks still running
//! ours, then release the window and the private pool. The steps and their order are the ones in the implementation notes.

use ::core::mem;
use ::core::ptr;
use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::sync::PoisonError;

use windows_sys::Win32::System::Threading::{
    CloseThreadpool, CloseThreadpoolTimer, SetThreadpoolTimer, WaitForThreadpoolTimerCallbacks,
};
use windows_sys::Win32::UI::WindowsAndMessaging::{DestroyWindow, PostMessageW};

use super::WindowsDispatcher;
use super::pool::{Pool, RUNNING_FOR};
use super::timers::ArmedTimer;
use super::window::{MSG_CLOSE, window_message};
use crate::core::Runnable;
use crate::platform::main_thread::discard;
use crate::sync::MutexGuard;

impl Drop for WindowsDispatcher {
    fn drop(&mut self) {
        let shared = &self.shared;
        let on_main = shared.main_thread.is_current();
        // 1. Timers: no callback hands anything over from now on.
        let (armed, mut dropped) = {
            let mut timers = shared.timers.lock();
            timers.shutdown = true;
            let armed = mem::take(&mut timers.armed);
            let mut dropped: Vec<Runnable> = timers.heap.drain().collect();
            dropped.append(&mut timers.never);
            (armed, dropped)
        };
        for (_, ArmedTimer { timer, ctx }) in armed {
            // SAFETY: we removed the timer from `armed`, so we own it and its context. Stop
            // it, cancel its queued callbacks and wait for a running one (timer callbacks
            // never run user code and never wait for us, so this cannot deadlock); only then
            // close it and free the context that the callback reads.
            unsafe {
                SetThreadpoolTimer(timer, ptr::null(), 0, 0);
                WaitForThreadpoolTimerCallbacks(timer, 1);
                CloseThreadpoolTimer(timer);
                drop(Box::from_raw(ctx));
            }
        }
        // 2. The pool: a callback finds either work from before the shutdown or the shutdown.
        {
            let mut pool = shared.pool.lock();
            pool.shutdown = true;
            dropped.extend(pool.take_all());
        }
        // 3. Cancel what never ran, so every awaiter hears of it (off the main thread a
        // foreground task's `!Send` future is leaked inside it, never dropped here). From
        // now on a wake through the task queue finds the shutdown and cancels its task.
        let foreground = {
            let mut main = shared.main.lock();
            main.shutdown = true;
            mem::take(&mut main.queue)
        };
        discard(dropped);
        discard(foreground);
        // 4. Wait for callbacks running our runnables, except our own caller's, and for
        // submissions still under way on other threads (a wake through the task queue, a
        // timer callback handing over): they submit to the private pool closed below.
        let own = RUNNING_FOR.with(|running| ptr::eq(running.get(), Arc::as_ptr(shared)));
        let mut pool: MutexGuard<'_, Pool> = shared.pool.lock();
        while pool.running > usize::from(own) || pool.submitting > 0 {
            pool = shared
                .pool_idle
                .wait(pool)
                .unwrap_or_else(PoisonError::into_inner);
        }
        drop(pool);
        // 5. The window: only its own thread may destroy it.
        if on_main {
            // SAFETY: we are on the window's thread; `WM_NCDESTROY` releases its reference.
            unsafe { DestroyWindow(shared.hwnd.get()) };
        } else {
            // SAFETY: posting is allowed from any thread; if it fails, the window lives
            // until its thread ends (see the implementation notes).
            unsafe { PostMessageW(shared.hwnd.get(), window_message(), MSG_CLOSE, 0) };
        }
        // 6. The private pool is released once its last callback has returned.
        if self.private_pool != 0 {
            // SAFETY: the pool is ours and nothing submits to it any more (the dispatcher is
            // gone and the timers are closed); pending callbacks still run, and find nothing.
            unsafe { CloseThreadpool(self.private_pool) };
        }
    }
}
