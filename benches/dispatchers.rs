//! The platform's dispatcher against async-executor (an `Executor` run by 2 threads) and
//! tokio's multi-thread runtime with 2 workers, on the same workloads, side by side in one
//! group per workload (lines `dispatcher`, `async_executor`, `tokio`). The dispatcher gets 2
//! threads as well, so all three peers have the same parallelism:
//!
//! - Linux: the `LinuxDispatcher` with 2 workers,
//!   `cargo bench --features linux-calloop --bench dispatchers`;
//! - Windows: the `WindowsDispatcher` on a private pool of 2 threads,
//!   `cargo bench --features win-threadpool --bench dispatchers` (it builds for
//!   `x86_64-pc-windows-gnu` on Linux with `--no-run`; numbers under Wine mean little).
//!
//! Anywhere else (or without the feature) the bench only says that there is nothing to measure.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use criterion::Criterion;
use futures_lite::future;
use unified_scheduler::{Scheduler, Task};

const TASKS: usize = 1_000;
const YIELD_TASKS: usize = 100;
const YIELDS: usize = 100;
const CHAIN: usize = 100;

/// Makes the dispatcher under measurement, named for the report.
type Factory = (&'static str, fn() -> Arc<dyn Scheduler>);

#[cfg(all(target_os = "linux", feature = "linux-calloop"))]
const DISPATCHER: Option<Factory> = Some(("LinuxDispatcher", || {
    use unified_scheduler::{LinuxDispatcher, LinuxDispatcherConfig};
    let config = LinuxDispatcherConfig::default().worker_threads(2);
    Arc::new(LinuxDispatcher::with_config(config))
}));

#[cfg(all(windows, feature = "win-threadpool"))]
const DISPATCHER: Option<Factory> = Some(("WindowsDispatcher", || {
    use unified_scheduler::{WindowsDispatcher, WindowsDispatcherConfig};
    let config = WindowsDispatcherConfig::default().worker_threads(2);
    Arc::new(WindowsDispatcher::with_config(config))
}));

#[cfg(not(any(
    all(target_os = "linux", feature = "linux-calloop"),
    all(windows, feature = "win-threadpool"),
)))]
const DISPATCHER: Option<Factory> = None;

