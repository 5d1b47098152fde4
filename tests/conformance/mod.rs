//! The behaviour every `Scheduler` must have, written once.
//!
//! Each property is a function taking a factory of fresh schedulers. [`suite!`] stamps the
//! whole list for a backend, one `#[test]` per property; what does not run on that backend is
//! written where it is stamped, with its reason:
//!
//! ```ignore
//! mod common;
//! mod conformance;
//! fn make() -> Arc<dyn Scheduler> { Arc::new(MyDispatcher::new()) }
//! conformance::suite! {
//!     make: make, one_worker: make_one_worker, two_workers: make_two_workers,
//!     sizes: { tasks_per_spawner: 50_000, random_timers: 2_000,
//!              shutdown: (10, 400, conformance::TimerAwait::Fallible) },
//!     exclude: {
//!         #[ignore = "why it cannot apply here"] background_runs_off_main_thread,
//!         #[cfg_attr(miri, ignore = "why")] wake_storm_while_running,
//!         #[ignore = "why"] two_workers::*,
//!     },
//! }
//! ```
//!
//! The factory is called on the test's thread, which becomes the scheduler's main thread.
//! Every wait is bounded by [`LIMIT`]: a lost wakeup fails the test instead of hanging it.
//! The helpers (gates, counters, drop counters, `wait`) live in the tests' `common` module,
//! which a file stamping the suite declares too.

// `pub` marks what the suite offers to the test files, which `unreachable_pub` cannot see;
// the Windows suite calls one property itself, the other files only through `suite!`.
#![allow(unreachable_pub)]

pub mod stress;

use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use unified_scheduler::{FallibleTask, Priority, Scheduler, Task};

pub use self::stress::*;
use crate::common::{self, Counter, DropCounter, Gate, LIMIT, wait};

/// Makes a fresh scheduler whose main thread is the calling thread.
pub type Factory<'a> = &'a dyn Fn() -> Arc<dyn Scheduler>;

/// Stamps every property of the suite for one backend: one `#[test]` per property, named
/// after it, at the call site, plus two modules for the properties that need a particular
/// pool. Nothing is left out unless the call site says so.
///
/// - `make`: the backend's usual configuration; most properties use it.
/// - `one_worker`: background work runs one task at a time, in the order it was scheduled
///   (a pool of one thread; a single-threaded scheduler's FIFO mode). Its properties are
///   stamped in `mod one_worker`: completion order, starvation, a task blocking the only
///   thread.
/// - `two_workers`: a pool of at least two threads, whatever the machine, stamped in
///   `mod two_workers`: work reaching an idle worker, a worker blocking on its own spawn.
///   A single-threaded scheduler passes its one configuration for both modules and excludes
///   what needs a second thread.
/// - `sizes`: the stress properties' sizes, which the backend picks to run in reasonable
///   time (scaled down again under miri by [`scaled`]).
/// - `exclude`: what does not run here, each with the attributes its test gets:
///   `#[ignore = "why"]`, `#[cfg_attr(miri, ignore = "why")]`, `#[should_panic]`, ... An entry
///   names a property (`wake_storm_while_running`), one in a module
///   (`one_worker::timers_in_order`) or a whole module (`two_workers::*`). A name that is not
///   a property fails to compile.
///
/// The factories are names of functions in scope (the modules reach them through `super::`).
#[allow(unused_macros)] // a file that runs the suite itself uses `suite_list!` instead
macro_rules! suite {
    (
        make: $make:ident,
        one_worker: $one_worker:ident,
        two_workers: $two_workers:ident,
        sizes: {
            tasks_per_spawner: $per_spawner:expr,
            random_timers: $random_timers:expr,
            shutdown: ($rounds:expr, $tasks:expr, $timers:expr $(,)?) $(,)?
        },
        exclude: { $($exclude:tt)* } $(,)?
    ) => {
        $crate::conformance::__check_exclusions!($($exclude)*);
        $crate::conformance::__properties!(tests {{$($exclude)*} $make $one_worker $two_workers}
            ($per_spawner, $random_timers, $rounds, $tasks, $timers));
    };
}
#[allow(unused_imports)] // see `suite!`
pub(crate) use suite;

/// Every property of the suite, as `(name, test)` pairs, for a test binary that runs them
/// itself (`harness = false`), e.g. on the process's main thread, which libtest never runs a
/// test on. The same list as [`suite!`] (both expand [`__properties!`]), with the same
/// arguments but no exclusions: the binary's `main` runs every pair it is given. It defines
/// `fn conformance_properties() -> Vec<(&'static str, fn())>` at the call site; names are
/// those of the tests `suite!` stamps (`one_worker::timers_in_order`, ...).
#[allow(unused_macros)] // used only by a file that runs the suite itself
macro_rules! suite_list {
    (
        make: $make:ident,
        one_worker: $one_worker:ident,
        two_workers: $two_workers:ident,
        sizes: {
            tasks_per_spawner: $per_spawner:expr,
            random_timers: $random_timers:expr,
            shutdown: ($rounds:expr, $tasks:expr, $timers:expr $(,)?) $(,)?
        } $(,)?
    ) => {
        $crate::conformance::__properties!(list {$make $one_worker $two_workers}
            ($per_spawner, $random_timers, $rounds, $tasks, $timers));
    };
}
// Used only by a file that runs the suite itself.
#[allow(unused_imports)]
pub(crate) use suite_list;

