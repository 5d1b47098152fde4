//! The platform's dispatcher next to async-executor and tokio's multi-thread runtime, on
//! async-executor's workloads (its `benches/executor.rs`), under its names and sizes, so
//! figures can be compared by name. One criterion group per workload; its lines are the
//! peers, measured side by side in the same run:
//!
//! - `dispatcher`: [`PlatformDispatcher::new()`] as an `Arc<dyn Scheduler>`, driven by the
//!   crate's helpers (`spawn`, `Task::detach`, `block`), as a user writes it;
//! - `async_executor`: an `Executor` run by as many threads as the dispatcher has workers,
//!   the bench thread waiting in `future::block_on`, as async-executor's own multi-threaded
//!   bench does;
//! - `tokio`: a multi-thread runtime with the same number of workers, the bench thread
//!   waiting in `block_on`, tasks spawned through its `Handle`;
//! - with the `gcd` backend built (`us_gcd`): `gcd_floor`, bare async-task whose schedule
//!   function is a raw `dispatch_async_f` of `Runnable::into_raw()` on GCD's global
//!   `USER_INITIATED` queue (no gate, no shutdown, no foreground), the least a task costs on
//!   GCD, run on every workload; and, where the platform's dispatcher is another backend
//!   (Linux with `LIBDISPATCH_DIR`), `mac_dispatcher`: `MacDispatcher::new()` driven like
//!   `dispatcher`;
//! - `floor` (only in `spawn_one` and `spawn_many_local`, where the workload is independent
//!   trivial tasks): bare async-task on a locked `VecDeque`, run on the bench thread
//!   (`benches/common/floor.rs`). It has no threads to hand work to, so it is the least a
//!   spawn costs, not a peer the others could match.
//!
//! Every peer gets `max(available_parallelism, 2)` worker threads, the dispatcher's default.
//! Each workload is written once, generic over [`Peer`], so every peer runs the same code;
//! `channels` and `web_server` use one small channel for all (`benches/common/channel.rs`).
//! Each peer is built once per group, outside the measured loop. The workloads:
//!
//! - `spawn_one`: spawn one empty task from the bench thread and wait for it;
//! - `spawn_batch`: spawn 250 tasks that yield once each, from the bench thread; only the
//!   spawning is timed (async-executor's bench times its `spawn_many`), the batch is awaited
//!   untimed after each iteration so nothing piles up. async-executor uses `spawn_many`, the
//!   others (which have no batch call) spawn in a loop;
//! - `spawn_many_local`: spawn 25,000 empty tasks from the bench thread, then await each;
//! - `spawn_recursively`: 300 tasks each start a chain 300 deep, every link spawned from
//!   inside the task before it, which awaits it (90,000 spawns from the workers);
//! - `yield_now`: 300 tasks yield 300 times each (90,000 wakes of a running task);
//! - `channels`: 300 tasks in a ring of capacity-1 channels with the bench thread; a token
//!   goes round 300 times (90,000 hand-offs, each a wake of another task);
//! - `web_server`: a simulated server. A listener task accepts 300 connections and spawns a
//!   detached handler for each; half the handlers answer from a cache, the others make
//!   150-299 calls to a database task through a channel, each call waiting for its answer
//!   on a channel of its own; the database yields 0-9 times before each answer. Seeded, so
//!   every peer serves the same requests. An iteration ends when the database has served
//!   the last handler.
//!
//! async-executor's `create` (building an executor) is left out: it measures construction,
//! which the other groups keep outside the loop. Benches measure, they do not check results
//! beyond what a workload needs to run.
//!
//! Cargo targets: `dispatchers` (feature `linux-calloop`), `dispatchers_windows` (feature
//! `win-threadpool`) and `dispatchers_mac` (feature `gcd`); the last two are files that only
//! include this one, with `bench = false`, so a plain `cargo bench --all-features` runs the
//! bench once. Cargo's
//! `required-features` is a conjunction, so one target cannot ask for "either backend"; this
//! file names no OS, [`PlatformDispatcher`] does.
//!
//! - Linux: `cargo bench --features linux-calloop --bench dispatchers`;
//! - Windows: `cargo bench --features win-threadpool --bench dispatchers_windows` (built on
//!   Linux with `--no-run --target x86_64-pc-windows-gnu`; numbers under Wine mean little);
//! - Apple: `cargo bench --features gcd --bench dispatchers_mac`;
//! - Linux with the GCD peers: `LIBDISPATCH_DIR=... cargo bench --features gcd,linux-calloop
//!   --bench dispatchers`.
//!
//! Durations come from criterion's command line, e.g. `-- --warm-up-time 1
//! --measurement-time 3`.

