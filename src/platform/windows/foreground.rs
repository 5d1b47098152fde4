//! Foreground work on the main thread: the queue of foreground runnables, the coalesced
//! wake message that tells the window there is work, and the time slices that run it, so
//! the main thread's other messages get their turn (a continuation waits behind input and
//! paint through a window timer).

use ::core::mem;
use alloc::collections::VecDeque;
use std::time::Instant;

use windows_sys::Win32::UI::WindowsAndMessaging::{
    GetQueueStatus, PostMessageW, QS_INPUT, QS_PAINT, SetTimer, USER_TIMER_MINIMUM,
};

use super::Shared;
use super::window::{CONTINUE_TIMER, MSG_WAKE, window_message};
use crate::core::Runnable;
use crate::platform::main_thread::discard;
use crate::platform::unwind::run_guarded;

/// The main thread's queue of foreground runnables.
pub(super) struct MainQueue {
    pub(super) queue: VecDeque<Runnable>,
    /// A wake message is on its way to the window and has not been handled yet.
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

impl Shared {
    /// Queues a foreground runnable, posts one coalesced wake message, unparks the main
    /// thread.
    pub(super) fn send_foreground(&self, runnable: Runnable) {
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
        self.main_thread.unpark();
    }

    /// Posts the wake message; if that fails (the queue is full, the thread is gone), the
    /// next foreground schedule tries again, and `park`/`pump_pending` still run the queue.
    fn post_wake(&self) {
        // SAFETY: posting to a window handle is allowed from any thread.
        let posted = unsafe { PostMessageW(self.hwnd.get(), window_message(), MSG_WAKE, 0) };
        if posted == 0 {
            self.main.lock().posted = false;
        }
    }

    fn next_foreground(&self) -> Option<Runnable> {
        self.main.lock().queue.pop_front()
    }

    /// On the main thread: runs foreground runnables for one time slice (at least one if
    /// any waits). If work remains, makes sure a wake message is on its way. The lock is not
    /// held while a task runs: it may block, spawn, or pump messages itself.
    pub(super) fn run_main_slice(&self) -> usize {
        let start = Instant::now();
        let mut ran = 0;
        while let Some(runnable) = self.next_foreground() {
            run_guarded(runnable);
            ran += 1;
            if start.elapsed() >= self.time_slice {
                break;
            }
        }
        let mut main = self.main.lock();
        if !main.queue.is_empty() && !main.shutdown && !main.posted {
            main.posted = true;
            drop(main);
            self.post_continuation();
        }
        ran
    }

    /// On the main thread, with work left after a slice: posted messages are retrieved
    /// before input and paint, so if input or paint is waiting, continue from a window timer
    /// (`WM_TIMER` comes after them) instead of a posted message.
    fn post_continuation(&self) {
        // SAFETY: reads the calling thread's queue status; no preconditions.
        let waiting = unsafe { GetQueueStatus(QS_INPUT | QS_PAINT) } >> 16;
        if waiting != 0 {
            // SAFETY: our window, and we are on its thread (the main thread).
            let set =
                unsafe { SetTimer(self.hwnd.get(), CONTINUE_TIMER, USER_TIMER_MINIMUM, None) };
            if set != 0 {
                return;
            }
        }
        self.post_wake();
    }

    /// The window procedure's part: the wake message was taken off the queue.
    pub(super) fn on_wake_message(&self) {
        self.main.lock().posted = false;
        self.run_main_slice();
    }
}