/// For [`suite!`] and [`suite_list!`]: the one list of the suite's properties, at the top
/// level (with the stress properties' sizes) and in its two modules, handed to [`__emit!`].
#[doc(hidden)]
macro_rules! __properties {
    ($mode:ident $args:tt ($per:expr, $random:expr, $rounds:expr, $tasks:expr, $timers:expr)) => {
        $crate::conformance::__emit! { $mode $args
            top: [
                spawn_and_await,
                many_tasks,
                spawn_from_inside,
                spawn_chain,
                tasks_of_every_priority_run_and_return,
                foreground_runs_on_main_thread,
                foreground_fifo,
                background_runs_off_main_thread,
                is_main_thread,
                timers_never_early,
                timer_zero_and_huge,
                timeout_both_outcomes,
                interval_ticks_on_its_period,
                yield_now_lets_another_task_run,
                cancel_by_drop,
                cancel_foreground_by_drop,
                detach,
                panics_reach_the_awaiter,
                block_and_block_with_timeout,
                park_and_unpark,
                shutdown_with_pending_work,
                shutdown_drops_foreground_on_main,
                nested_block_on_main_runs_foreground_work,
                drop_on_a_worker_thread,
                drop_off_main_thread_leaks_foreground_work,
                long_task_does_not_delay_timers,
                a_task_yielding_forever_does_not_starve_others,
                a_task_yielding_forever_does_not_hold_back_timers,
                concurrent_blockers,
                nested_block_keeps_the_lifecycle,
                spawn_foreground_off_main_fails_at_the_call,
                blocking_in_every_worker_does_not_hang,
                // Reliability under load (`stress.rs`).
                many_tasks_from_four_threads_run_exactly_once($per),
                wake_storm_while_running,
                wake_storm_while_queued,
                wake_storm_after_cancellation,
                random_timers_all_fire_none_early($random),
                shutdown_drops_every_future($rounds, $tasks, $timers),
            ],
            one_worker: [
                timers_in_order,
                ping_pong_does_not_starve_other_work,
                ping_pong_does_not_hold_back_timers,
                a_task_yielding_forever_does_not_starve_others,
                a_task_yielding_forever_does_not_hold_back_timers,
                blocking_in_every_worker_does_not_hang,
                nested_block_keeps_the_lifecycle,
            ],
            two_workers: [
                local_work_reaches_idle_workers,
                block_inside_a_task_on_its_own_spawn,
            ],
        }
    };
}
pub(crate) use __properties;

/// For [`__properties!`]: `tests` stamps one `#[test]` per property (what [`suite!`] does),
/// `list` defines `conformance_properties()` (what [`suite_list!`] does).
#[doc(hidden)]
macro_rules! __emit {
    (tests {$exclude:tt $make:ident $one_worker:ident $two_workers:ident}
        top: [$($top:ident $(($($arg:expr),*))?),+ $(,)?],
        one_worker: [$($one:ident),+ $(,)?],
        two_workers: [$($two:ident),+ $(,)?] $(,)?
    ) => {
        $crate::conformance::__stamp!($exclude $make; $($top $(($($arg),*))?),+);
        /// The suite's properties that need background work to run one task at a time.
        mod one_worker {
            $crate::conformance::__stamp!($exclude mod one_worker super::$one_worker; $($one),+);
        }
        /// The suite's properties that need a pool of at least two threads.
        mod two_workers {
            $crate::conformance::__stamp!($exclude mod two_workers super::$two_workers; $($two),+);
        }
    };
    (list {$make:ident $one_worker:ident $two_workers:ident}
        top: [$($top:ident $(($($arg:expr),*))?),+ $(,)?],
        one_worker: [$($one:ident),+ $(,)?],
        two_workers: [$($two:ident),+ $(,)?] $(,)?
    ) => {
        /// Every property of the conformance suite, by the name `suite!` gives its test.
        fn conformance_properties() -> Vec<(&'static str, fn())> {
            vec![
                $((
                    stringify!($top),
                    (|| {
                        $crate::conformance::$top(&$make $($(, $arg)*)?);
                    }) as fn(),
                ),)+
                $((
                    concat!("one_worker::", stringify!($one)),
                    (|| $crate::conformance::$one(&$one_worker)) as fn(),
                ),)+
                $((
                    concat!("two_workers::", stringify!($two)),
                    (|| $crate::conformance::$two(&$two_workers)) as fn(),
                ),)+
            ]
        }
    };
}
pub(crate) use __emit;

/// For [`suite!`]: stamps each listed property, at the top level (no module name) or in a
/// module of the suite (its name first), with the attributes its exclusion gives it.
#[doc(hidden)]
macro_rules! __stamp {
    ($exclude:tt mod $module:ident $make:path; $($property:ident),+ $(,)?) => {
        $($crate::conformance::__stamp_one!(
            ($) $exclude [$module] $property (&$make)
        );)+
    };
    ($exclude:tt $make:path; $($property:ident $(($($arg:expr),*))?),+ $(,)?) => {
        $($crate::conformance::__stamp_one!(
            ($) $exclude [] $property (&$make $($(, $arg)*)?)
        );)+
    };
}
#[allow(unused_imports)] // see `suite!`
pub(crate) use __stamp;

