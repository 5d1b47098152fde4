//! What the `dyn Scheduler` spawn helper costs over bare `async-task` (issue: core crate).
//!
//! One group per workload (spawn and run 1 task; spawn and run 1,000), each with two lines
//! side by side:
//!
//! - `floor`: `async_task::spawn` onto a `Mutex<VecDeque>` written here, the least any
//!   scheduler built on `async-task` can do;
//! - `dyn_scheduler_spawn`: `Arc<dyn Scheduler>::spawn` onto `Fifo` (`common/workloads.rs`),
//!   a `Scheduler` with the same lock and the same queue, so the difference is what the helper adds (task id,
//!   metadata, the `Weak` in the schedule closure, dynamic dispatch, the `Task` wrapper).
//!
//! Both sides push the first runnable straight onto the queue, pop and run until it is
//! empty, then take every task's output by polling its handle once with a no-op waker. The
//! queues and the `Vec` of handles live outside the measured loop and keep their capacity,
//! so no line pays for setup. Target: the helper at most 1.2x the floor (the instruction
//! counts of `benches/instructions.rs` are the gated figures).

extern crate alloc;

#[path = "common/floor.rs"]
mod floor;
#[path = "common/workloads.rs"]
mod workloads;

use core::hint::black_box;
use core::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use floor::Floor;
use workloads::SpawnHelper;

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

        let mut ours = SpawnHelper::new();
        group.bench_function("dyn_scheduler_spawn", |b| {
            b.iter(|| assert_eq!(ours.spawn_run(black_box(n)), expected))
        });
        group.finish();
    }
}

criterion_group!(benches, spawn_run);
criterion_main!(benches);
