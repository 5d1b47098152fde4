//! The conformance suite for the `MacDispatcher` (every property, the reliability stress tests
//! included), plus its own behaviour: GCD's main queue (drained by the user's own loop
//! through CoreFoundation's hooks, and by `block`), the process's main thread, what GCD calls
//! after shutdown, the width of a limited pool.
//!
//! Foreground work runs on the process's main thread, on which libtest never runs a test, so
//! this is a `harness = false` binary whose `main` runs every test itself, one after the other
//! on the main thread: `cargo test --features gcd --test mac_dispatcher [-- NAME...]` (a test
//! runs if its name contains one of the NAMEs; `--list` lists them).
//!
//! It runs where the backend builds: on Apple OSes, and on Linux with `LIBDISPATCH_DIR` naming
//! an installed libdispatch (see the README). Elsewhere it says so and passes.

#[cfg(us_gcd)]
mod common;
#[cfg(us_gcd)]
mod conformance;

#[cfg(not(us_gcd))]
fn main() {
    println!(
        "mac_dispatcher: skipped: the MacDispatcher is not built here. It builds on Apple \
         OSes with `--features gcd`, and on Linux with `--features gcd` and LIBDISPATCH_DIR \
         set to an installed libdispatch (the directory holding lib/libdispatch.so, e.g. \
         from a Swift toolchain for Linux, or a build of swift-corelibs-libdispatch), e.g. \
         `LIBDISPATCH_DIR=/opt/libdispatch cargo test --features gcd --test mac_dispatcher`"
    );
}

#[cfg(us_gcd)]
fn main() {
    mac::main();
}

#[cfg(us_gcd)]
mod mac {
    use std::cell::Cell;
    use std::io::Write;
    use std::panic::{AssertUnwindSafe, catch_unwind};
    use std::rc::Rc;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::thread;
    use std::time::{Duration, Instant};

    use crate::common::{self, DropCounter, Gate, LIMIT, wait};
    use crate::conformance;
    use unified_scheduler::{MacDispatcher, MacDispatcherConfig, Scheduler, Task};

    fn make() -> Arc<dyn Scheduler> {
        Arc::new(MacDispatcher::new())
    }

    /// A limited pool of one: background work runs one task at a time, in the order it was
    /// scheduled, and a task that blocks holds the only slot (until it lends one).
    fn make_single_worker() -> Arc<dyn Scheduler> {
        Arc::new(MacDispatcher::with_config(
            MacDispatcherConfig::default().worker_threads(1),
        ))
    }

    /// A limited pool of two, whatever the machine.
    fn make_two_workers() -> Arc<dyn Scheduler> {
        Arc::new(MacDispatcher::with_config(
            MacDispatcherConfig::default().worker_threads(2),
        ))
    }

    // Reliability: 200,000 tasks from four threads, 5,000 random timers, shutdown with
    // everything in flight (20 dispatchers, 500 tasks each).
    crate::conformance::suite_list! {
        make: make,
        one_worker: make_single_worker,
        two_workers: make_two_workers,
        sizes: {
            tasks_per_spawner: 50_000,
            random_timers: 5_000,
            shutdown: (20, 500, crate::conformance::TimerAwait::Fallible),
        },
    }

