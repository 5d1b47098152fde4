//! The conformance suite stamped for the `WindowsDispatcher`, on a private pool and on the
//! process-wide pool (every property; what does not run is excluded below, with the reason),
//! plus its own behaviour: the message-only window (coalesced wake messages, time slices, the
//! user's own message loop, `run_until`, `pump_pending`, shutdown inside the window procedure
//! or off the main thread) and its one-thread pool.
//!
//! Windows only: `bash ci/wine/test.sh --features win-threadpool --test windows_dispatcher`
//! runs it under Wine on Linux.
#![cfg(windows)]

mod common;
mod conformance;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{Gate, LIMIT, spin_for};
use unified_scheduler::{Priority, Scheduler, Task, WindowsDispatcher, WindowsDispatcherConfig};
use windows_sys::Win32::UI::WindowsAndMessaging::{
    DispatchMessageW, MSG, MWMO_INPUTAVAILABLE, MsgWaitForMultipleObjectsEx, PM_REMOVE,
    PeekMessageW, PostQuitMessage, QS_ALLINPUT, RegisterWindowMessageW, TranslateMessage, WM_QUIT,
};

fn make() -> Arc<dyn Scheduler> {
    Arc::new(WindowsDispatcher::new())
}

/// A private pool with one thread: background work runs in FIFO order, so completion order
/// is defined, and a task that blocks holds the only thread.
fn make_single_thread() -> Arc<dyn Scheduler> {
    Arc::new(WindowsDispatcher::with_config(
        WindowsDispatcherConfig::default().worker_threads(1),
    ))
}

/// A private pool of two threads, whatever the machine.
fn make_two_threads() -> Arc<dyn Scheduler> {
    Arc::new(WindowsDispatcher::with_config(
        WindowsDispatcherConfig::default().worker_threads(2),
    ))
}

/// The process-wide Windows thread pool instead of a private one.
fn make_process_pool() -> Arc<dyn Scheduler> {
    Arc::new(WindowsDispatcher::with_config(
        WindowsDispatcherConfig::default().process_pool(),
    ))
}

// Reliability: 200,000 tasks from four threads, 2,000 random timers, shutdown with
// everything in flight (10 dispatchers, 400 tasks each).
conformance::suite! {
    make: make,
    one_worker: make_single_thread,
    two_workers: make_two_threads,
    sizes: {
        tasks_per_spawner: 50_000,
        random_timers: 2_000,
        shutdown: (10, 400, conformance::TimerAwait::Plain),
    },
    exclude: {},
}

/// The whole suite again on the process-wide pool (tasks wake into the dispatcher's shared
/// state, not through its `Weak`).
mod process_pool {
    use super::make_process_pool;

    crate::conformance::suite! {
        make: make_process_pool,
        one_worker: make_process_pool,
        // The process-wide pool grows past the machine's parallelism, which is what it
        // reports as `num_cpus`: two or more on any machine this suite runs on.
        two_workers: make_process_pool,
        sizes: {
            tasks_per_spawner: 50_000,
            random_timers: 2_000,
            shutdown: (10, 400, crate::conformance::TimerAwait::Plain),
        },
        exclude: {
            #[ignore = "the process-wide pool cannot be held to one thread; the one-thread \
                        properties run on the private pool (`one_worker::*` above)"]
            one_worker::*,
        },
    }
}

/// A poke waiting to be taken, and the waker of whoever waits for it.
type Poke = Mutex<(bool, Option<std::task::Waker>)>;