/// For [`suite!`]: one property's test. The exclusions are looked up by a macro made for
/// this property, whose first rules match its own name (macro_rules cannot compare two
/// names otherwise); `$d` is a `$` for that macro's own variables.
#[doc(hidden)]
macro_rules! __stamp_one {
    (($d:tt) {$($exclude:tt)*} [] $property:ident ($($arg:expr),*)) => {
        macro_rules! __pick {
            ($d(#[$d attr:meta])+ $property $d(, $d($d rest:tt)*)?) => {
                #[test]
                $d(#[$d attr])*
                fn $property() {
                    $crate::conformance::$property($($arg),*);
                }
            };
            ($d(#[$d attr:meta])+ $d($d other:ident)::+ $d(::*)? $d(, $d($d rest:tt)*)?) => {
                __pick!($d($d($d rest)*)?);
            };
            () => {
                #[test]
                fn $property() {
                    $crate::conformance::$property($($arg),*);
                }
            };
        }
        __pick!($($exclude)*);
    };
    (($d:tt) {$($exclude:tt)*} [$module:ident] $property:ident ($($arg:expr),*)) => {
        macro_rules! __pick {
            ($d(#[$d attr:meta])+ $module :: $property $d(, $d($d rest:tt)*)?) => {
                #[test]
                $d(#[$d attr])*
                fn $property() {
                    $crate::conformance::$property($($arg),*);
                }
            };
            ($d(#[$d attr:meta])+ $module :: * $d(, $d($d rest:tt)*)?) => {
                #[test]
                $d(#[$d attr])*
                fn $property() {
                    $crate::conformance::$property($($arg),*);
                }
            };
            ($d(#[$d attr:meta])+ $d($d other:ident)::+ $d(::*)? $d(, $d($d rest:tt)*)?) => {
                __pick!($d($d($d rest)*)?);
            };
            () => {
                #[test]
                fn $property() {
                    $crate::conformance::$property($($arg),*);
                }
            };
        }
        __pick!($($exclude)*);
    };
}
#[allow(unused_imports)] // see `suite!`
pub(crate) use __stamp_one;

/// For [`suite!`]: every exclusion names a property of the suite, or one of its modules.
#[doc(hidden)]
macro_rules! __check_exclusions {
    () => {};
    ($(#[$attr:meta])+ $module:ident :: * $(, $($rest:tt)*)?) => {
        $crate::conformance::__module!($module);
        $crate::conformance::__check_exclusions!($($($rest)*)?);
    };
    ($(#[$attr:meta])+ $module:ident :: $property:ident $(, $($rest:tt)*)?) => {
        $crate::conformance::__module!($module);
        const _: () = {
            let _ = $crate::conformance::$property;
        };
        $crate::conformance::__check_exclusions!($($($rest)*)?);
    };
    ($(#[$attr:meta])+ $property:ident $(, $($rest:tt)*)?) => {
        const _: () = {
            let _ = $crate::conformance::$property;
        };
        $crate::conformance::__check_exclusions!($($($rest)*)?);
    };
}
#[allow(unused_imports)] // see `suite!`
pub(crate) use __check_exclusions;

/// For [`suite!`]: the suite's modules; any other name fails to compile.
#[doc(hidden)]
macro_rules! __module {
    (one_worker) => {};
    (two_workers) => {};
}
// Used only by a file that excludes something in a module.
#[allow(unused_imports)]
pub(crate) use __module;

/// The main thread blocks on the scheduler until `future` finishes (a single-threaded
/// scheduler runs its tasks only meanwhile); fails with `what` after [`LIMIT`].
#[track_caller]
pub fn block_within_limit<F: Future>(s: &Arc<dyn Scheduler>, future: F, what: &str) -> F::Output {
    match s.block_with_timeout(LIMIT, future) {
        Ok(output) => output,
        Err(_) => panic!("{what} within {LIMIT:?}"),
    }
}

/// Scales a count down under miri, which is orders of magnitude slower.
pub fn scaled(n: usize) -> usize {
    if cfg!(miri) { (n / 100).max(2) } else { n }
}

/// `spawn` runs the future and `block` returns its output.
pub fn spawn_and_await(make: Factory<'_>) {
    let s = make();
    let task = s.spawn(async { 6 * 7 });
    assert_eq!(s.block(task), 42);
    let (a, b) = (s.spawn(async { "a" }), s.spawn(async { "b" }));
    assert_eq!(s.block(async { (a.await, b.await) }), ("a", "b"));
}

/// Many tasks all run, each exactly once.
pub fn many_tasks(make: Factory<'_>) {
    let s = make();
    let n = scaled(10_000);
    let runs = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<Task<usize>> = (0..n)
        .map(|i| {
            let runs = runs.clone();
            s.spawn(async move {
                runs.fetch_add(1, Ordering::Relaxed);
                i
            })
        })
        .collect();
    let sum = s.block(sum_of(tasks));
    assert_eq!(sum, n * (n - 1) / 2);
    assert_eq!(runs.load(Ordering::Relaxed), n);
}

/// Awaits every task in order and adds up their outputs.
async fn sum_of(tasks: Vec<Task<usize>>) -> usize {
    let mut sum = 0;
    for task in tasks {
        sum += task.await;
    }
    sum
}

/// Tasks spawn tasks (through a clone of the `Arc`), and awaiting them from inside works.
pub fn spawn_from_inside(make: Factory<'_>) {
    let s = make();
    let inner = s.clone();
    let n = scaled(1_000);
    let outer = s.spawn(async move {
        let tasks: Vec<Task<usize>> = (0..n).map(|i| inner.spawn(async move { i })).collect();
        sum_of(tasks).await
    });
    assert_eq!(s.block(outer), n * (n - 1) / 2);
}

/// Tasks of every priority run and return their output, spawned from the main thread and
/// from inside a task; many of them, interleaved, so none is lost in a priority's queue.
pub fn tasks_of_every_priority_run_and_return(make: Factory<'_>) {
    const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Realtime,
    ];
    let s = make();
    for (i, &priority) in ALL.iter().enumerate() {
        let task = s.spawn_with_priority(priority, async move { i + 1 });
        assert_eq!(block_within_limit(&s, task, "a task"), i + 1, "{priority}");
    }
    let n = scaled(1_000);
    let tasks: Vec<Task<usize>> = (0..n)
        .map(|i| s.spawn_with_priority(ALL[i % ALL.len()], async move { i }))
        .collect();
    assert_eq!(
        block_within_limit(&s, sum_of(tasks), "every task"),
        n * (n - 1) / 2
    );
    let inner = s.clone();
    let outer = s.spawn(async move {
        let tasks: Vec<Task<usize>> = (0..n)
            .map(|i| inner.spawn_with_priority(ALL[i % ALL.len()], async move { i }))
            .collect();
        sum_of(tasks).await
    });
    assert_eq!(
        block_within_limit(&s, outer, "every inner task"),
        n * (n - 1) / 2
    );
}

/// A chain of tasks, each spawning and awaiting the next.
pub fn spawn_chain(make: Factory<'_>) {
    fn chain(s: Arc<dyn Scheduler>, depth: usize) -> Task<usize> {
        let inner = s.clone();
        s.spawn(async move {
            if depth == 0 {
                0
            } else {
                chain(inner, depth - 1).await + 1
            }
        })
    }
    let s = make();
    let depth = scaled(100);
    assert_eq!(s.block(chain(s.clone(), depth)), depth);
}

/// Foreground tasks run on the main thread, and may hold `!Send` state.
pub fn foreground_runs_on_main_thread(make: Factory<'_>) {
    let s = make();
    let main = thread::current().id();
    let not_send = Rc::new(RefCell::new(0));
    let inner = s.clone();
    let state = not_send.clone();
    let task = s.spawn_foreground(async move {
        *state.borrow_mut() += 1;
        (thread::current().id(), inner.is_main_thread())
    });
    assert_eq!(s.block(task), (main, true));
    assert_eq!(*not_send.borrow(), 1);
}

/// Foreground tasks run in the order they were spawned.
pub fn foreground_fifo(make: Factory<'_>) {
    let s = make();
    let log = Rc::new(RefCell::new(Vec::new()));
    let n = scaled(200);
    let tasks: Vec<Task<()>> = (0..n)
        .map(|i| {
            let log = log.clone();
            s.spawn_foreground(async move { log.borrow_mut().push(i) })
        })
        .collect();
    s.block(async move {
        for task in tasks {
            task.await;
        }
    });
    assert_eq!(*log.borrow(), (0..n).collect::<Vec<_>>());
}

/// Multi-threaded backends: background tasks run off the main thread, where
/// `is_main_thread` is false.
pub fn background_runs_off_main_thread(make: Factory<'_>) {
    let s = make();
    let main = thread::current().id();
    let inner = s.clone();
    let task = s.spawn(async move { (thread::current().id(), inner.is_main_thread()) });
    let (thread, is_main) = s.block(task);
    assert_ne!(thread, main);
    assert!(!is_main);
}

/// `is_main_thread` is true on the creating thread and false on any other thread.
pub fn is_main_thread(make: Factory<'_>) {
    let s = make();
    assert!(s.is_main_thread());
    let other = s.clone();
    assert!(
        !thread::spawn(move || other.is_main_thread())
            .join()
            .unwrap()
    );
}

/// A timer never completes before its duration has passed on the scheduler's clock.
pub fn timers_never_early(make: Factory<'_>) {
    let s = make();
    let durations = [1u64, 2, 3, 5, 8, 13, 21].map(Duration::from_millis);
    let tasks: Vec<Task<(Duration, Duration)>> = durations
        .iter()
        .map(|&d| {
            let inner = s.clone();
            s.spawn(async move {
                let start = inner.now();
                inner.timer(d).await;
                (d, inner.now() - start)
            })
        })
        .collect();
    for (asked, took) in s.block(async move {
        let mut out = Vec::new();
        for task in tasks {
            out.push(task.await);
        }
        out
    }) {
        assert!(took >= asked, "a {asked:?} timer fired after {took:?}");
    }
    let start = s.now();
    s.block(s.timer(Duration::from_millis(5)));
    assert!(s.now() - start >= Duration::from_millis(5));
}

/// `timeout`: a future that finishes in time is `Ok`, one that cannot is `Err(Elapsed)`
/// no earlier than its deadline and is dropped; a ready future wins even at zero.
pub fn timeout_both_outcomes(make: Factory<'_>) {
    let s = make();
    let ready = s.timeout(Duration::ZERO, async { 1 });
    assert_eq!(
        block_within_limit(&s, ready, "a ready future under timeout"),
        Ok(1)
    );
    let inner = s.clone();
    let in_time = s.timeout(
        LIMIT,
        async move { inner.timer(Duration::from_millis(1)).await },
    );
    assert_eq!(
        block_within_limit(&s, in_time, "a 1 ms timer under a long timeout"),
        Ok(())
    );
    let dropped = DropCounter::new();
    let guard = dropped.guard();
    let start = s.now();
    let late = s.timeout(Duration::from_millis(3), async move {
        let _guard = guard;
        std::future::pending::<()>().await
    });
    let outcome = block_within_limit(&s, late, "a 3 ms timeout");
    assert_eq!(outcome, Err(unified_scheduler::Elapsed::new()));
    assert!(
        s.now() - start >= Duration::from_millis(3),
        "the timeout fired early"
    );
    assert_eq!(dropped.count(), 1, "the timed-out future was not dropped");
}

/// `interval`: the first tick at once, then one per period, never early; each tick returns
/// when it was due, one period after the last.
pub fn interval_ticks_on_its_period(make: Factory<'_>) {
    let s = make();
    let inner = s.clone();
    let period = Duration::from_millis(2);
    let ticks = block_within_limit(
        &s,
        async move {
            let mut interval = inner.interval(period);
            let mut ticks = Vec::new();
            for _ in 0..4 {
                let due = interval.tick().await;
                ticks.push((due, inner.now()));
            }
            ticks
        },
        "four ticks of a 2 ms interval",
    );
    let first = ticks[0].0;
    for (n, (due, at)) in ticks.iter().enumerate() {
        assert_eq!(
            *due - first,
            period * n as u32,
            "tick {n} was due off its period"
        );
        assert!(at >= due, "tick {n} came before it was due");
    }
}

/// `yield_now` lets another runnable task run before the yielding one goes on.
pub fn yield_now_lets_another_task_run(make: Factory<'_>) {
    let s = make();
    let flag = Arc::new(AtomicBool::new(false));
    let seen = flag.clone();
    let inner = s.clone();
    let yielder = s.spawn(async move {
        // On a pool the other task may run in parallel: yield until it has run, bounded.
        for _ in 0..10_000 {
            if seen.load(Ordering::SeqCst) {
                return true;
            }
            inner.yield_now().await;
        }
        false
    });
    let setter = s.spawn(async move { flag.store(true, Ordering::SeqCst) });
    let ran = block_within_limit(
        &s,
        async {
            setter.await;
            yielder.await
        },
        "yield_now",
    );
    assert!(ran, "10,000 yields never let the other task run");
}

/// Timers complete in deadline order, ties in the order they were set. Backends whose
/// background tasks run in parallel pass a factory with a single worker here: completion
/// order on parallel workers is not defined, the order timers are handed over is.
pub fn timers_in_order(make: Factory<'_>) {
    let s = make();
    let log = Arc::new(Mutex::new(Vec::new()));
    let record = |name: &'static str, timer: Task<()>| {
        let log = log.clone();
        s.spawn(async move {
            timer.await;
            log.lock().unwrap().push(name);
        })
    };
    // (name, duration in ms), set in this order: "long" is set first but due last, unless
    // setting the others stalls for most of its 150 ms, which the expected order below
    // accounts for (it is computed from when each timer was really set).
    // Under miri setting up the timers below takes long on its (instruction-counting) clock.
    let long_ms = if cfg!(miri) { 30_000 } else { 150 };
    let plan = [
        ("long", long_ms),
        ("short", 1),
        ("a", 20),
        ("b", 20),
        ("c", 21),
        ("d", 30),
    ];
    let mut deadlines = Vec::new();
    let mut tasks = Vec::new();
    for (index, &(name, ms)) in plan.iter().enumerate() {
        let set_at = s.now();
        tasks.push(record(name, s.timer(Duration::from_millis(ms))));
        deadlines.push((set_at + Duration::from_millis(ms), index, name));
    }
    deadlines.sort();
    let expected: Vec<&str> = deadlines.iter().map(|&(_, _, name)| name).collect();
    s.block(async move {
        for task in tasks {
            task.await;
        }
    });
    assert_eq!(*log.lock().unwrap(), expected);
}

/// `timer(ZERO)` is ready at once; a huge timer saturates instead of overflowing.
pub fn timer_zero_and_huge(make: Factory<'_>) {
    let s = make();
    let zero = s.timer(Duration::ZERO);
    assert!(zero.is_finished());
    s.block(zero);
    let huge = s.timer(Duration::MAX);
    let huge = s
        .block_with_timeout(Duration::from_millis(5), huge)
        .expect_err("a Duration::MAX timer cannot fire");
    drop(huge);
}

/// Dropping a `Task` drops its future without running it further.
pub fn cancel_by_drop(make: Factory<'_>) {
    let s = make();
    let gate = Gate::new();
    let parked = Gate::new();
    let dropped = DropCounter::new();
    let ran_on = Arc::new(AtomicBool::new(false));
    let guard = dropped.guard();
    let (opened, ran, parked_signal) = (gate.clone(), ran_on.clone(), parked.clone());
    let task = s.spawn(async move {
        let _guard = guard;
        let mut waiting = std::pin::pin!(opened.wait());
        // Says "parked" only once the gate check is behind us: a poll already in progress
        // cannot be cancelled, so the task must be waiting when it is dropped.
        std::future::poll_fn(|cx| {
            let poll = waiting.as_mut().poll(cx);
            if poll.is_pending() {
                parked_signal.open();
            }
            poll
        })
        .await;
        ran.store(true, Ordering::SeqCst);
    });
    s.block(parked.wait());
    drop(task);
    gate.open();
    // The future is dropped, on the backend's own schedule.
    s.block(dropped.reached(1));
    assert!(!ran_on.load(Ordering::SeqCst), "a cancelled task ran on");
}

/// Dropping a foreground `Task` drops its future on the main thread without running it.
pub fn cancel_foreground_by_drop(make: Factory<'_>) {
    let s = make();
    let gate = Gate::new();
    let dropped = Counter::new();
    let main = thread::current().id();
    let dropped_on = Arc::new(Mutex::new(None));
    let ran = Rc::new(RefCell::new(false));
    let guard = common::OnDrop::new({
        let dropped = dropped.clone();
        let dropped_on = dropped_on.clone();
        move || {
            *dropped_on.lock().unwrap() = Some(thread::current().id());
            dropped.add(1);
        }
    });
    let (opened, ran_in) = (gate.clone(), ran.clone());
    let task = s.spawn_foreground(async move {
        let _guard = guard;
        opened.wait().await;
        *ran_in.borrow_mut() = true;
    });
    drop(task);
    gate.open();
    s.block(dropped.reached(1));
    assert!(!*ran.borrow(), "a cancelled foreground task ran on");
    assert_eq!(*dropped_on.lock().unwrap(), Some(main));
}

/// A detached task runs to completion with nobody awaiting it.
pub fn detach(make: Factory<'_>) {
    let s = make();
    let done = Counter::new();
    let inner = s.clone();
    let signal = done.clone();
    s.spawn(async move {
        inner.timer(Duration::from_millis(1)).await;
        signal.add(1);
    })
    .detach();
    s.block(done.reached(1));
}

/// A panic inside a task reaches its awaiter; the scheduler keeps working afterwards, even
/// after more panicking tasks than it has threads.
pub fn panics_reach_the_awaiter(make: Factory<'_>) {
    let s = make();
    let task = s.spawn(async { panic!("boom in a task") });
    let caught = catch_unwind(AssertUnwindSafe(|| s.block(task))).expect_err("no panic");
    assert_eq!(common::panic_message(&*caught), "boom in a task");
    let n = 4 * s.num_cpus() + 4;
    for _ in 0..n {
        s.spawn(async { panic!("detached boom") }).detach();
    }
    let tasks: Vec<Task<usize>> = (0..n).map(|i| s.spawn(async move { i })).collect();
    let sum = s.block(sum_of(tasks));
    assert_eq!(sum, n * (n - 1) / 2);
}

/// `block` waits for the future; `block_with_timeout` hands back a pending future unharmed.
pub fn block_and_block_with_timeout(make: Factory<'_>) {
    let s = make();
    assert_eq!(s.block(async { 7 }), 7);
    let gate = Gate::new();
    let opened = gate.clone();
    let pending = async move {
        opened.wait().await;
        "finished"
    };
    let pending = s
        .block_with_timeout(Duration::from_millis(5), pending)
        .expect_err("the gate is closed");
    let pending = s
        .block_with_timeout(Duration::ZERO, pending)
        .expect_err("the gate is still closed");
    let opener = gate.clone();
    let opener = thread::spawn(move || opener.open());
    assert_eq!(s.block_with_timeout(LIMIT, pending).ok(), Some("finished"));
    opener.join().unwrap();
    // A task finishing on another thread wakes the blocked thread.
    let inner = s.clone();
    let task = s.spawn(async move {
        inner.timer(Duration::from_millis(2)).await;
        1
    });
    assert_eq!(s.block_with_timeout(LIMIT, task).ok(), Some(1));
}

/// `park` returns when `unparker` is used (from another thread, or before), and times out
/// otherwise.
pub fn park_and_unpark(make: Factory<'_>) {
    let s = make();
    let unparker = s.unparker();
    unparker.unpark();
    assert_eq!(
        s.park(Some(LIMIT)),
        unified_scheduler::Park::Unparked,
        "an earlier unpark must end the next park"
    );
    let unparker = s.unparker();
    let other = thread::spawn(move || unparker.unpark());
    assert_eq!(
        s.park(Some(LIMIT)),
        unified_scheduler::Park::Unparked,
        "an unpark from another thread must end the park"
    );
    other.join().unwrap();
    // A fresh thread has no stale wakeups.
    let inner = s.clone();
    let timed_out = thread::spawn(move || inner.park(Some(Duration::from_millis(5))))
        .join()
        .unwrap();
    assert_eq!(
        timed_out,
        unified_scheduler::Park::TimedOut,
        "park without unpark must time out"
    );
}

/// Dropping the scheduler with work pending cancels that work: awaiters get `None` from
/// `fallible()` instead of hanging, and every future is dropped.
pub fn shutdown_with_pending_work(make: Factory<'_>) {
    let s = make();
    let n = scaled(1_000);
    let gate = Gate::new();
    let dropped = DropCounter::new();
    let tasks = gated_tasks(&s, n, &gate, &dropped);
    let timers: Vec<_> = (0..n.min(100))
        .map(|_| s.timer(Duration::from_secs(3600)).fallible())
        .collect();
    drop(s);
    // Tasks waiting on the gate are woken into a scheduler that is gone: they are dropped.
    gate.open();
    for task in tasks {
        assert_eq!(wait(task), None);
    }
    for timer in timers {
        assert_eq!(wait(timer), None);
    }
    wait(dropped.reached(n));
}

/// Dropping the scheduler on the main thread drops the foreground tasks still queued there,
/// on the main thread.
pub fn shutdown_drops_foreground_on_main(make: Factory<'_>) {
    let s = make();
    let n = scaled(100);
    let dropped = Counter::new();
    let main = thread::current().id();
    let wrong_thread = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let dropped = dropped.clone();
            let wrong_thread = wrong_thread.clone();
            let guard = common::OnDrop::new(move || {
                if thread::current().id() != main {
                    wrong_thread.store(true, Ordering::SeqCst);
                }
                dropped.add(1);
            });
            let not_send = Rc::new(());
            s.spawn_foreground(async move {
                let _guard = guard;
                let _not_send = not_send;
            })
            .fallible()
        })
        .collect();
    drop(s);
    for task in tasks {
        assert_eq!(wait(task), None);
    }
    assert_eq!(dropped.get(), n);
    assert!(!wrong_thread.load(Ordering::SeqCst));
}

/// Spawns `n` background tasks that wait on `gate`, each holding a guard that counts its drop
/// on `dropped`; returns their handles, made fallible.
fn gated_tasks(
    s: &Arc<dyn Scheduler>,
    n: usize,
    gate: &Gate,
    dropped: &DropCounter,
) -> Vec<FallibleTask<()>> {
    (0..n)
        .map(|_| {
            let guard = dropped.guard();
            let gate = gate.clone();
            s.spawn(async move {
                let _guard = guard;
                gate.wait().await;
            })
            .fallible()
        })
        .collect()
}

/// Main-thread backends: a foreground task that blocks on the main thread (nested) still
/// lets other foreground work run.
pub fn nested_block_on_main_runs_foreground_work(make: Factory<'_>) {
    let s = make();
    let inner = s.clone();
    let task = s.spawn_foreground(async move {
        let other = inner.spawn_foreground(async { 5 });
        inner.block(other)
    });
    assert_eq!(s.block(task), 5);
}

/// Multi-threaded backends: dropping the last reference on a worker (pool) thread, inside a
/// task, shuts down without deadlock and cancels what was queued.
pub fn drop_on_a_worker_thread(make: Factory<'_>) {
    let s = make();
    let gate = Gate::new();
    let dropped = DropCounter::new();
    let pending = gated_tasks(&s, 100, &gate, &dropped);
    let done = Counter::new();
    let last = s.clone();
    let weak = Arc::downgrade(&s);
    let (signal, test_dropped) = (done.clone(), Gate::new());
    let dropped_here = test_dropped.clone();
    s.spawn(async move {
        dropped_here.wait().await;
        drop(last); // the last strong reference: `Drop` runs on this worker
        signal.add(1);
    })
    .detach();
    drop(s);
    test_dropped.open();
    wait(done.reached(1));
    assert!(weak.upgrade().is_none());
    gate.open();
    for task in pending {
        assert_eq!(wait(task), None);
    }
    wait(dropped.reached(100));
}

/// Multi-threaded backends: dropped on a thread that is not the main thread, queued
/// foreground tasks are cancelled (their awaiters see `None`) while their futures are leaked,
/// never dropped (or run) on the wrong thread. Returns the count of foreground futures
/// touched (dropped or run), for a backend to check again later.
pub fn drop_off_main_thread_leaks_foreground_work(make: Factory<'_>) -> Arc<AtomicUsize> {
    let s = make();
    let touched = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<FallibleTask<()>> = (0..10)
        .map(|_| {
            let touched = touched.clone();
            let guard = common::OnDrop::new(move || {
                touched.fetch_add(1, Ordering::SeqCst);
            });
            let not_send = Rc::new(());
            s.spawn_foreground(async move {
                let _guard = guard;
                let _not_send = not_send;
            })
            .fallible()
        })
        .collect();
    thread::spawn(move || drop(s))
        .join()
        .expect("drop panicked");
    assert_eq!(touched.load(Ordering::SeqCst), 0);
    // The tasks are cancelled, so their awaiters see it instead of waiting forever.
    for task in tasks {
        assert_eq!(
            wait(task),
            None,
            "an awaiter of dropped foreground work hangs"
        );
    }
    assert_eq!(touched.load(Ordering::SeqCst), 0);
    touched
}

/// Multi-threaded backends: a long task does not delay timers; they fire on (or are handed
/// to) another thread.
pub fn long_task_does_not_delay_timers(make: Factory<'_>) {
    let s = make();
    let release = Arc::new((Mutex::new(false), Condvar::new()));
    let hold = release.clone();
    let blocker = s.spawn(async move {
        let (lock, cv) = &*hold;
        let mut released = lock.lock().unwrap();
        let deadline = Instant::now() + LIMIT;
        while !*released && Instant::now() < deadline {
            released = cv.wait_timeout(released, LIMIT).unwrap().0;
        }
    });
    // One thread is now (or soon) busy until released; timers still fire on another.
    let result = s.block_with_timeout(LIMIT, s.timer(Duration::from_millis(5)));
    let (lock, cv) = &*release;
    *lock.lock().unwrap() = true;
    cv.notify_all();
    assert!(result.is_ok());
    s.block(blocker);
}

/// Spawns a task that yields forever, counting its polls and its drop; returns its handle
/// once it has been polled twice.
fn spawn_yielding_forever(s: &Arc<dyn Scheduler>) -> (Task<()>, DropCounter) {
    let polls = Counter::new();
    let dropped = DropCounter::new();
    let (counted, guard) = (polls.clone(), dropped.guard());
    let spinner = s.spawn(async move {
        let _guard = guard;
        loop {
            counted.add(1);
            futures_lite::future::yield_now().await;
        }
    });
    block_within_limit(
        s,
        polls.reached(2),
        "the yielding task was not polled again",
    );
    (spinner, dropped)
}

/// A task that yields forever does not starve other work: tasks spawned after it finish,
/// and dropping its handle cancels it. (`QueueScheduler::run_all` returning while a task
/// keeps yielding is in `core_spawn.rs`.)
pub fn a_task_yielding_forever_does_not_starve_others(make: Factory<'_>) {
    let s = make();
    let (spinner, dropped) = spawn_yielding_forever(&s);
    let tasks: Vec<Task<usize>> = (0..10).map(|i| s.spawn(async move { i })).collect();
    let sum = block_within_limit(
        &s,
        sum_of(tasks),
        "a task yielding forever starved the others",
    );
    assert_eq!(sum, 45);
    drop(spinner);
    block_within_limit(&s, dropped.reached(1), "the cancelled task was not dropped");
}

/// A task that yields forever does not hold back a timer.
pub fn a_task_yielding_forever_does_not_hold_back_timers(make: Factory<'_>) {
    let s = make();
    let (spinner, dropped) = spawn_yielding_forever(&s);
    let inner = s.clone();
    let timer = s.spawn(async move { inner.timer(Duration::from_millis(1)).await });
    block_within_limit(&s, timer, "a task yielding forever held back a timer");
    drop(spinner);
    block_within_limit(&s, dropped.reached(1), "the cancelled task was not dropped");
}

/// Two, then eight, threads block on the scheduler at the same time, each on a future of its
/// own; every one of them returns once its future is woken, in whatever order that happens.
/// Rounds repeat so that a lost wakeup between blockers shows up.
pub fn concurrent_blockers(make: Factory<'_>) {
    let s = make();
    let rounds = if cfg!(miri) { 2 } else { 20 };
    for threads in [2, 8] {
        for round in 0..rounds {
            let gates: Vec<Gate> = (0..threads).map(|_| Gate::new()).collect();
            let started = Counter::new();
            let blockers: Vec<_> = gates
                .iter()
                .map(|gate| {
                    let (s, gate, started) = (s.clone(), gate.clone(), started.clone());
                    thread::spawn(move || {
                        started.add(1);
                        s.block_with_timeout(LIMIT, gate.wait()).is_ok()
                    })
                })
                .collect();
            wait(started.reached(threads));
            // Open the gates one by one, last first, while the others stay parked.
            for gate in gates.iter().rev() {
                common::spin_for(Duration::from_micros(200));
                gate.open();
            }
            for blocker in blockers {
                assert!(
                    blocker.join().unwrap(),
                    "{threads} blockers, round {round}: a blocker missed its wakeup"
                );
            }
        }
    }
}

/// A task that blocks on a child it spawned sees the child finish, and the scheduler does
/// not report the finished child as running afterwards.
pub fn nested_block_keeps_the_lifecycle(make: Factory<'_>) {
    let s = make();
    let inner = s.clone();
    let outer = s.spawn(async move {
        let child = inner.spawn(async { 5 });
        let id = child.id();
        (inner.block(child), id)
    });
    let Ok((five, child)) = s.block_with_timeout(LIMIT, outer) else {
        panic!("the nested block hung");
    };
    assert_eq!(five, 5);
    assert_ne!(
        s.is_task_running(child),
        Some(true),
        "a finished child is reported running"
    );
}

/// `spawn_foreground` called off the main thread panics at the call, naming where it was
/// called: from another OS thread, and from a background task wherever the scheduler says
/// the task is not on its main thread.
pub fn spawn_foreground_off_main_fails_at_the_call(make: Factory<'_>) {
    let s = make();
    let other = s.clone();
    let (message, line) = thread::spawn(move || {
        let line = line!() + 2;
        let panic = catch_unwind(AssertUnwindSafe(|| {
            other.spawn_foreground(async { 1 }).detach();
        }))
        .expect_err("spawn_foreground off the main thread must panic");
        (common::panic_message(&*panic), line)
    })
    .join()
    .unwrap();
    assert!(message.contains("main thread"), "{message}");
    assert!(
        message.contains(&format!("conformance/mod.rs:{line}")),
        "{message}"
    );
    let inner = s.clone();
    let from_task = s.spawn(async move {
        if inner.is_main_thread() {
            return None; // this scheduler runs background tasks on its main thread
        }
        let spawned = catch_unwind(AssertUnwindSafe(|| {
            inner.spawn_foreground(async {}).detach();
        }));
        Some(spawned.is_err())
    });
    if let Some(failed) = s.block_with_timeout(LIMIT, from_task).ok().flatten() {
        assert!(failed, "spawn_foreground from a background task must panic");
    }
}

/// Tasks that `block` on children of their own, as many at once as the scheduler has
/// threads (and twice that), all finish: the blocked threads do not starve the children.
pub fn blocking_in_every_worker_does_not_hang(make: Factory<'_>) {
    let s = make();
    for blockers in [s.num_cpus(), 2 * s.num_cpus()] {
        let entered = Counter::new();
        let tasks: Vec<Task<usize>> = (0..blockers)
            .map(|i| {
                let (inner, entered) = (s.clone(), entered.clone());
                s.spawn(async move {
                    let child = inner.spawn(async move { i });
                    entered.add(1);
                    // Every blocker waits until all of them block, so every thread that
                    // runs one is blocked at the same time.
                    let all_blocked = entered.reached(blockers.min(inner.num_cpus()));
                    inner.block(async move {
                        all_blocked.await;
                        child.await
                    })
                })
            })
            .collect();
        let sum = s.block_with_timeout(LIMIT, sum_of(tasks));
        assert_eq!(
            sum.ok(),
            Some(blockers * (blockers - 1) / 2),
            "{blockers} tasks blocking at once on {} threads hung",
            s.num_cpus()
        );
    }
}