    /// The backend's own tests, after the suite's.
    fn own_tests() -> Vec<(&'static str, fn())> {
        let tests: Vec<(&'static str, fn())> = vec![
            ("debug_and_defaults", debug_and_defaults),
            (
                "main_thread_is_the_process_main_thread",
                main_thread_is_the_process_main_thread,
            ),
            (
                "what_gcd_calls_after_shutdown_is_dropped_not_run",
                what_gcd_calls_after_shutdown_is_dropped_not_run,
            ),
            (
                "beyond_the_gate_slots_dispatchers_use_their_queue",
                beyond_the_gate_slots_dispatchers_use_their_queue,
            ),
            (
                "shutdown_cancels_a_limited_pools_queue",
                shutdown_cancels_a_limited_pools_queue,
            ),
            (
                "a_limited_pool_keeps_its_width",
                a_limited_pool_keeps_its_width,
            ),
            (
                "run_until_runs_foreground_work",
                run_until_runs_foreground_work,
            ),
            (
                "drop_off_main_thread_then_the_main_queue_drains_harmlessly",
                drop_off_main_thread_then_the_main_queue_drains_harmlessly,
            ),
            (
                "tasks_wake_through_the_task_queue",
                tasks_wake_through_the_task_queue,
            ),
        ];
        // GCD's main queue driven by hand: through the Linux hooks (on Apple, by the run loop).
        #[cfg(target_os = "linux")]
        let tests = tests.into_iter().chain([
            (
                "foreground_tasks_run_in_the_users_main_queue_loop",
                main_queue::foreground_tasks_run_in_the_users_main_queue_loop as fn(),
            ),
            (
                "block_on_the_main_thread_drains_the_main_queue",
                main_queue::block_on_the_main_thread_drains_the_main_queue,
            ),
        ]);
        tests.into_iter().collect()
    }

    /// Runs every test whose name contains one of the arguments (all without arguments) on
    /// this, the process's main thread; exits non-zero if any failed.
    pub(super) fn main() {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let list = args.iter().any(|arg| arg == "--list");
        let filters: Vec<&String> = args.iter().filter(|arg| !arg.starts_with('-')).collect();
        let mut tests = conformance_properties();
        tests.extend(own_tests());
        let total = tests.len();
        tests.retain(|(name, _)| {
            filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
        });
        if list {
            for (name, _) in &tests {
                println!("{name}: test");
            }
            return;
        }
        assert!(
            make().is_main_thread(),
            "the tests must run on the process's main thread"
        );
        println!("\nrunning {} tests on the main thread", tests.len());
        let started = Instant::now();
        let mut failed = Vec::new();
        for (name, test) in &tests {
            print!("test {name} ... ");
            let _ = std::io::stdout().flush();
            let start = Instant::now();
            match catch_unwind(AssertUnwindSafe(test)) {
                Ok(()) => println!("ok ({:.2?})", start.elapsed()),
                Err(panic) => {
                    println!("FAILED: {}", common::panic_message(&*panic));
                    failed.push(*name);
                }
            }
        }
        let passed = tests.len() - failed.len();
        println!(
            "\ntest result: {}. {passed} passed; {} failed; {} filtered out; finished in {:.2?}",
            if failed.is_empty() { "ok" } else { "FAILED" },
            failed.len(),
            total - tests.len(),
            started.elapsed()
        );
        if !failed.is_empty() {
            println!("failures: {failed:?}");
            std::process::exit(101);
        }
    }

    // ---- The backend's own behaviour ----------------------------------------------------------

    fn debug_and_defaults() {
        let s = make();
        assert_eq!(
            s.num_cpus(),
            thread::available_parallelism().map_or(1, |n| n.get())
        );
        let dispatcher = s.downcast_ref::<MacDispatcher>().unwrap();
        let debug = format!("{dispatcher:?}");
        assert!(debug.starts_with("MacDispatcher"), "{debug}");
        assert!(debug.contains("worker_threads: None"), "{debug}");
        assert_eq!(make_single_worker().num_cpus(), 1);
        let zero: Arc<dyn Scheduler> = Arc::new(MacDispatcher::with_config(
            MacDispatcherConfig::default().worker_threads(0),
        ));
        assert_eq!(zero.num_cpus(), 1);
        assert_eq!(zero.block(zero.spawn(async { 1 })), 1);
        let debug = format!("{:?}", zero.downcast_ref::<MacDispatcher>().unwrap());
        assert!(debug.contains("worker_threads: Some(1)"), "{debug}");
        // A limited pool's drains find the gate through the shared state: it takes no slot.
        assert!(debug.contains("gate_slot: None"), "{debug}");
    }