/// The task of the yields workload: yields `YIELDS` times.
async fn yield_many() {
    for _ in 0..YIELDS {
        future::yield_now().await;
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Workload = (&'static str, fn(&dyn Peer));

/// One workload, written once per executor.
trait Peer {
    fn name(&self) -> &'static str;
    fn spawn_outside(&self);
    fn spawn_inside(&self);
    fn yields(&self);
    fn chain(&self);
}

/// Any `Scheduler`; here, the platform's dispatcher.
struct Dispatcher(Arc<dyn Scheduler>);

fn dispatcher_chain(s: Arc<dyn Scheduler>, depth: usize) -> Task<usize> {
    let inner = s.clone();
    s.spawn(async move {
        if depth == 0 {
            0
        } else {
            dispatcher_chain(inner, depth - 1).await + 1
        }
    })
}

impl Peer for Dispatcher {
    fn name(&self) -> &'static str {
        "dispatcher"
    }
    fn spawn_outside(&self) {
        let tasks: Vec<Task<()>> = (0..TASKS).map(|_| self.0.spawn(async {})).collect();
        self.0.block(async {
            for task in tasks {
                task.await;
            }
        });
    }
    fn spawn_inside(&self) {
        let s = self.0.clone();
        let outer = self.0.spawn(async move {
            let tasks: Vec<Task<()>> = (0..TASKS).map(|_| s.spawn(async {})).collect();
            for task in tasks {
                task.await;
            }
        });
        self.0.block(outer);
    }
    fn yields(&self) {
        let tasks: Vec<Task<()>> = (0..YIELD_TASKS)
            .map(|_| self.0.spawn(yield_many()))
            .collect();
        self.0.block(async {
            for task in tasks {
                task.await;
            }
        });
    }
    fn chain(&self) {
        assert_eq!(self.0.block(dispatcher_chain(self.0.clone(), CHAIN)), CHAIN);
    }
}

struct AsyncExecutor(Arc<async_executor::Executor<'static>>);

impl AsyncExecutor {
    fn new() -> Self {
        let ex = Arc::new(async_executor::Executor::new());
        for _ in 0..2 {
            let ex = ex.clone();
            // Runs for the rest of the bench process.
            thread::spawn(move || future::block_on(ex.run(future::pending::<()>())));
        }
        Self(ex)
    }
}

fn ae_chain(ex: Arc<async_executor::Executor<'static>>, depth: usize) -> BoxFuture<usize> {
    let inner = ex.clone();
    Box::pin(async move {
        if depth == 0 {
            0
        } else {
            ex.spawn(ae_chain(inner, depth - 1)).await + 1
        }
    })
}

impl Peer for AsyncExecutor {
    fn name(&self) -> &'static str {
        "async_executor"
    }
    fn spawn_outside(&self) {
        let tasks: Vec<_> = (0..TASKS).map(|_| self.0.spawn(async {})).collect();
        future::block_on(async {
            for task in tasks {
                task.await;
            }
        });
    }
    fn spawn_inside(&self) {
        let ex = self.0.clone();
        future::block_on(self.0.spawn(async move {
            let tasks: Vec<_> = (0..TASKS).map(|_| ex.spawn(async {})).collect();
            for task in tasks {
                task.await;
            }
        }));
    }
    fn yields(&self) {
        let tasks: Vec<_> = (0..YIELD_TASKS)
            .map(|_| self.0.spawn(yield_many()))
            .collect();
        future::block_on(async {
            for task in tasks {
                task.await;
            }
        });
    }
    fn chain(&self) {
        let ex = self.0.clone();
        let top = self.0.spawn(ae_chain(ex, CHAIN));
        assert_eq!(future::block_on(top), CHAIN);
    }
}

struct Tokio(tokio::runtime::Runtime);

impl Tokio {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        Self(rt)
    }
}

fn tokio_chain(depth: usize) -> BoxFuture<usize> {
    Box::pin(async move {
        if depth == 0 {
            0
        } else {
            tokio::spawn(tokio_chain(depth - 1)).await.unwrap() + 1
        }
    })
}

impl Peer for Tokio {
    fn name(&self) -> &'static str {
        "tokio"
    }
    fn spawn_outside(&self) {
        let tasks: Vec<_> = (0..TASKS).map(|_| self.0.spawn(async {})).collect();
        self.0.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
    }
    fn spawn_inside(&self) {
        let outer = self.0.spawn(async {
            let tasks: Vec<_> = (0..TASKS).map(|_| tokio::spawn(async {})).collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
        self.0.block_on(outer).unwrap();
    }
    fn yields(&self) {
        let tasks: Vec<_> = (0..YIELD_TASKS)
            .map(|_| self.0.spawn(yield_many()))
            .collect();
        self.0.block_on(async {
            for task in tasks {
                task.await.unwrap();
            }
        });
    }
    fn chain(&self) {
        let top = self.0.spawn(tokio_chain(CHAIN));
        assert_eq!(self.0.block_on(top).unwrap(), CHAIN);
    }
}

/// Every workload, one group each, on the dispatcher `make` builds and the two executors.
fn benches(c: &mut Criterion, make: fn() -> Arc<dyn Scheduler>) {
    let peers: Vec<Box<dyn Peer>> = vec![
        Box::new(Dispatcher(make())),
        Box::new(AsyncExecutor::new()),
        Box::new(Tokio::new()),
    ];
    let workloads: [Workload; 4] = [
        ("spawn_1000_outside", |p| p.spawn_outside()),
        ("spawn_1000_inside", |p| p.spawn_inside()),
        ("100_tasks_x_100_yields", |p| p.yields()),
        ("spawn_await_chain_100", |p| p.chain()),
    ];
    for (workload, run) in workloads {
        let mut group = c.benchmark_group(workload);
        group
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        for peer in &peers {
            group.bench_function(peer.name(), |b| b.iter(|| run(&**peer)));
        }
        group.finish();
    }
}

fn main() {
    let Some((name, make)) = DISPATCHER else {
        println!(
            "no dispatcher to measure here: build on Linux with `--features linux-calloop` or on \
             Windows with `--features win-threadpool`"
        );
        return;
    };
    println!("dispatcher: {name}");
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c, make);
    c.final_summary();
}
