//! Shutdown, when the user's last reference to the dispatcher is dropped; the steps and
//! their order are the ones in the implementation notes.

use crate::core::thread_bound::current_thread_id;
use crate::platform::main_thread::discard;

use super::LinuxDispatcher;

impl Drop for LinuxDispatcher {
    fn drop(&mut self) {
        let here = current_thread_id();
        // 1. The timer thread runs no user code, so joining it cannot deadlock.
        self.timers.stop();
        if let Some(handle) = self.timer_thread.take() {
            let _ = handle.join();
        }
        let mut dropped = self.timers.take_all();
        // 2. Stop the pool and take its queues; wakes from now on cancel their task.
        dropped.extend(self.shared.pool.shut_down());
        self.shared.foreground.close();
        // 3. Cancel the tasks that never ran before joining, so a worker blocked on one of
        // them sees the cancellation and returns, and every awaiter hears of it. Off the main
        // thread a foreground task's `!Send` future is leaked, not dropped (`ThreadBound`).
        // A panicking destructor aborts the process here, as everywhere in async-task.
        dropped.extend(self.main.drain());
        discard(dropped);
        // 4. Join the pool's threads; a worker dropping the dispatcher exits after its
        // current task. No thread starts after this: `spawn_worker` checks the shutdown
        // under the same lock.
        let threads = ::core::mem::take(&mut *self.shared.threads.lock());
        for handle in threads {
            if handle.thread().id() != here {
                let _ = handle.join();
            }
        }
    }
}