// `common/floor.rs` names `alloc`. When this file is the crate root (the `dispatchers`
// target) this brings it in; as a module of `dispatchers_windows`, that root does.
#[allow(unused_extern_crates)]
extern crate alloc;

#[cfg(any(us_linux_calloop, us_win_threadpool, us_gcd))]
#[path = "common/channel.rs"]
mod channel;
#[cfg(any(us_linux_calloop, us_win_threadpool, us_gcd))]
#[path = "common/floor.rs"]
mod floor;

// `PlatformDispatcher` exists only where build.rs turned a backend on (its cfgs reach every
// target of the package); elsewhere the bench builds, to be linted, and says so.
#[cfg(any(us_linux_calloop, us_win_threadpool, us_gcd))]
mod workloads {
    use super::{channel, floor};

    use alloc::sync::Arc;
    use core::future::Future;
    use core::hint::black_box;
    use core::pin::Pin;
    use core::task::{Context, Poll};
    use std::thread::{self, JoinHandle};
    use std::time::{Duration, Instant};

    use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput, measurement::WallTime};
    use futures_lite::future;
    use unified_scheduler::{PlatformDispatcher, Scheduler};

    use floor::Floor;

    /// Tasks in `spawn_recursively`, `yield_now`, `channels`; connections in `web_server`.
    const TASKS: usize = 300;
    /// Depth, yields, laps, database calls (`STEPS / 2..STEPS`) of those workloads.
    const STEPS: usize = 300;
    /// Tasks in `spawn_many_local`.
    const LIGHT_TASKS: usize = 25_000;
    /// Tasks in one `spawn_batch`.
    const BATCH: usize = 250;

    /// What a workload needs of an executor: spawn from anywhere, let a task go, wait on the
    /// bench thread. Cheap to clone; a clone spawns onto the same executor.
    trait Peer: Clone + Send + Sync + 'static {
        /// A spawned task's handle: awaiting it gives the task's output.
        type Task<T: Send + 'static>: Future<Output = T> + Send + 'static;

        fn spawn<F>(&self, future: F) -> Self::Task<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static;

        /// Spawns `BATCH` copies of a once-yielding task into `tasks`.
        fn spawn_batch(&self, tasks: &mut Vec<Self::Task<()>>) {
            tasks.extend((0..BATCH).map(|_| self.spawn(future::yield_now())));
        }

        fn detach<T: Send + 'static>(task: Self::Task<T>);

        /// Runs `future` to completion on the bench thread.
        fn block_on<F: Future>(&self, future: F) -> F::Output;
    }

    /// How many worker threads every peer gets: the `PlatformDispatcher`'s default.
    fn worker_threads() -> usize {
        thread::available_parallelism()
            .map_or(1, |n| n.get())
            .max(2)
    }

    // --- the peers -------------------------------------------------------------------------

    /// Ours: any `Scheduler` behind the crate's helpers; here the `PlatformDispatcher`.
    #[derive(Clone)]
    struct Dispatcher(Arc<dyn Scheduler>);

    impl Peer for Dispatcher {
        type Task<T: Send + 'static> = unified_scheduler::Task<T>;

        fn spawn<F>(&self, future: F) -> Self::Task<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            self.0.spawn(future)
        }
        fn detach<T: Send + 'static>(task: Self::Task<T>) {
            task.detach();
        }
        fn block_on<F: Future>(&self, future: F) -> F::Output {
            self.0.block(future)
        }
    }

    /// async-executor's `Executor`; the threads that run it belong to [`AsyncExecutorThreads`].
    #[derive(Clone)]
    struct AsyncExecutor(Arc<async_executor::Executor<'static>>);

    impl Peer for AsyncExecutor {
        type Task<T: Send + 'static> = async_executor::Task<T>;

        fn spawn<F>(&self, future: F) -> Self::Task<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            self.0.spawn(future)
        }
        fn spawn_batch(&self, tasks: &mut Vec<Self::Task<()>>) {
            self.0
                .spawn_many((0..BATCH).map(|_| future::yield_now()), tasks);
        }
        fn detach<T: Send + 'static>(task: Self::Task<T>) {
            task.detach();
        }
        fn block_on<F: Future>(&self, future: F) -> F::Output {
            future::block_on(future)
        }
    }

    /// The threads running an [`AsyncExecutor`]; dropping this stops and joins them.
    struct AsyncExecutorThreads {
        stops: Vec<channel::Sender<()>>,
        threads: Vec<JoinHandle<()>>,
    }

    impl AsyncExecutorThreads {
        fn start(count: usize) -> (AsyncExecutor, Self) {
            let ex = Arc::new(async_executor::Executor::new());
            let mut stops = Vec::with_capacity(count);
            let threads = (0..count)
                .map(|_| {
                    // One channel a thread (it has one receiver): `recv` returns `None` when
                    // its sender is dropped.
                    let (stop, stopped) = channel::bounded::<()>(1);
                    stops.push(stop);
                    let ex = ex.clone();
                    thread::spawn(move || {
                        future::block_on(ex.run(stopped.recv()));
                    })
                })
                .collect();
            (AsyncExecutor(ex), Self { stops, threads })
        }
    }

    impl Drop for AsyncExecutorThreads {
        fn drop(&mut self) {
            self.stops.clear();
            for thread in self.threads.drain(..) {
                thread.join().expect("an executor thread panicked");
            }
        }
    }

    /// tokio's multi-thread runtime, through a `Handle`; the runtime itself is kept aside.
    #[derive(Clone)]
    struct Tokio(tokio::runtime::Handle);

    /// A tokio `JoinHandle` that gives the output itself (a task of the benches never panics).
    struct TokioTask<T>(tokio::task::JoinHandle<T>);

    impl<T> Future for TokioTask<T> {
        type Output = T;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
            Pin::new(&mut self.0)
                .poll(cx)
                .map(|output| output.expect("the task ran"))
        }
    }

    impl Peer for Tokio {
        type Task<T: Send + 'static> = TokioTask<T>;

        fn spawn<F>(&self, future: F) -> Self::Task<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            TokioTask(self.0.spawn(future))
        }
        fn detach<T: Send + 'static>(task: Self::Task<T>) {
            drop(task);
        }
        fn block_on<F: Future>(&self, future: F) -> F::Output {
            self.0.block_on(future)
        }
    }

    /// The floor on GCD: bare async-task, scheduled with a raw `dispatch_async_f` on the
    /// global `USER_INITIATED` queue, the runnable itself as the context.
    #[cfg(us_gcd)]
    mod gcd_floor {
        use core::ffi::c_void;
        use core::future::Future;
        use core::ptr::NonNull;

        use futures_lite::future;

        use super::Peer;

        /// `QOS_CLASS_USER_INITIATED`.
        const USER_INITIATED: isize = 0x19;

        #[repr(C)]
        struct Queue {
            _private: [u8; 0],
        }

        #[cfg_attr(target_vendor = "apple", link(name = "System", kind = "dylib"))]
        #[cfg_attr(not(target_vendor = "apple"), link(name = "dispatch"))]
        unsafe extern "C" {
            fn dispatch_get_global_queue(identifier: isize, flags: usize) -> *mut Queue;
            fn dispatch_async_f(
                queue: *mut Queue,
                context: *mut c_void,
                work: unsafe extern "C" fn(*mut c_void),
            );
        }

        #[derive(Clone, Copy)]
        pub(super) struct GcdFloor;

        fn schedule(runnable: async_task::Runnable) {
            // SAFETY: no preconditions; a valid QoS class gives the static global queue.
            let queue = unsafe { dispatch_get_global_queue(USER_INITIATED, 0) };
            let context = runnable.into_raw().as_ptr().cast::<c_void>();
            // SAFETY: a global queue; `run` takes the runnable back exactly once.
            unsafe { dispatch_async_f(queue, context, run) };
        }

        unsafe extern "C" fn run(context: *mut c_void) {
            // SAFETY: the `into_raw` of `schedule`, called once by GCD. A bench task never
            // panics (and an `extern "C"` function aborts rather than unwind).
            let runnable = unsafe {
                async_task::Runnable::<()>::from_raw(NonNull::new_unchecked(context.cast()))
            };
            runnable.run();
        }

        impl Peer for GcdFloor {
            type Task<T: Send + 'static> = async_task::Task<T>;

            fn spawn<F>(&self, future: F) -> Self::Task<F::Output>
            where
                F: Future + Send + 'static,
                F::Output: Send + 'static,
            {
                let (runnable, task) = async_task::spawn(future, schedule);
                runnable.schedule();
                task
            }
            fn detach<T: Send + 'static>(task: Self::Task<T>) {
                task.detach();
            }
            fn block_on<F: Future>(&self, future: F) -> F::Output {
                future::block_on(future)
            }
        }
    }

    fn tokio_runtime(workers: usize) -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
            .expect("a tokio runtime")
    }

    // --- the workloads, written once ---------------------------------------------------------

    async fn await_all<T: Future>(tasks: impl IntoIterator<Item = T>) {
        for task in tasks {
            task.await;
        }
    }

    fn spawn_one<P: Peer>(peer: &P) {
        peer.block_on(peer.spawn(async {}));
    }

    /// Times spawning `iters` batches; each batch is awaited after its clock stops.
    fn spawn_batch<P: Peer>(peer: &P, iters: u64) -> Duration {
        let mut tasks = Vec::with_capacity(BATCH);
        let mut spent = Duration::ZERO;
        for _ in 0..iters {
            let start = Instant::now();
            peer.spawn_batch(&mut tasks);
            spent += start.elapsed();
            peer.block_on(await_all(tasks.drain(..)));
        }
        spent
    }

    fn spawn_many_local<P: Peer>(peer: &P) {
        peer.block_on(async {
            let tasks: Vec<_> = (0..LIGHT_TASKS).map(|_| peer.spawn(async {})).collect();
            await_all(tasks).await;
        });
    }

    type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

    /// One link of a `spawn_recursively` chain: spawns the rest of the chain and awaits it.
    fn chain<P: Peer>(peer: P, depth: usize) -> BoxFuture {
        Box::pin(async move {
            if depth > 0 {
                let rest = chain(peer.clone(), depth - 1);
                peer.spawn(rest).await;
            }
        })
    }

    fn spawn_recursively<P: Peer>(peer: &P) {
        peer.block_on(async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| peer.spawn(chain(peer.clone(), STEPS)))
                .collect();
            await_all(tasks).await;
        });
    }

    fn yield_now<P: Peer>(peer: &P) {
        peer.block_on(async {
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    peer.spawn(async {
                        for _ in 0..STEPS {
                            future::yield_now().await;
                        }
                    })
                })
                .collect();
            await_all(tasks).await;
        });
    }

    fn channels<P: Peer>(peer: &P) {
        peer.block_on(async {
            // The ring: bench thread -> task 0 -> ... -> task TASKS-1 -> bench thread.
            let (first, mut from_last) = channel::bounded::<()>(1);
            let mut tasks = Vec::with_capacity(TASKS);
            for _ in 0..TASKS {
                let (to_next, from_this) = channel::bounded::<()>(1);
                let from_previous = core::mem::replace(&mut from_last, from_this);
                tasks.push(peer.spawn(async move {
                    for _ in 0..STEPS {
                        from_previous.recv().await.expect("the ring is open");
                        to_next.send(()).await.expect("the ring is open");
                    }
                }));
            }
            for _ in 0..STEPS {
                first.send(()).await.expect("the ring is open");
                from_last.recv().await.expect("the ring is open");
            }
            await_all(tasks).await;
        });
    }

    /// SplitMix64: the same stream on every peer, so every peer serves the same requests.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        /// A number in `0..n` (modulo bias is irrelevant here).
        fn below(&mut self, n: usize) -> usize {
            (self.next_u64() % n as u64) as usize
        }
        /// A generator of its own, for a spawned task.
        fn split(&mut self) -> Rng {
            Rng(self.next_u64())
        }
    }

    /// A request to the database: where to send the answer.
    type Query = channel::Sender<u64>;

    async fn yield_times(n: usize) {
        for _ in 0..n {
            future::yield_now().await;
        }
    }

    /// One connection: half from the cache, the others through `STEPS / 2..STEPS` database calls.
    async fn handle_connection(mut rng: Rng, database: channel::Sender<Query>) {
        if rng.below(2) == 0 {
            future::yield_now().await;
            return;
        }
        for _ in 0..STEPS / 2 + rng.below(STEPS / 2) {
            let (answer, answered) = channel::bounded(1);
            if database.send(answer).await.is_err() {
                panic!("the database stopped early");
            }
            black_box(answered.recv().await.expect("the database answers"));
        }
        // Writing the response.
        yield_times(3 + rng.below(13)).await;
    }

    fn web_server<P: Peer>(peer: &P) {
        peer.block_on(async {
            let mut rng = Rng(0x5eed);
            let (database, queries) = channel::bounded::<Query>(TASKS / 5);
            let mut db_rng = rng.split();
            // Ends when every sender, the listener's and the handlers', is gone.
            let db = peer.spawn(async move {
                while let Some(answer) = queries.recv().await {
                    yield_times(db_rng.below(10)).await;
                    let _ = answer.send(db_rng.next_u64()).await;
                }
            });
            let spawner = peer.clone();
            let listener = peer.spawn(async move {
                for connection in 0..TASKS {
                    // Waiting for the next connection, now and then.
                    if rng.below(16) == 0 {
                        future::yield_now().await;
                    }
                    let handler = spawner.spawn(handle_connection(rng.split(), database.clone()));
                    P::detach(handler);
                    if connection % 2 == 1 {
                        future::yield_now().await;
                    }
                }
            });
            listener.await;
            db.await;
        });
    }

    // --- criterion -----------------------------------------------------------------------------

    /// Every peer built once per group, and the floor where it fits.
    struct Peers {
        dispatcher: Dispatcher,
        /// The `MacDispatcher`, where the platform's dispatcher is another backend.
        #[cfg(all(us_gcd, us_linux_calloop))]
        mac_dispatcher: Dispatcher,
        async_executor: AsyncExecutor,
        tokio: Tokio,
        // Kept alive for the group; dropped (threads joined) at its end.
        _async_executor_threads: AsyncExecutorThreads,
        _tokio_runtime: tokio::runtime::Runtime,
    }

    impl Peers {
        fn new() -> Self {
            let workers = worker_threads();
            let (async_executor, threads) = AsyncExecutorThreads::start(workers);
            let runtime = tokio_runtime(workers);
            Self {
                dispatcher: Dispatcher(Arc::new(PlatformDispatcher::new())),
                #[cfg(all(us_gcd, us_linux_calloop))]
                mac_dispatcher: Dispatcher(Arc::new(unified_scheduler::MacDispatcher::new())),
                async_executor,
                tokio: Tokio(runtime.handle().clone()),
                _async_executor_threads: threads,
                _tokio_runtime: runtime,
            }
        }
    }

    /// One group: the workload `run` on each peer, side by side.
    fn group(
        c: &mut Criterion,
        name: &str,
        elements: u64,
        heavy: bool,
        run: fn(&mut BenchmarkGroup<'_, WallTime>, &Peers),
    ) {
        let peers = Peers::new();
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(elements));
        if heavy {
            // Milliseconds an iteration: few samples, the same number of iterations in each.
            group.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        run(&mut group, &peers);
        group.finish();
    }

    /// The three peers side by side on one workload (the same generic function for each).
    fn side_by_side(
        group: &mut BenchmarkGroup<'_, WallTime>,
        peers: &Peers,
        dispatcher: fn(&Dispatcher),
        async_executor: fn(&AsyncExecutor),
        tokio: fn(&Tokio),
    ) {
        group.bench_function("dispatcher", |b| b.iter(|| dispatcher(&peers.dispatcher)));
        group.bench_function("async_executor", |b| {
            b.iter(|| async_executor(&peers.async_executor))
        });
        group.bench_function("tokio", |b| b.iter(|| tokio(&peers.tokio)));
    }

    /// The GCD lines of a workload, next to [`side_by_side`]'s: the raw `dispatch_async_f`
    /// floor and, where the platform's dispatcher is another backend, the `MacDispatcher`.
    #[cfg(us_gcd)]
    fn gcd_side_by_side(
        group: &mut BenchmarkGroup<'_, WallTime>,
        peers: &Peers,
        mac_dispatcher: fn(&Dispatcher),
        floor: fn(&gcd_floor::GcdFloor),
    ) {
        #[cfg(us_linux_calloop)]
        group.bench_function("mac_dispatcher", |b| {
            b.iter(|| mac_dispatcher(&peers.mac_dispatcher))
        });
        #[cfg(not(us_linux_calloop))]
        let _ = (mac_dispatcher, peers); // the `dispatcher` line is the MacDispatcher
        group.bench_function("gcd_floor", |b| b.iter(|| floor(&gcd_floor::GcdFloor)));
    }

    fn benches(c: &mut Criterion) {
        group(c, "spawn_one", 1, false, |group, peers| {
            let mut floor = Floor::default();
            group.bench_function("floor", |b| b.iter(|| floor.spawn_run(black_box(1))));
            side_by_side(group, peers, spawn_one, spawn_one, spawn_one);
            #[cfg(us_gcd)]
            gcd_side_by_side(group, peers, spawn_one, spawn_one);
        });
        group(c, "spawn_batch", BATCH as u64, false, |group, peers| {
            group.bench_function("dispatcher", |b| {
                b.iter_custom(|iters| spawn_batch(&peers.dispatcher, iters))
            });
            group.bench_function("async_executor", |b| {
                b.iter_custom(|iters| spawn_batch(&peers.async_executor, iters))
            });
            group.bench_function("tokio", |b| {
                b.iter_custom(|iters| spawn_batch(&peers.tokio, iters))
            });
            #[cfg(all(us_gcd, us_linux_calloop))]
            group.bench_function("mac_dispatcher", |b| {
                b.iter_custom(|iters| spawn_batch(&peers.mac_dispatcher, iters))
            });
            #[cfg(us_gcd)]
            group.bench_function("gcd_floor", |b| {
                b.iter_custom(|iters| spawn_batch(&gcd_floor::GcdFloor, iters))
            });
        });
        group(
            c,
            "spawn_many_local",
            LIGHT_TASKS as u64,
            true,
            |group, peers| {
                let mut floor = Floor::default();
                group.bench_function("floor", |b| {
                    b.iter(|| floor.spawn_run(black_box(LIGHT_TASKS as u64)))
                });
                side_by_side(
                    group,
                    peers,
                    spawn_many_local,
                    spawn_many_local,
                    spawn_many_local,
                );
                #[cfg(us_gcd)]
                gcd_side_by_side(group, peers, spawn_many_local, spawn_many_local);
            },
        );
        let steps = (TASKS * STEPS) as u64;
        group(c, "spawn_recursively", steps, true, |group, peers| {
            side_by_side(
                group,
                peers,
                spawn_recursively,
                spawn_recursively,
                spawn_recursively,
            );
            #[cfg(us_gcd)]
            gcd_side_by_side(group, peers, spawn_recursively, spawn_recursively);
        });
        group(c, "yield_now", steps, true, |group, peers| {
            side_by_side(group, peers, yield_now, yield_now, yield_now);
            #[cfg(us_gcd)]
            gcd_side_by_side(group, peers, yield_now, yield_now);
        });
        group(c, "channels", steps, true, |group, peers| {
            side_by_side(group, peers, channels, channels, channels);
            #[cfg(us_gcd)]
            gcd_side_by_side(group, peers, channels, channels);
        });
        group(c, "web_server", TASKS as u64, true, |group, peers| {
            side_by_side(group, peers, web_server, web_server, web_server);
            #[cfg(us_gcd)]
            gcd_side_by_side(group, peers, web_server, web_server);
        });
    }

    /// The bench's entry point.
    pub(crate) fn run() {
        println!(
            "dispatcher: {}, {} worker threads for every peer (GCD sizes its own pool)",
            core::any::type_name::<PlatformDispatcher>(),
            worker_threads()
        );
        let mut c = Criterion::default().configure_from_args();
        benches(&mut c);
        c.final_summary();
    }
}

/// The bench's entry point (also called by `benches/dispatchers_windows.rs`).
pub(crate) fn main() {
    #[cfg(any(us_linux_calloop, us_win_threadpool, us_gcd))]
    workloads::run();
    #[cfg(not(any(us_linux_calloop, us_win_threadpool, us_gcd)))]
    println!("no PlatformDispatcher on this OS yet: nothing to measure");
}
