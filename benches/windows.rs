//! The `WindowsDispatcher` against async-executor (an `Executor` run by 2 threads) and
//! tokio's multi-thread runtime with 2 workers, on the same workloads as `benches/linux.rs`,
//! side by side in one group per workload. The dispatcher runs on a private thread pool of 2
//! threads, so all three peers have the same parallelism.
//!
//! Windows only: `cargo bench --features win-threadpool --bench windows` (it builds for
//! `x86_64-pc-windows-gnu` on Linux with `--no-run`; numbers under Wine mean little).

#[cfg(not(windows))]
fn main() {}

#[cfg(windows)]
criterion::criterion_main!(windows);

#[cfg(windows)]
mod bench {

    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::thread;
    use std::time::Duration;

    use criterion::{Criterion, criterion_group};
    use futures_lite::future;
    use unified_scheduler::{Scheduler, Task, WindowsDispatcher, WindowsDispatcherConfig};

    const TASKS: usize = 1_000;
    const YIELD_TASKS: usize = 100;
    const YIELDS: usize = 100;
    const CHAIN: usize = 100;

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

    struct Windows(Arc<dyn Scheduler>);

    impl Windows {
        fn new() -> Self {
            let config = WindowsDispatcherConfig::default().max_threads(2);
            Self(Arc::new(WindowsDispatcher::with_config(config)))
        }
    }

    fn windows_chain(s: Arc<dyn Scheduler>, depth: usize) -> Task<usize> {
        let inner = s.clone();
        s.spawn(async move {
            if depth == 0 {
                0
            } else {
                windows_chain(inner, depth - 1).await + 1
            }
        })
    }

    impl Peer for Windows {
        fn name(&self) -> &'static str {
            "WindowsDispatcher"
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
                .map(|_| {
                    self.0.spawn(async {
                        for _ in 0..YIELDS {
                            future::yield_now().await;
                        }
                    })
                })
                .collect();
            self.0.block(async {
                for task in tasks {
                    task.await;
                }
            });
        }
        fn chain(&self) {
            assert_eq!(self.0.block(windows_chain(self.0.clone(), CHAIN)), CHAIN);
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
            "async-executor"
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
                .map(|_| {
                    self.0.spawn(async {
                        for _ in 0..YIELDS {
                            future::yield_now().await;
                        }
                    })
                })
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
                .map(|_| {
                    self.0.spawn(async {
                        for _ in 0..YIELDS {
                            future::yield_now().await;
                        }
                    })
                })
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

    fn benches(c: &mut Criterion) {
        let peers: Vec<Box<dyn Peer>> = vec![
            Box::new(Windows::new()),
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

    criterion_group!(windows, benches);
}

#[cfg(windows)]
use bench::windows;