/// The last reference to the dispatcher is dropped while other threads keep waking its
/// tasks: the `Drop` (which blocks until callbacks finish) runs on the dropping thread,
/// never inside a waker on one of those threads. Rounds repeat to catch the race.
#[test]
fn the_last_reference_is_dropped_by_its_owner_even_while_foreign_threads_wake_tasks() {
    for _ in 0..20 {
        let s = make();
        let weak = Arc::downgrade(&s);
        let stop = Arc::new(AtomicBool::new(false));
        // Each task waits to be poked, again and again; each poker thread pokes its task.
        let pokes: Vec<Arc<Poke>> = (0..8).map(|_| Arc::default()).collect();
        for poke in &pokes {
            let poke = poke.clone();
            s.spawn(async move {
                loop {
                    std::future::poll_fn(|cx| {
                        let mut poke = poke.lock().unwrap();
                        if std::mem::take(&mut poke.0) {
                            return std::task::Poll::Ready(());
                        }
                        poke.1 = Some(cx.waker().clone());
                        std::task::Poll::Pending
                    })
                    .await;
                }
            })
            .detach();
        }
        let wakers: Vec<_> = pokes
            .into_iter()
            .map(|poke| {
                let stop = stop.clone();
                thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let waker = {
                            let mut poke = poke.lock().unwrap();
                            poke.0 = true;
                            poke.1.take()
                        };
                        if let Some(waker) = waker {
                            waker.wake();
                        }
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        drop(s);
        assert!(
            weak.upgrade().is_none(),
            "a wake held the dispatcher alive: its Drop would run on a waking thread"
        );
        stop.store(true, Ordering::Relaxed);
        for waker in wakers {
            waker.join().unwrap();
        }
    }
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
        WindowsDispatcherConfig::default().worker_threads(0),
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
    // A future woken only from another thread, once `run_until` has polled it.
    let (gate, polled) = (Gate::new(), common::Counter::new());
    let (opener, seen) = (gate.clone(), polled.clone());
    let handle = thread::spawn(move || {
        common::wait(seen.reached(1));
        opener.open();
    });
    let waiting = gate.wait();
    dispatcher.run_until(async move {
        polled.add(1);
        waiting.await;
    });
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

/// Dropped on a thread that is not the main thread, queued foreground tasks are cancelled
/// (their awaiters see it) with their futures leaked, never dropped (or run) on the wrong
/// thread; the window is destroyed later, by the main thread's message loop.
#[test]
fn drop_off_main_thread_then_the_message_loop_destroys_the_window() {
    let touched = conformance::drop_off_main_thread_leaks_foreground_work(&make);
    // The main thread handles the destroy request (and the stale wake) harmlessly.
    message_loop(false_after_empty_queue);
    assert_eq!(touched.load(Ordering::SeqCst), 0);
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

/// The backend contract: a multi-threaded backend hands its tasks its inner state, so a
/// wake touches no reference count every thread shares and can never run `Drop`.
#[test]
fn tasks_wake_through_the_task_queue() {
    assert!(make().task_queue().is_some());
    assert!(make_process_pool().task_queue().is_some());
}

/// Every priority maps to a callback priority (`Low` low, `Medium` normal, `High` and
/// `Realtime` high): a task of each completes and returns its output, on the private pool,
/// on a one-thread pool (where the callbacks of all three priorities share the one thread)
/// and on the process-wide pool; spawned from the main thread, from a pool thread, and woken
/// by a timer. The order across priorities is the pool's and is not asserted.
#[test]
fn tasks_of_every_priority_complete() {
    const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Realtime,
    ];
    for s in [make(), make_single_thread(), make_process_pool()] {
        for round in 0..50 {
            let tasks: Vec<Task<usize>> = (0..40)
                .map(|i| s.spawn_with_priority(ALL[i % ALL.len()], async move { i }))
                .collect();
            let sum = s
                .block_with_timeout(LIMIT, async move {
                    let mut sum = 0;
                    for task in tasks {
                        sum += task.await;
                    }
                    sum
                })
                .unwrap_or_else(|_| panic!("round {round}: every task within {LIMIT:?}"));
            assert_eq!(sum, 40 * 39 / 2, "round {round}");
        }
        for (i, &priority) in ALL.iter().enumerate() {
            let (inner, timers) = (s.clone(), s.clone());
            let task = s.spawn(async move {
                let from_pool = inner.spawn_with_priority(priority, async move { i }).await;
                let after_timer = inner.spawn_with_priority(priority, async move {
                    timers.timer(Duration::from_millis(1)).await;
                    i * 10
                });
                from_pool + after_timer.await
            });
            let output = s
                .block_with_timeout(LIMIT, task)
                .unwrap_or_else(|_| panic!("{priority}: within {LIMIT:?}"));
            assert_eq!(output, i * 11, "{priority}");
        }
    }
}
