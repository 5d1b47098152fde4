//! The single-threaded workloads the benches measure, one struct per line of a table: each
//! keeps its scheduler and its `Vec` of handles between iterations (so no line pays for
//! setup), spawns `n` trivial tasks, runs them all, and sums their outputs. Shared by
//! `benches/spawn.rs`, `benches/test_scheduler.rs` and `benches/instructions.rs` with
//! `#[path = "common/workloads.rs"] mod workloads;` (next to `mod floor;`).
#![allow(dead_code, unreachable_pub)]

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::task::Waker;
use core::time::Duration;
use std::sync::Mutex;

use async_executor::LocalExecutor;
use unified_scheduler::{
    Park, QueueScheduler, Runnable, Scheduler, Strategy, Task, TestScheduler, TestSchedulerConfig,
    Unparker,
};

use crate::floor::output;

/// `0 + 1 + ... + (n - 1)`: what every line's sum must be.
pub fn expected(n: u64) -> u64 {
    n * (n - 1) / 2
}

/// The least `Scheduler`: the floor's lock and queue behind the trait.
#[derive(Default)]
pub struct Fifo(Mutex<VecDeque<Runnable>>);

impl Scheduler for Fifo {
    fn schedule(&self, runnable: Runnable) {
        self.0.lock().unwrap().push_back(runnable);
    }
    fn schedule_after(&self, _delay: Duration, runnable: Runnable) {
        self.schedule(runnable);
    }
    fn park(&self, _timeout: Option<Duration>) -> Park {
        Park::Unparked
    }
    fn unparker(&self) -> Unparker {
        Unparker::from_waker(Waker::noop().clone())
    }
    fn is_main_thread(&self) -> bool {
        true
    }
    fn now(&self) -> unified_scheduler::Instant {
        unified_scheduler::Instant::now()
    }
}

/// The spawn helper: `Arc<dyn Scheduler>::spawn` onto [`Fifo`], so the difference from the
/// floor is what the helper adds (task id, metadata, the `Weak` in the schedule closure,
/// dynamic dispatch, the `Task` wrapper).
pub struct SpawnHelper {
    fifo: Arc<Fifo>,
    scheduler: Arc<dyn Scheduler>,
    tasks: Vec<Task<u64>>,
}

impl SpawnHelper {
    pub fn new() -> Self {
        let fifo = Arc::new(Fifo::default());
        Self {
            scheduler: fifo.clone(),
            fifo,
            tasks: Vec::new(),
        }
    }

    pub fn spawn_run(&mut self, n: u64) -> u64 {
        for i in 0..n {
            self.tasks.push(self.scheduler.spawn(async move { i }));
        }
        loop {
            let next = self.fifo.0.lock().unwrap().pop_front();
            match next {
                Some(runnable) => runnable.run(),
                None => break,
            };
        }
        self.tasks.drain(..).map(output).sum()
    }
}

/// The `TestScheduler`, driven as a test drives it: seeded random order, task tracking and
/// the schedule log on.
pub struct Test {
    pub test: Arc<TestScheduler>,
    scheduler: Arc<dyn Scheduler>,
    tasks: Vec<Task<u64>>,
}

impl Test {
    pub fn new() -> Self {
        // One scheduler runs every iteration: millions of steps, so no step budget. The
        // uniform walk, the pick these figures have always measured (seed 1 of the default
        // portfolio would be PCT's).
        let test = Arc::new(TestScheduler::with_config(
            TestSchedulerConfig::new()
                .seed(1)
                .strategy(Strategy::UniformRandom)
                .max_steps(u64::MAX),
        ));
        Self {
            scheduler: test.clone(),
            test,
            tasks: Vec::new(),
        }
    }

    pub fn spawn_run(&mut self, n: u64) -> u64 {
        for i in 0..n {
            self.tasks.push(self.scheduler.spawn(async move { i }));
        }
        self.test.run_until_parked();
        self.tasks.drain(..).map(output).sum()
    }

    /// `n` tasks that each yield `yields` times before they return.
    pub fn yields(&mut self, n: u64, yields: u32) -> u64 {
        for i in 0..n {
            self.tasks.push(self.scheduler.spawn(async move {
                for _ in 0..yields {
                    unified_scheduler::yield_now().await;
                }
                i
            }));
        }
        self.test.run_until_parked();
        self.tasks.drain(..).map(output).sum()
    }

    /// `n` tasks that each wait on a timer of `i` ms of virtual time, then the clock runs
    /// them out.
    pub fn timers(&mut self, n: u64) -> u64 {
        for i in 0..n {
            let scheduler = self.scheduler.clone();
            self.tasks.push(self.scheduler.spawn(async move {
                scheduler.timer(Duration::from_millis(i % 64)).await;
                i
            }));
        }
        self.test.run_with_clock_advancement();
        self.tasks.drain(..).map(output).sum()
    }

    /// One `block` on a future that spawns `n` tasks and awaits them all.
    pub fn block(&mut self, n: u64) -> u64 {
        let scheduler = self.scheduler.clone();
        self.scheduler.block(async move {
            let mut sum = 0;
            let tasks: Vec<_> = (0..n).map(|i| scheduler.spawn(async move { i })).collect();
            for task in tasks {
                sum += task.await;
            }
            sum
        })
    }
}

/// A fresh `TestScheduler` per call: what a test's seed pays, allocation of its queues
/// included.
pub fn test_fresh(n: u64) -> u64 {
    Test::new().spawn_run(n)
}

/// The `QueueScheduler`: `Arc<dyn Scheduler>::spawn`, then `run_all`.
pub struct Queue {
    queue: Arc<QueueScheduler>,
    scheduler: Arc<dyn Scheduler>,
    tasks: Vec<Task<u64>>,
}

impl Queue {
    pub fn new() -> Self {
        let queue = Arc::new(QueueScheduler::new());
        Self {
            scheduler: queue.clone(),
            queue,
            tasks: Vec::new(),
        }
    }

    pub fn spawn_run(&mut self, n: u64) -> u64 {
        for i in 0..n {
            self.tasks.push(self.scheduler.spawn(async move { i }));
        }
        self.queue.run_all();
        self.tasks.drain(..).map(output).sum()
    }
}

/// async-executor's `LocalExecutor`: `spawn`, then `while ex.try_tick() {}`.
pub struct Local {
    ex: LocalExecutor<'static>,
    tasks: Vec<async_executor::Task<u64>>,
}

impl Local {
    pub fn new() -> Self {
        Self {
            ex: LocalExecutor::new(),
            tasks: Vec::new(),
        }
    }

    pub fn spawn_run(&mut self, n: u64) -> u64 {
        for i in 0..n {
            self.tasks.push(self.ex.spawn(async move { i }));
        }
        while self.ex.try_tick() {}
        self.tasks.drain(..).map(output).sum()
    }
}

/// tokio's current-thread runtime with no drivers: inside one `block_on` (the only way to
/// drive it; paid once per call), `tokio::spawn` the tasks and await every `JoinHandle`.
pub struct Tokio {
    rt: tokio::runtime::Runtime,
    handles: Vec<tokio::task::JoinHandle<u64>>,
}

impl Tokio {
    pub fn new() -> Self {
        Self {
            rt: tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a current-thread runtime"),
            handles: Vec::new(),
        }
    }

    pub fn spawn_run(&mut self, n: u64) -> u64 {
        let handles = &mut self.handles;
        self.rt.block_on(async {
            for i in 0..n {
                handles.push(tokio::spawn(async move { i }));
            }
            let mut sum = 0;
            for handle in handles.drain(..) {
                sum += handle.await.expect("the task ran");
            }
            sum
        })
    }
}