    /// The main thread is the process's, whichever thread created the dispatcher: created
    /// on another thread, it says that thread is not the main one, refuses foreground work
    /// there, and runs foreground work spawned on the main thread there.
    fn main_thread_is_the_process_main_thread() {
        let (s, off_main, refused) = thread::spawn(|| {
            let s = make();
            let off_main = s.is_main_thread();
            let refused = catch_unwind(AssertUnwindSafe(|| {
                s.spawn_foreground(async {}).detach();
            }))
            .is_err();
            (s, off_main, refused)
        })
        .join()
        .unwrap();
        assert!(!off_main, "a thread that is not the process's main thread");
        assert!(refused, "spawn_foreground off the main thread must panic");
        assert!(s.is_main_thread());
        let main = thread::current().id();
        let not_send = Rc::new(Cell::new(0));
        let state = not_send.clone();
        let task = s.spawn_foreground(async move {
            state.set(1);
            thread::current().id()
        });
        assert_eq!(s.block(task), main);
        assert_eq!(not_send.get(), 1);
    }

    /// Runnables GCD already holds when the dispatcher is dropped are dropped, not run, when
    /// GCD calls them. Spinning tasks fill GCD's threads (a spinning thread is running, so GCD
    /// starts no other for the queue, unlike a blocked one); far more are queued than any
    /// machine has threads, so the counted tasks behind them are still inside GCD at the
    /// drop. Afterwards every future is dropped and none of the counted ones ran.
    fn what_gcd_calls_after_shutdown_is_dropped_not_run() {
        gcd_calls_after_shutdown_are_dropped(make());
    }

    /// More dispatchers alive at once than there are gate slots: those without one submit to
    /// their private queue (and find their gate there); every one of them runs tasks, and
    /// drops what GCD still calls after its shutdown.
    fn beyond_the_gate_slots_dispatchers_use_their_queue() {
        let dispatchers: Vec<Arc<dyn Scheduler>> = (0..40).map(|_| make()).collect();
        let slot_of = |s: &Arc<dyn Scheduler>| {
            let debug = format!("{:?}", s.downcast_ref::<MacDispatcher>().unwrap());
            !debug.contains("gate_slot: None")
        };
        let with_slot = dispatchers.iter().filter(|s| slot_of(s)).count();
        assert!(with_slot <= 32, "{with_slot} dispatchers have a gate slot");
        assert!(with_slot < dispatchers.len());
        let tasks: Vec<Task<usize>> = dispatchers
            .iter()
            .enumerate()
            .map(|(i, s)| s.spawn(async move { i }))
            .collect();
        let sum = wait(async move {
            let mut sum = 0;
            for task in tasks {
                sum += task.await;
            }
            sum
        });
        assert_eq!(sum, 40 * 39 / 2);
        let mut dispatchers = dispatchers;
        let without = dispatchers.iter().position(|s| !slot_of(s)).unwrap();
        gcd_calls_after_shutdown_are_dropped(dispatchers.swap_remove(without));
    }

    fn gcd_calls_after_shutdown_are_dropped(s: Arc<dyn Scheduler>) {
        let release = Arc::new(AtomicBool::new(false));
        let spinners = 256;
        let dropped = DropCounter::new();
        let started = common::Counter::new();
        for _ in 0..spinners {
            let (release, guard, started) = (release.clone(), dropped.guard(), started.clone());
            s.spawn(async move {
                let _guard = guard;
                started.add(1);
                let deadline = Instant::now() + LIMIT;
                while !release.load(Ordering::Acquire) && Instant::now() < deadline {
                    std::hint::spin_loop();
                }
            })
            .detach();
        }
        wait(started.reached(1));
        let ran = Arc::new(AtomicUsize::new(0));
        let counted = 100;
        let tasks: Vec<_> = (0..counted)
            .map(|_| {
                let (ran, guard) = (ran.clone(), dropped.guard());
                s.spawn(async move {
                    let _guard = guard;
                    ran.fetch_add(1, Ordering::SeqCst);
                })
                .fallible()
            })
            .collect();
        drop(s);
        release.store(true, Ordering::Release);
        for task in tasks {
            assert_eq!(wait(task), None, "a task GCD held at shutdown ran or hangs");
        }
        wait(dropped.reached(spinners + counted));
        assert_eq!(ran.load(Ordering::SeqCst), 0, "a task ran after shutdown");
        assert!(
            started.get() < spinners,
            "every spinner started: the test proves nothing"
        );
    }

