//! The floor every spawn bench compares against: bare `async-task` onto a locked `VecDeque`,
//! the least any scheduler built on `async-task` can do. Shared by `benches/spawn.rs` and
//! `benches/test_scheduler.rs` with `#[path = "common/floor.rs"] mod floor;`.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::Mutex;

/// Takes a finished task's output: one poll with a no-op waker, the same for every line.
/// Always inlined, so that no line pays a call that LLVM chose for one task type and not
/// for another (it inlined this for async-task's `Task`, not for this crate's).
#[inline(always)]
pub(crate) fn output<T>(mut task: impl Future<Output = T> + Unpin) -> T {
    match Pin::new(&mut task).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("the task should have finished"),
    }
}

/// The floor: bare `async-task` onto a locked `VecDeque`.
#[derive(Default)]
pub(crate) struct Floor {
    queue: Arc<Mutex<VecDeque<async_task::Runnable>>>,
    tasks: Vec<async_task::Task<u64>>,
}

impl Floor {
    /// Spawns `n` tasks, runs them, and sums their outputs.
    pub(crate) fn spawn_run(&mut self, n: u64) -> u64 {
        for i in 0..n {
            let queue = self.queue.clone();
            let schedule = move |runnable| queue.lock().unwrap().push_back(runnable);
            let (runnable, task) = async_task::spawn(async move { i }, schedule);
            self.queue.lock().unwrap().push_back(runnable);
            self.tasks.push(task);
        }
        loop {
            let next = self.queue.lock().unwrap().pop_front();
            match next {
                Some(runnable) => runnable.run(),
                None => break,
            };
        }
        self.tasks.drain(..).map(output).sum()
    }
}
