//! What a spawned task costs on the `TestScheduler`, next to the floor and two executors
//! (issue: TestScheduler).
//!
//! Group `schedulers_1000`: spawn 1,000 trivial tasks (each returns a `u64`), run them all,
//! take every output. Lines:
//!
//! - `floor`: bare `async_task::spawn` onto a `Mutex<VecDeque>` written here;
//! - `test_scheduler`: `Arc<dyn Scheduler>::spawn` on a seeded `TestScheduler` (random
//!   order, task tracking and the schedule fingerprint on, as tests use it), then
//!   `run_until_parked()`;
//! - `queue_scheduler`: `Arc<dyn Scheduler>::spawn` on the `QueueScheduler`, then `run_all`;
//! - `async_executor_local`: `LocalExecutor::spawn`, then `while ex.try_tick() {}`;
//! - `tokio_current_thread`: inside one `block_on` on a current-thread runtime with no
//!   drivers, `tokio::spawn` the tasks (the runtime's local-queue fast path), then await
//!   every `JoinHandle`. `block_on` is the only way to drive that runtime; its entry cost is
//!   paid once per 1,000 tasks.
//!
//! Every line keeps its scheduler and its `Vec` of handles outside the measured loop, and
//! all but tokio take outputs the same way: one poll with a no-op waker after the run.
//! Targets: `test_scheduler` within 2x the floor, faster than both executors.
//!
//! Group `queue_growth`: the floor and the `TestScheduler` (kept, and fresh per iteration as
//! a seed's is) with 1,000 and 100,000 tasks queued before the run, reported per task.
//! Target: 100k per-task time within 2x of 1k's.

extern crate alloc;

#[path = "common/floor.rs"]
mod floor;
#[path = "common/workloads.rs"]
mod workloads;

use core::hint::black_box;
use core::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};

use floor::Floor;
use workloads::{Local, Queue, Test, Tokio, expected, test_fresh};

const N: u64 = 1_000;

fn schedulers_1000(c: &mut Criterion) {
    let mut group = c.benchmark_group("schedulers_1000");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(N));

    let mut floor = Floor::default();
    group.bench_function("floor", |b| {
        b.iter(|| assert_eq!(floor.spawn_run(black_box(N)), expected(N)))
    });

    let mut test = Test::new();
    group.bench_function("test_scheduler", |b| {
        b.iter(|| assert_eq!(test.spawn_run(black_box(N)), expected(N)))
    });

    let mut queue = Queue::new();
    group.bench_function("queue_scheduler", |b| {
        b.iter(|| assert_eq!(queue.spawn_run(black_box(N)), expected(N)))
    });

    let mut local = Local::new();
    group.bench_function("async_executor_local", |b| {
        b.iter(|| assert_eq!(local.spawn_run(black_box(N)), expected(N)))
    });

    let mut tokio = Tokio::new();
    group.bench_function("tokio_current_thread", |b| {
        b.iter(|| assert_eq!(tokio.spawn_run(black_box(N)), expected(N)))
    });
    group.finish();
}

fn queue_growth(c: &mut Criterion) {
    let mut group = c.benchmark_group("queue_growth");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sampling_mode(SamplingMode::Flat);
    for n in [1_000u64, 100_000] {
        group.throughput(Throughput::Elements(n));
        let mut floor = Floor::default();
        group.bench_function(BenchmarkId::new("floor", n), |b| {
            b.iter(|| assert_eq!(floor.spawn_run(black_box(n)), expected(n)))
        });
        let mut test = Test::new();
        group.bench_function(BenchmarkId::new("test_scheduler", n), |b| {
            b.iter(|| assert_eq!(test.spawn_run(black_box(n)), expected(n)))
        });
        // What one seed of a test pays: a fresh scheduler, its queues grown from empty.
        group.bench_function(BenchmarkId::new("test_scheduler_fresh", n), |b| {
            b.iter(|| assert_eq!(test_fresh(black_box(n)), expected(n)))
        });
    }
    group.finish();
}

criterion_group!(benches, schedulers_1000, queue_growth);
criterion_main!(benches);
