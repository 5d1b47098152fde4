//! The runners' watchdog: the one hang a step budget cannot catch is a poll that never
//! returns (a task or test body busy-waiting on a flag without awaiting). A thread of its
//! own watches the running seed's progress; if no step starts and no blocked future is
//! polled for the poll time limit while no thread waits for a real wake, it prints the seed,
//! what was running, and the replay command, and ends the process: the spinning thread
//! cannot be unwound, and hanging forever would say nothing at all.

use alloc::format;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;
use std::io::Write;
use std::thread::JoinHandle;
use std::time::Instant;

use super::TestScheduler;
use crate::sync::Mutex;

/// Watches one seed at a time, from its own thread, until dropped.
pub(super) struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    limit: Duration,
    watched: Mutex<Option<Watched>>,
    stop: AtomicBool,
    unparker: parking::Unparker,
}

#[derive(Clone)]
struct Watched {
    test: Weak<TestScheduler>,
    replay_command: String,
}

impl Watchdog {
    /// Starts watching (nothing yet) with `limit` per poll.
    pub(super) fn start(limit: Duration) -> Self {
        let (parker, unparker) = parking::pair();
        let shared = Arc::new(Shared {
            limit,
            watched: Mutex::new(None),
            stop: AtomicBool::new(false),
            unparker,
        });
        let watcher = shared.clone();
        let thread = std::thread::Builder::new()
            .name(String::from("unified-scheduler-watchdog"))
            .spawn(move || watcher.run(&parker))
            // Without a watchdog the run still works; only a spin loop would hang it.
            .ok();
        Self { shared, thread }
    }

    /// Watches `test` from now on, with the command that replays its seed.
    pub(super) fn watch(&self, test: &Arc<TestScheduler>, replay_command: &str) {
        *self.shared.watched.lock() = Some(Watched {
            test: Arc::downgrade(test),
            replay_command: String::from(replay_command),
        });
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.unparker.unpark();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn run(&self, parker: &parking::Parker) {
        let check_every = (self.limit / 4).max(Duration::from_millis(1));
        // The last progress seen: which scheduler, its counter, and since when.
        let mut last: Option<(*const TestScheduler, usize, Instant)> = None;
        loop {
            parker.park_timeout(check_every);
            if self.stop.load(Ordering::Acquire) {
                return;
            }
            let watched = self.watched.lock().clone();
            let Some(watched) = watched else { continue };
            let Some(test) = watched.test.upgrade() else {
                last = None;
                continue;
            };
            let progress = test.progress.load(Ordering::Relaxed);
            let waiting_for_real = test.parked_for_real.load(Ordering::Relaxed) > 0;
            let now = Instant::now();
            match last {
                Some((seen, count, since))
                    if seen == Arc::as_ptr(&test) && count == progress && !waiting_for_real =>
                {
                    if now.duration_since(since) >= self.limit {
                        self.report_and_exit(&test, &watched.replay_command);
                    }
                }
                _ => last = Some((Arc::as_ptr(&test), progress, now)),
            }
        }
    }

    fn report_and_exit(&self, test: &TestScheduler, replay_command: &str) -> ! {
        let (seed, last_run) = {
            let state = test.lock();
            (state.config.seed, state.last_run)
        };
        let running = match last_run {
            Some(task) => format!(
                "the last code to start was {task} (or a future it blocks on, the test \
                 body included)"
            ),
            None => String::from("the test body"),
        };
        let message = format!(
            "\nTestScheduler (seed {seed}): nothing returned to the scheduler for {:?}: \
             {running} is still running. A spin loop that never awaits (a busy-wait on a \
             flag, a `try_recv` loop) keeps every other task from running; await something \
             that can wait (or `yield_now().await`) inside the loop. The process ends here: \
             a spinning thread cannot be unwound. (The limit is \
             `TestSchedulerConfig::poll_time_limit`.)\nReplay it with:\n    \
             {replay_command}\n",
            self.limit
        );
        // Straight to the process's stderr: libtest's capture of this thread's output would
        // be lost with the process.
        let _ = std::io::stderr().write_all(message.as_bytes());
        std::process::exit(101)
    }
}
