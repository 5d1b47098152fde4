//! The conformance suite stamped for the `WindowsDispatcher`, plus its own behaviour (the
//! message-only window: coalesced wake messages, time slices, the user's own message loop,
//! `run_until`, `pump_pending`), shutdown from odd threads and a few stress tests.
//!
//! Windows only: `bash ci/wine/test.sh --features win-threadpool --test windows_dispatcher`
//! runs it under Wine on Linux.
#![cfg(windows)]

mod conformance;

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use conformance::util::{OnDrop, spin_for};
use conformance::{Counter, DropCounter, Gate, LIMIT, scaled, wait};
use unified_scheduler::{Scheduler, Task, WindowsDispatcher, WindowsDispatcherConfig};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    DispatchMessageW, MSG, MWMO_INPUTAVAILABLE, MsgWaitForMultipleObjectsEx, PM_REMOVE,
    PeekMessageW, PostQuitMessage, QS_ALLINPUT, RegisterWindowMessageW, TranslateMessage, WM_QUIT,
};

fn make() -> Arc<dyn Scheduler> {
    Arc::new(WindowsDispatcher::new())
}

/// A private pool with one thread: background work runs in FIFO order, so completion order
/// is defined.
fn make_single_thread() -> Arc<dyn Scheduler> {
    Arc::new(WindowsDispatcher::with_config(
        WindowsDispatcherConfig::default().max_threads(1),
    ))
}

/// The process-wide Windows thread pool instead of a private one.
fn make_process_pool() -> Arc<dyn Scheduler> {
    Arc::new(WindowsDispatcher::with_config(
        WindowsDispatcherConfig::default().process_pool(),
    ))
}

conformance::stamp!(make;
    spawn_and_await,
    many_tasks,
    spawn_from_inside,
    spawn_chain,
    foreground_runs_on_main_thread,
    foreground_fifo,
    background_runs_off_main_thread,
    is_main_thread,
    timers_never_early,
    timer_zero_and_huge,
    cancel_by_drop,
    cancel_foreground_by_drop,
    detach,
    panics_reach_the_awaiter,
    block_and_block_with_timeout,
    park_and_unpark,
    shutdown_with_pending_work,
    shutdown_drops_foreground_on_main,
);
conformance::stamp!(make_single_thread; timers_in_order);

/// The whole suite again on the process-wide pool.
mod process_pool {
    use super::make_process_pool;

    crate::conformance::stamp!(make_process_pool;
        spawn_and_await,
        many_tasks,
        spawn_from_inside,
        spawn_chain,
        foreground_runs_on_main_thread,
        foreground_fifo,
        background_runs_off_main_thread,
        is_main_thread,
        timers_never_early,
        timer_zero_and_huge,
        cancel_by_drop,
        cancel_foreground_by_drop,
        detach,
        panics_reach_the_awaiter,
        block_and_block_with_timeout,
        park_and_unpark,
        shutdown_with_pending_work,
        shutdown_drops_foreground_on_main,
    );
}

// ---- Helpers for the message-loop tests --------------------------------------------------

/// The dispatcher's registered window message; `wParam` 0 is "run foreground work".
fn wake_message() -> u32 {
    let name: Vec<u16> = "unified-scheduler.WindowsDispatcher"
        .encode_utf16()
        .chain(Some(0))
        .collect();
    // SAFETY: `name` is a NUL-terminated UTF-16 string that outlives the call.
    let id = unsafe { RegisterWindowMessageW(name.as_ptr()) };
    assert_ne!(id, 0);
    id
}

/// What one pass of the test's own message loop saw.
#[derive(Default, Debug)]
struct Pumped {
    wakes: usize,
    quit: bool,
}

