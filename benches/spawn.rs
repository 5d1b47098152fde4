//! What the `dyn Scheduler` spawn helper costs over bare `async-task` (issue: core crate).
//!
//! One group per workload (spawn and run 1 task; spawn and run 1,000), each with two lines
//! side by side:
//!
//! - `floor`: `async_task::spawn` onto a `Mutex<VecDeque>` written here, the least any
//!   scheduler built on `async-task` can do;
//! - `dyn_scheduler_spawn`: `Arc<dyn Scheduler>::spawn` onto [`Fifo`], a `Scheduler` with
//!   the same lock and the same queue, so the difference is what the helper adds (task id,
//!   metadata, the `Weak` in the schedule closure, dynamic dispatch, the `Task` wrapper).
//!
//! Both sides push the first runnable straight onto the queue, pop and run until it is
//! empty, then take every task's output by polling its handle once with a no-op waker. The
//! queues and the `Vec` of handles live outside the measured loop and keep their capacity,
//! so no line pays for setup. Target: the helper at most 1.3x the floor.

extern crate alloc;

#[path = "common/floor.rs"]
mod floor;

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::hint::black_box;
use core::task::Waker;
use core::time::Duration;
use std::sync::Mutex;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use unified_scheduler::{Runnable, Scheduler, Unparker};

use floor::{Floor, output};

/// The least `Scheduler`: the floor's lock and queue behind the trait.
#[derive(Default)]
struct Fifo(Mutex<VecDeque<Runnable>>);

impl Scheduler for Fifo {
    fn schedule(&self, runnable: Runnable) {
        self.0.lock().unwrap().push_back(runnable);
    }
    fn schedule_after(&self, _delay: Duration, runnable: Runnable) {
        self.schedule(runnable);
    }
    fn park(&self, _timeout: Option<Duration>) -> unified_scheduler::Park {
        unified_scheduler::Park::Unparked
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

/// Our helper: `Arc<dyn Scheduler>::spawn` onto [`Fifo`].
struct Ours {
    fifo: Arc<Fifo>,
    scheduler: Arc<dyn Scheduler>,
    tasks: Vec<unified_scheduler::Task<u64>>,
}

impl Ours {
    fn new() -> Self {
        let fifo = Arc::new(Fifo::default());
        Self {
            scheduler: fifo.clone(),
            fifo,
            tasks: Vec::new(),
        }
    }

    /// Spawns `n` tasks, runs them, and sums their outputs.
    fn spawn_run(&mut self, n: u64) -> u64 {
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

fn spawn_run(c: &mut Criterion) {
    for n in [1u64, 1_000] {
        let mut group = c.benchmark_group(format!("spawn_{n}"));
        group
            .sample_size(50)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(2))
            .throughput(Throughput::Elements(n));
        let expected = n * (n - 1) / 2;

        let mut floor = Floor::default();
        group.bench_function("floor", |b| {
            b.iter(|| assert_eq!(floor.spawn_run(black_box(n)), expected))
        });

        let mut ours = Ours::new();
        group.bench_function("dyn_scheduler_spawn", |b| {
            b.iter(|| assert_eq!(ours.spawn_run(black_box(n)), expected))
        });
        group.finish();
    }
}

criterion_group!(benches, spawn_run);
criterion_main!(benches);
