//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

#[path = "../conformance/util.rs"]
pub mod util;
pub use util::panic_message;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use unified_scheduler::{Runnable, Scheduler, TaskLabel, Unparker};

/// Counts how many times it was dropped.
#[derive(Clone, Default)]
pub struct DropCounter(pub Arc<AtomicUsize>);

impl DropCounter {
    pub fn token(&self) -> DropToken {
        DropToken(self.0.clone())
    }
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct DropToken(Arc<AtomicUsize>);

impl Drop for DropToken {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A scheduler with no main thread that records what it was asked to do.
#[derive(Default)]
pub struct RecordingScheduler {
    pub queue: Mutex<VecDeque<Runnable>>,
    pub labels: Mutex<Vec<Option<TaskLabel>>>,
}

impl RecordingScheduler {
    pub fn pop(&self) -> Option<Runnable> {
        self.queue.lock().unwrap().pop_front()
    }
    pub fn run_all(&self) -> usize {
        let mut n = 0;
        while let Some(r) = self.pop() {
            r.run();
            n += 1;
        }
        n
    }
}

impl Scheduler for RecordingScheduler {
    fn schedule(&self, runnable: Runnable) {
        self.labels.lock().unwrap().push(None);
        self.queue.lock().unwrap().push_back(runnable);
    }
    fn schedule_labeled(&self, runnable: Runnable, label: TaskLabel) {
        self.labels.lock().unwrap().push(Some(label));
        self.queue.lock().unwrap().push_back(runnable);
    }
    fn schedule_after(&self, _delay: Duration, runnable: Runnable) {
        self.queue.lock().unwrap().push_back(runnable);
    }
    fn park(&self, _timeout: Option<Duration>) -> unified_scheduler::Park {
        self.run_all();
        unified_scheduler::Park::Unparked // the queue ran dry: let `block` poll again
    }
    fn unparker(&self) -> Unparker {
        Unparker::from_waker(std::task::Waker::noop().clone())
    }
    fn is_main_thread(&self) -> bool {
        false
    }
    fn now(&self) -> unified_scheduler::Instant {
        unified_scheduler::Instant::now()
    }
}

/// Runs `f`, expecting a panic; returns its message.
#[track_caller]
pub fn expect_panic<R>(f: impl FnOnce() -> R) -> String {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic, but the call returned"),
        Err(panic) => panic_message(&*panic),
    }
}