/// The user's own message loop: dispatches every message of this thread until `done()`,
/// `WM_QUIT`, or [`LIMIT`] (a failure). Counts the dispatcher's wake messages.
fn message_loop(mut done: impl FnMut() -> bool) -> Pumped {
    let wake = wake_message();
    let deadline = Instant::now() + LIMIT;
    let mut seen = Pumped::default();
    while !done() {
        assert!(Instant::now() < deadline, "the message loop never finished");
        let mut msg = MSG::default();
        // SAFETY: `msg` is a valid out-pointer; null window and 0..0 ask for every message
        // of this thread.
        while unsafe { PeekMessageW(&mut msg, std::ptr::null_mut(), 0, 0, PM_REMOVE) } != 0 {
            if msg.message == WM_QUIT {
                seen.quit = true;
                return seen;
            }
            if msg.message == wake && msg.wParam == 0 {
                seen.wakes += 1;
            }
            // SAFETY: `msg` was just filled in by `PeekMessageW` on this thread.
            unsafe {
                TranslateMessage(&msg);
                DispatchMessageW(&msg);
            }
            if done() {
                return seen;
            }
        }
        // SAFETY: no handles; waits at most 50 ms for any input to this thread's queue.
        unsafe {
            MsgWaitForMultipleObjectsEx(0, std::ptr::null(), 50, QS_ALLINPUT, MWMO_INPUTAVAILABLE)
        };
    }
    seen
}

// ---- The message-only window ---------------------------------------------------------------

#[test]
fn debug_and_defaults() {
    let s = make();
    assert!(s.num_cpus() >= 1);
    let dispatcher = s.downcast_ref::<WindowsDispatcher>().unwrap();
    assert!(format!("{dispatcher:?}").starts_with("WindowsDispatcher"));
    let single = make_single_thread();
    assert_eq!(single.num_cpus(), 1);
    let zero: Arc<dyn Scheduler> = Arc::new(WindowsDispatcher::with_config(
        WindowsDispatcherConfig::default().max_threads(0),
    ));
    assert_eq!(zero.num_cpus(), 1);
    assert_eq!(zero.block(zero.spawn(async { 1 })), 1);
}

/// A burst of foreground runnables posts one wake message, and one dispatch of it runs them
/// all (within one generous time slice).
#[test]
fn burst_of_foreground_work_posts_one_message() {
    let dispatcher = Arc::new(WindowsDispatcher::with_config(
        WindowsDispatcherConfig::default().time_slice(LIMIT),
    ));
    let s: Arc<dyn Scheduler> = dispatcher.clone();
    let n = 500;
    let ran = Rc::new(Cell::new(0));
    for _ in 0..n {
        let ran = ran.clone();
        s.spawn_foreground(async move { ran.set(ran.get() + 1) })
            .detach();
    }
    assert_eq!(ran.get(), 0, "foreground work must not run inline");
    let seen = message_loop(false_after_empty_queue);
    assert_eq!(seen.wakes, 1, "a burst must post exactly one wake message");
    assert_eq!(ran.get(), n);

    // A second burst, after the first was handled, posts one more.
    for _ in 0..n {
        let ran = ran.clone();
        s.spawn_foreground(async move { ran.set(ran.get() + 1) })
            .detach();
    }
    let seen = message_loop(false_after_empty_queue);
    assert_eq!(seen.wakes, 1);
    assert_eq!(ran.get(), 2 * n);
}

/// For `message_loop`: never stop early; the loop ends once the queue is empty.
fn false_after_empty_queue() -> bool {
    let mut msg = MSG::default();
    // SAFETY: a peek without removal into a valid out-pointer.
    unsafe { PeekMessageW(&mut msg, std::ptr::null_mut(), 0, 0, 0) == 0 }
}

/// Work that outlasts the time slice is split across messages: the window procedure posts
/// again while work remains, so other messages get their turn in between.
#[test]
fn time_slices_repost_while_work_remains() {
    let slice = Duration::from_millis(1);
    let dispatcher = Arc::new(WindowsDispatcher::with_config(
        WindowsDispatcherConfig::default().time_slice(slice),
    ));
    let s: Arc<dyn Scheduler> = dispatcher.clone();
    let n = 8;
    let ran = Rc::new(Cell::new(0));
    for _ in 0..n {
        let ran = ran.clone();
        s.spawn_foreground(async move {
            spin_for(3 * slice); // longer than a slice: one runnable per message
            ran.set(ran.get() + 1);
        })
        .detach();
    }
    let seen = message_loop(false_after_empty_queue);
    assert_eq!(ran.get(), n);
    assert_eq!(
        seen.wakes, n,
        "one message per slice, each slice one runnable"
    );
}