    /// With a limited pool, runnables waiting in our own queue are cancelled by `Drop` at
    /// once, and never run.
    fn shutdown_cancels_a_limited_pools_queue() {
        let s = make_single_worker();
        let gate = Gate::new();
        let holding = Gate::new();
        let (opened, held) = (gate.clone(), holding.clone());
        let release = Arc::new(AtomicBool::new(false));
        let released = release.clone();
        // Holds the only slot (not through `block`, so it lends nothing).
        s.spawn(async move {
            held.open();
            let deadline = Instant::now() + LIMIT;
            while !released.load(Ordering::Acquire) && Instant::now() < deadline {
                std::hint::spin_loop();
            }
            opened.open();
        })
        .detach();
        wait(holding.wait());
        let ran = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..100)
            .map(|_| {
                let ran = ran.clone();
                s.spawn(async move {
                    ran.fetch_add(1, Ordering::SeqCst);
                })
                .fallible()
            })
            .collect();
        drop(s);
        // Cancelled by `Drop` itself: ready before the slot is released.
        for task in tasks {
            assert!(
                task.is_finished(),
                "a queued task was not cancelled by Drop"
            );
            assert_eq!(wait(task), None);
        }
        release.store(true, Ordering::Release);
        wait(gate.wait());
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }

    /// A limited pool of two never runs more than two of its tasks at once.
    fn a_limited_pool_keeps_its_width() {
        let s = make_two_workers();
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<Task<()>> = (0..200)
            .map(|_| {
                let (inside, most) = (inside.clone(), most.clone());
                s.spawn(async move {
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    common::spin_for(Duration::from_micros(50));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        s.block(async move {
            for task in tasks {
                task.await;
            }
        });
        let most = most.load(Ordering::SeqCst);
        assert!(
            (1..=2).contains(&most),
            "{most} tasks ran at once on a pool of two"
        );
    }

    /// `run_until` runs foreground work, nested spawns and timers; other threads are refused.
    fn run_until_runs_foreground_work() {
        let dispatcher = Arc::new(MacDispatcher::new());
        let s: Arc<dyn Scheduler> = dispatcher.clone();
        let inner = s.clone();
        let task = s.spawn_foreground(async move {
            let nested = inner.spawn_foreground(async { 2 });
            let background = inner.spawn(async { 1 });
            inner.timer(Duration::from_millis(1)).await;
            nested.await + background.await
        });
        assert_eq!(dispatcher.run_until(task), 3);
        let other = dispatcher.clone();
        let refused = thread::spawn(move || other.run_until(async {})).join();
        assert!(refused.is_err());
    }

    /// Dropped off the main thread, queued foreground futures are leaked, never touched; the
    /// wake still on the main queue later finds nothing to run.
    fn drop_off_main_thread_then_the_main_queue_drains_harmlessly() {
        let touched = conformance::drop_off_main_thread_leaks_foreground_work(&make);
        // Blocking on the main thread drains the main queue (on Linux) with the stale wake.
        let s = make();
        let inner = s.clone();
        s.block(s.spawn_foreground(async move {
            inner.timer(Duration::from_millis(1)).await;
        }));
        assert_eq!(touched.load(Ordering::SeqCst), 0);
    }

    /// The backend contract: tasks wake through the dispatcher's inner state.
    fn tasks_wake_through_the_task_queue() {
        assert!(make().task_queue().is_some());
        assert!(make_single_worker().task_queue().is_some());
    }

    /// GCD's main queue on Linux, driven the way CoreFoundation's run loop drives it: wait on
    /// its eventfd, then call the drain callback, on the main thread.
    #[cfg(target_os = "linux")]
    mod main_queue {
        use std::cell::{Cell, RefCell};
        use std::ffi::{c_int, c_short, c_void};
        use std::rc::Rc;
        use std::sync::Arc;
        use std::thread;
        use std::time::{Duration, Instant};

        use super::make;
        use crate::common::{Gate, LIMIT};
        use unified_scheduler::Scheduler;

        #[repr(C)]
        struct PollFd {
            fd: c_int,
            events: c_short,
            revents: c_short,
        }

        const POLLIN: c_short = 1;

        #[repr(C)]
        struct Opaque {
            _private: [u8; 0],
        }

        #[link(name = "dispatch")]
        unsafe extern "C" {
            static _dispatch_main_q: Opaque;
            fn dispatch_async_f(
                queue: *const Opaque,
                context: *mut c_void,
                work: unsafe extern "C" fn(*mut c_void),
            );
            fn _dispatch_get_main_queue_handle_4CF() -> c_int;
            fn _dispatch_main_queue_callback_4CF(msg: *mut c_void);
        }

        unsafe extern "C" {
            fn poll(fds: *mut PollFd, count: u64, timeout: c_int) -> c_int;
            fn read(fd: c_int, buf: *mut c_void, count: usize) -> isize;
        }

        /// The user's own main loop: waits on the main queue's eventfd and drains the queue
        /// until `done()`, failing after `LIMIT`.
        fn main_queue_loop(done: impl Fn() -> bool) -> usize {
            // SAFETY: no preconditions.
            let fd = unsafe { _dispatch_get_main_queue_handle_4CF() };
            let deadline = Instant::now() + LIMIT;
            let mut drains = 0;
            while !done() {
                assert!(
                    Instant::now() < deadline,
                    "the main-queue loop never finished"
                );
                let mut pollfd = PollFd {
                    fd,
                    events: POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid `pollfd`; waits at most 100 ms.
                if unsafe { poll(&mut pollfd, 1, 100) } == 1 {
                    let mut count = 0u64;
                    // SAFETY: reads the eventfd's 8-byte count into a live `u64`.
                    unsafe { read(fd, (&raw mut count).cast(), 8) };
                    // SAFETY: on the main thread (the tests run there).
                    unsafe { _dispatch_main_queue_callback_4CF(std::ptr::null_mut()) };
                    drains += 1;
                }
            }
            drains
        }

        /// Foreground tasks run from GCD's main queue in a loop of the user's own, woken from
        /// pool threads and from the timer source, in FIFO order, without any `block`.
        pub(super) fn foreground_tasks_run_in_the_users_main_queue_loop() {
            let s = make();
            let main = thread::current().id();
            let log = Rc::new(RefCell::new(Vec::new()));
            let done = Rc::new(Cell::new(false));
            for i in 0..200 {
                let log = log.clone();
                s.spawn_foreground(async move { log.borrow_mut().push(i) })
                    .detach();
            }
            let background = s.spawn(async { thread::current().id() });
            let (inner, finished) = (s.clone(), done.clone());
            s.spawn_foreground(async move {
                assert_eq!(thread::current().id(), main);
                assert_ne!(background.await, main); // woken from a pool thread
                inner.timer(Duration::from_millis(2)).await; // woken from the timer source
                finished.set(true);
            })
            .detach();
            assert!(
                log.borrow().is_empty(),
                "foreground work must not run inline"
            );
            let drains = main_queue_loop(|| done.get());
            assert!(drains >= 1);
            assert_eq!(*log.borrow(), (0..200).collect::<Vec<_>>());
        }

        unsafe extern "C" fn open_gate(context: *mut c_void) {
            // SAFETY: the `Box<Gate>` leaked below, taken back once.
            let gate = unsafe { Box::from_raw(context.cast::<Gate>()) };
            gate.open();
        }

        /// `block` on the main thread drains GCD's main queue: work submitted to it by
        /// someone else runs while the main thread blocks.
        pub(super) fn block_on_the_main_thread_drains_the_main_queue() {
            let s: Arc<dyn Scheduler> = make();
            let gate = Gate::new();
            let context = Box::into_raw(Box::new(gate.clone()));
            // SAFETY: the main queue is static; `open_gate` takes the box back once.
            unsafe { dispatch_async_f(&raw const _dispatch_main_q, context.cast(), open_gate) };
            assert!(!gate.is_open());
            assert!(
                s.block_with_timeout(LIMIT, gate.wait()).is_ok(),
                "block did not drain the main queue"
            );
        }
    }
}