/// The user's own message loop runs foreground work, woken from pool threads and timers;
/// a foreground task ends the loop with `PostQuitMessage`.
#[test]
fn foreground_tasks_run_in_the_users_message_loop() {
    let s = make();
    let main = thread::current().id();
    let count = Rc::new(Cell::new(0));
    let background = s.spawn(async { thread::current().id() });
    let inner = s.clone();
    let counted = count.clone();
    s.spawn_foreground(async move {
        assert_eq!(thread::current().id(), main);
        counted.set(counted.get() + 1);
        let worker = background.await; // woken from a pool thread
        assert_ne!(worker, main);
        inner.timer(Duration::from_millis(2)).await; // woken from a timer callback
        counted.set(counted.get() + 1);
        // SAFETY: posts `WM_QUIT` to this (the main) thread's queue.
        unsafe { PostQuitMessage(0) };
    })
    .detach();
    let seen = message_loop(|| false);
    assert!(seen.quit);
    assert!(seen.wakes >= 1);
    assert_eq!(count.get(), 2);
}

/// `run_until` runs the message loop itself: foreground work, nested spawns, wakes from
/// other threads; a `WM_QUIT` seen meanwhile is posted again; other threads are refused.
#[test]
fn run_until_runs_the_loop_itself() {
    let dispatcher = Arc::new(WindowsDispatcher::new());
    let s: Arc<dyn Scheduler> = dispatcher.clone();
    let inner = s.clone();
    let task = s.spawn_foreground(async move {
        let nested = inner.spawn_foreground(async { 2 });
        let background = inner.spawn(async { 1 });
        inner.timer(Duration::from_millis(1)).await;
        // SAFETY: posts `WM_QUIT` to the main thread's queue.
        unsafe { PostQuitMessage(7) };
        nested.await + background.await
    });
    assert_eq!(dispatcher.run_until(task), 3);
    // The quit message was handed back to the caller's loop.
    let mut msg = MSG::default();
    // SAFETY: `msg` is a valid out-pointer.
    let found =
        unsafe { PeekMessageW(&mut msg, std::ptr::null_mut(), WM_QUIT, WM_QUIT, PM_REMOVE) };
    assert_ne!(found, 0);
    assert_eq!(msg.wParam, 7);
    // A future woken only from another thread.
    let gate = Gate::new();
    let opener = gate.clone();
    let handle = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        opener.open();
    });
    dispatcher.run_until(gate.wait());
    handle.join().unwrap();
    let other = dispatcher.clone();
    let refused = thread::spawn(move || other.run_until(async {})).join();
    assert!(refused.is_err());
}

/// `pump_pending` runs queued foreground work without a message loop; off the main thread
/// it is refused.
#[test]
fn pump_pending_runs_foreground_work() {
    let dispatcher = Arc::new(WindowsDispatcher::new());
    let s: Arc<dyn Scheduler> = dispatcher.clone();
    assert_eq!(dispatcher.pump_pending(), 0);
    let log = Rc::new(std::cell::RefCell::new(Vec::new()));
    for i in 0..10 {
        let log = log.clone();
        s.spawn_foreground(async move { log.borrow_mut().push(i) })
            .detach();
    }
    let deadline = Instant::now() + LIMIT;
    let mut total = 0;
    while total < 10 {
        assert!(Instant::now() < deadline);
        total += dispatcher.pump_pending();
    }
    assert_eq!(*log.borrow(), (0..10).collect::<Vec<_>>());
    let other = dispatcher.clone();
    assert!(thread::spawn(move || other.pump_pending()).join().is_err());
}

/// A foreground task that blocks on the main thread (nested) still lets others run.
#[test]
fn nested_block_on_main_runs_foreground_work() {
    let s = make();
    let inner = s.clone();
    let task = s.spawn_foreground(async move {
        let other = inner.spawn_foreground(async { 5 });
        inner.block(other)
    });
    assert_eq!(s.block(task), 5);
}

/// Dropping the dispatcher inside a foreground task run by the window procedure destroys
/// the window under it without harm.
#[test]
fn drop_inside_the_window_procedure() {
    let s = make();
    let weak = Arc::downgrade(&s);
    let done = Rc::new(Cell::new(false));
    let last = s.clone();
    let flag = done.clone();
    s.spawn_foreground(async move {
        drop(last); // the last strong reference: `Drop` runs inside `window_proc`
        flag.set(true);
    })
    .detach();
    drop(s);
    let done_now = done.clone();
    message_loop(move || done_now.get());
    assert!(done.get());
    assert!(weak.upgrade().is_none());
    // Anything left (a repost, the destroy) is harmless.
    message_loop(false_after_empty_queue);
}

/// Dropping the last reference on a pool thread (inside a task) shuts down without
/// deadlock and cancels what was queued.
#[test]
fn drop_on_a_pool_thread() {
    for make in [make, make_process_pool] {
        let s = make();
        let gate = Gate::new();
        let dropped = Counter::new();
        let pending: Vec<_> = (0..100)
            .map(|_| {
                let guard = DropCounter::new(&dropped);
                let gate = gate.clone();
                s.spawn(async move {
                    let _guard = guard;
                    gate.wait().await;
                })
                .fallible()
            })
            .collect();
        let done = Counter::new();
        let last = s.clone();
        let weak = Arc::downgrade(&s);
        let (signal, test_dropped) = (done.clone(), Gate::new());
        let dropped_here = test_dropped.clone();
        s.spawn(async move {
            dropped_here.wait().await;
            drop(last); // the last strong reference: `Drop` runs on this pool thread
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
}

/// Dropped on a thread that is not the main thread, queued foreground runnables are leaked,
/// never dropped (or run) on the wrong thread; the window is destroyed later, by the main
/// thread's message loop.
#[test]
fn drop_off_main_thread_leaks_foreground_work() {
    let s = make();
    let touched = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<Task<()>> = (0..10)
        .map(|_| {
            let touched = touched.clone();
            let guard = OnDrop::new(move || {
                touched.fetch_add(1, Ordering::SeqCst);
            });
            let not_send = Rc::new(());
            s.spawn_foreground(async move {
                let _guard = guard;
                let _not_send = not_send;
            })
        })
        .collect();
    thread::spawn(move || drop(s))
        .join()
        .expect("drop panicked");
    assert_eq!(touched.load(Ordering::SeqCst), 0);
    drop(tasks);
    assert_eq!(touched.load(Ordering::SeqCst), 0);
    // The main thread handles the destroy request (and the stale wake) harmlessly.
    message_loop(false_after_empty_queue);
    assert_eq!(touched.load(Ordering::SeqCst), 0);
}

/// A long task does not delay timers: they fire on other pool threads.
#[test]
fn long_task_does_not_delay_timers() {
    for make in [make, make_process_pool] {
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
        let result = s.block_with_timeout(LIMIT, s.timer(Duration::from_millis(5)));
        let (lock, cv) = &*release;
        *lock.lock().unwrap() = true;
        cv.notify_all();
        assert!(result.is_ok());
        s.block(blocker);
    }
}

/// On a one-thread private pool, background tasks run one at a time in the order they were
/// scheduled.
#[test]
fn single_thread_pool_runs_in_fifo_order() {
    let s = make_single_thread();
    let log = Arc::new(Mutex::new(Vec::new()));
    let inside = Arc::new(AtomicUsize::new(0));
    let overlap = Arc::new(AtomicBool::new(false));
    let n = 200;
    let tasks: Vec<Task<()>> = (0..n)
        .map(|i| {
            let (log, inside, overlap) = (log.clone(), inside.clone(), overlap.clone());
            s.spawn(async move {
                if inside.fetch_add(1, Ordering::SeqCst) != 0 {
                    overlap.store(true, Ordering::SeqCst);
                }
                log.lock().unwrap().push(i);
                inside.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    s.block(async move {
        for task in tasks {
            task.await;
        }
    });
    assert!(!overlap.load(Ordering::SeqCst));
    assert_eq!(*log.lock().unwrap(), (0..n).collect::<Vec<_>>());
}

// ---- Reliability -------------------------------------------------------------------------

/// 200,000 tasks spawned from 4 threads at once all complete, each exactly once.
#[test]
fn many_tasks_from_four_threads_run_exactly_once() {
    let per_thread = scaled(50_000);
    let total = 4 * per_thread;
    let s = make();
    let ran: Arc<Vec<AtomicBool>> = Arc::new((0..total).map(|_| AtomicBool::new(false)).collect());
    let count = Arc::new(AtomicUsize::new(0));
    let twice = Arc::new(AtomicUsize::new(0));
    let all_done = Gate::new();
    let start = Arc::new(Barrier::new(4));
    let spawners: Vec<_> = (0..4)
        .map(|t| {
            let (s, ran, count, twice) = (s.clone(), ran.clone(), count.clone(), twice.clone());
            let (all_done, start) = (all_done.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for i in t * per_thread..(t + 1) * per_thread {
                    let (ran, count, twice) = (ran.clone(), count.clone(), twice.clone());
                    let all_done = all_done.clone();
                    s.spawn(async move {
                        if ran[i].swap(true, Ordering::Relaxed) {
                            twice.fetch_add(1, Ordering::Relaxed);
                        }
                        if count.fetch_add(1, Ordering::AcqRel) + 1 == total {
                            all_done.open();
                        }
                    })
                    .detach();
                }
            })
        })
        .collect();
    for spawner in spawners {
        spawner.join().unwrap();
    }
    wait(all_done.wait());
    assert_eq!(count.load(Ordering::Acquire), total);
    assert_eq!(twice.load(Ordering::Relaxed), 0);
    assert!(ran.iter().all(|r| r.load(Ordering::Relaxed)));
}

/// 2,000 timers with random deadlines: all fire, none early.
#[test]
fn random_timers_all_fire_none_early() {
    let s = make();
    let n = scaled(2_000);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let early = Arc::new(AtomicUsize::new(0));
    let fired = Arc::new(AtomicUsize::new(0));
    let all = Gate::new();
    for _ in 0..n {
        let delay = Duration::from_micros(next() % 100_000);
        let deadline = Instant::now() + delay;
        let timer = s.timer(delay);
        let (early, fired, all) = (early.clone(), fired.clone(), all.clone());
        s.spawn(async move {
            timer.await;
            if Instant::now() < deadline {
                early.fetch_add(1, Ordering::Relaxed);
            }
            if fired.fetch_add(1, Ordering::AcqRel) + 1 == n {
                all.open();
            }
        })
        .detach();
    }
    wait(all.wait());
    assert_eq!(fired.load(Ordering::Acquire), n);
    assert_eq!(early.load(Ordering::Relaxed), 0);
}

/// Shutdown with every kind of background work in flight: running, queued, waiting on a
/// wake, waiting on a timer. Every future is dropped: none leaks.
#[test]
fn shutdown_drops_every_future() {
    for _ in 0..scaled(10) {
        // The private pool only: on the process-wide pool under Wine, the always-yielding
        // tasks spread over ever more threads, whose wakes keep upgrading the dispatcher's
        // `Weak` for seconds after the test drops its last `Arc`.
        let s = make();
        let dropped = Counter::new();
        let gate = Gate::new();
        let mut spawned = 0;
        let mut handles = Vec::new();
        for i in 0..scaled(400) {
            let guard = DropCounter::new(&dropped);
            let gate = gate.clone();
            let task = match i % 4 {
                0 => s.spawn(async move {
                    let _guard = guard;
                    gate.wait().await;
                }),
                1 => s.spawn(async move {
                    let _guard = guard;
                    loop {
                        futures_lite::future::yield_now().await;
                    }
                }),
                2 => {
                    let timer = s.timer(Duration::from_secs(3600));
                    s.spawn(async move {
                        let _guard = guard;
                        timer.await;
                    })
                }
                _ => {
                    let deadline = s.now() + Duration::from_millis(1);
                    s.spawn(async move {
                        let _guard = guard;
                        while Instant::now() < deadline {
                            futures_lite::future::yield_now().await;
                        }
                        gate.wait().await;
                    })
                }
            };
            spawned += 1;
            handles.push(task.fallible());
        }
        let _ = s.block_with_timeout(Duration::from_millis(1), std::future::pending::<()>());
        drop(s);
        gate.open();
        for handle in handles {
            // A task that was being polled while `Drop` cancelled its timer sees the timer's
            // `Task` cancelled and panics, as awaiting a cancelled `Task` does; that panic
            // reaches this awaiter. Either way the future must be dropped, which is checked
            // below.
            let _ = catch_unwind(AssertUnwindSafe(|| wait(handle)));
        }
        wait(dropped.reached(spawned));
        assert_eq!(dropped.get(), spawned);
    }
}
