//! The conformance suite stamped for the `LinuxDispatcher`, plus its own behaviour (calloop
//! integration, shutdown from odd threads) and the reliability stress tests.

mod conformance;

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use conformance::util::OnDrop;
use conformance::{Counter, DropCounter, Gate, LIMIT, scaled, wait};
use unified_scheduler::{LinuxDispatcher, LinuxDispatcherConfig, Scheduler, Task};

fn make() -> Arc<dyn Scheduler> {
    Arc::new(LinuxDispatcher::new())
}

/// One worker: background work runs in FIFO order, so completion order is defined.
fn make_single_worker() -> Arc<dyn Scheduler> {
    Arc::new(LinuxDispatcher::with_config(
        LinuxDispatcherConfig::default().worker_threads(1),
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
conformance::stamp!(make_single_worker; timers_in_order);

#[test]
fn default_config_has_at_least_two_workers() {
    let s = make();
    assert!(s.num_cpus() >= 2);
    let dispatcher = s.downcast_ref::<LinuxDispatcher>().unwrap();
    assert!(format!("{dispatcher:?}").starts_with("LinuxDispatcher"));
}

#[test]
fn zero_workers_means_one() {
    let s: Arc<dyn Scheduler> = Arc::new(LinuxDispatcher::with_config(
        LinuxDispatcherConfig::default().worker_threads(0),
    ));
    assert_eq!(s.num_cpus(), 1);
    assert_eq!(s.block(s.spawn(async { 1 })), 1);
}

/// The dispatcher's source in the user's own calloop loop runs foreground tasks, woken from
/// workers, in between the loop's other sources.
#[test]
#[cfg_attr(
    miri,
    ignore = "calloop's EventLoop needs timerfd, which miri does not support"
)]
fn foreground_tasks_run_in_a_user_event_loop() {
    let mut event_loop = calloop::EventLoop::<Vec<&'static str>>::try_new().unwrap();
    let dispatcher = Arc::new(LinuxDispatcher::new());
    dispatcher.insert_into(&event_loop.handle()).unwrap();
    // A second insertion is refused instead of stealing the registration.
    let mut other_loop = calloop::EventLoop::<()>::try_new().unwrap();
    assert!(dispatcher.insert_into(&other_loop.handle()).is_err());
    other_loop.dispatch(Some(Duration::ZERO), &mut ()).unwrap();

    let s: Arc<dyn Scheduler> = dispatcher.clone();
    let main = thread::current().id();
    let signal = event_loop.get_signal();
    let on_main = Rc::new(Cell::new(0));
    let background = s.spawn(async { thread::current().id() });
    let inner = s.clone();
    let count = on_main.clone();
    s.spawn_foreground(async move {
        assert_eq!(thread::current().id(), main);
        count.set(count.get() + 1);
        // Woken from a worker thread.
        let worker = background.await;
        assert_ne!(worker, main);
        inner.timer(Duration::from_millis(2)).await;
        count.set(count.get() + 1);
        signal.stop();
    })
    .detach();
    let started = Instant::now();
    let mut log = Vec::new();
    event_loop
        .run(Some(LIMIT), &mut log, |_| {
            assert!(started.elapsed() < LIMIT, "the event loop never stopped");
        })
        .unwrap();
    assert_eq!(on_main.get(), 2);
}

/// `run_until` drives the main loop itself; it refuses other threads.
#[test]
fn run_until_runs_foreground_work() {
    let dispatcher = Arc::new(LinuxDispatcher::new());
    let s: Arc<dyn Scheduler> = dispatcher.clone();
    let inner = s.clone();
    let task = s.spawn_foreground(async move {
        let nested = inner.spawn_foreground(async { 2 });
        nested.await + 1
    });
    assert_eq!(dispatcher.run_until(task), 3);
    let other = dispatcher.clone();
    let refused = thread::spawn(move || other.run_until(async {})).join();
    assert!(refused.is_err());
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

/// Dropping the last reference on a worker thread (inside a task) shuts down without
/// deadlock and cancels what was queued.
#[test]
fn drop_on_a_worker_thread() {
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

/// Dropped on a thread that is not the main thread, queued foreground runnables are leaked,
/// never dropped (or run) on the wrong thread.
#[test]
#[cfg_attr(miri, ignore = "leaks foreground runnables on purpose, which miri reports")]
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
}

/// A long task does not delay timers: they are handed to another worker.
#[test]
fn long_task_does_not_delay_timers() {
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
    // One worker is now (or soon) busy until released; timers still fire on the other.
    let result = s.block_with_timeout(LIMIT, s.timer(Duration::from_millis(5)));
    let (lock, cv) = &*release;
    *lock.lock().unwrap() = true;
    cv.notify_all();
    assert!(result.is_ok());
    s.block(blocker);
}

// ---- Reliability -------------------------------------------------------------------------

/// 1,000,000 tasks spawned from 4 threads at once all complete, each exactly once.
#[test]
fn million_tasks_from_four_threads_run_exactly_once() {
    let per_thread = scaled(250_000);
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

/// A task woken from another thread while it is still running (between its handshake and
/// its return of `Pending`) never loses the wakeup. One wake per round: a lost one hangs the
/// round, which the bounded wait turns into a failure.
#[test]
fn wake_storm_while_running() {
    let s = make();
    for _ in 0..scaled(20) {
        let rounds = scaled(1_000);
        let shared = Arc::new((Mutex::new((0usize, 0usize, None::<Waker>)), Condvar::new()));
        let task_side = shared.clone();
        let task = s.spawn(poll_fn(move |cx| {
            let (lock, cv) = &*task_side;
            let mut state = lock.lock().unwrap();
            let (asked, acked, waker) = &mut *state;
            *acked = *asked;
            if *acked == rounds {
                return Poll::Ready(());
            }
            *waker = Some(cx.waker().clone());
            cv.notify_all();
            Poll::Pending
        }));
        let (lock, cv) = &*shared;
        for round in 1..=rounds {
            let mut state = lock.lock().unwrap();
            let deadline = Instant::now() + LIMIT;
            // Wait for the previous round's acknowledgement (and a registered waker).
            while state.1 != round - 1 || state.2.is_none() {
                let left = deadline.saturating_duration_since(Instant::now());
                assert!(!left.is_zero(), "lost wakeup in round {round}");
                state = cv.wait_timeout(state, left).unwrap().0;
            }
            state.0 = round;
            let waker = state.2.take().unwrap();
            drop(state);
            waker.wake();
        }
        assert!(
            s.block_with_timeout(LIMIT, task).is_ok(),
            "lost the last wakeup"
        );
    }
}

/// A task woken by many threads at once, while queued or running, sees the final state.
#[test]
fn wake_storm_while_queued() {
    let s = make();
    let wakers = 4;
    for _ in 0..scaled(300) {
        let counter = Arc::new(AtomicUsize::new(0));
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let polls = Arc::new(AtomicUsize::new(0));
        let per = 50;
        let (c, sl, p) = (counter.clone(), slot.clone(), polls.clone());
        let task = s.spawn(poll_fn(move |cx| {
            p.fetch_add(1, Ordering::Relaxed);
            *sl.lock().unwrap() = Some(cx.waker().clone());
            if c.load(Ordering::SeqCst) == wakers * per {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        let start = Arc::new(Barrier::new(wakers));
        let threads: Vec<_> = (0..wakers)
            .map(|_| {
                let (counter, slot, start) = (counter.clone(), slot.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    for _ in 0..per {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let waker = slot.lock().unwrap().clone();
                        if let Some(waker) = waker {
                            waker.wake();
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        // Every increment is followed by a wake of a waker registered before it, or the
        // task had not polled yet; either way the task must see the final count.
        assert!(s.block_with_timeout(LIMIT, task).is_ok(), "lost wakeup");
        assert!(polls.load(Ordering::Relaxed) >= 1);
    }
}

/// Wakers used after their task was cancelled (and after the dispatcher is gone) do no
/// harm, and every future is dropped exactly once.
#[test]
fn wake_storm_after_cancellation() {
    for _ in 0..scaled(50) {
        let s = make();
        let dropped = Counter::new();
        let n = 20;
        let slots: Vec<Arc<Mutex<Option<Waker>>>> =
            (0..n).map(|_| Arc::new(Mutex::new(None))).collect();
        let registered = Counter::new();
        let tasks: Vec<Task<()>> = slots
            .iter()
            .map(|slot| {
                let (slot, guard, registered) =
                    (slot.clone(), DropCounter::new(&dropped), registered.clone());
                s.spawn(poll_fn(move |cx| {
                    let _ = &guard;
                    if slot.lock().unwrap().replace(cx.waker().clone()).is_none() {
                        registered.add(1);
                    }
                    Poll::Pending
                }))
            })
            .collect();
        wait(registered.reached(n));
        let wakers: Vec<Waker> = slots
            .iter()
            .map(|slot| slot.lock().unwrap().clone().unwrap())
            .collect();
        let stormer = {
            let wakers = wakers.clone();
            thread::spawn(move || {
                for _ in 0..100 {
                    for waker in &wakers {
                        waker.wake_by_ref();
                    }
                }
            })
        };
        drop(tasks); // cancel while the storm goes on
        stormer.join().unwrap();
        drop(s);
        for waker in &wakers {
            waker.wake_by_ref(); // after the dispatcher is gone
        }
        drop(slots);
        drop(wakers);
        wait(dropped.reached(n));
        assert_eq!(dropped.get(), n, "a future was dropped twice");
    }
}

/// 10,000 timers with random deadlines: all fire, none early.
#[test]
fn ten_thousand_random_timers() {
    let s = make();
    let n = scaled(10_000);
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
///
/// Foreground work is left out on purpose: with tasks waking each other, the last strong
/// reference may be the one a waker holds for an instant on a worker, and then `Drop` runs
/// there and must leak the queued foreground runnables (see `drop_off_main_thread_...`).
#[test]
fn shutdown_drops_every_future() {
    for _ in 0..scaled(20) {
        let s = make();
        let dropped = Counter::new();
        let gate = Gate::new();
        let mut spawned = 0;
        let mut handles = Vec::new();
        for i in 0..scaled(500) {
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
                        futures_lite::future::yield_now().await; // always running or queued
                    }
                }),
                2 => {
                    let timer = s.timer(Duration::from_secs(3600));
                    s.spawn(async move {
                        let _guard = guard;
                        // Shutdown may cancel the timer while this task runs: not a failure.
                        let _ = timer.fallible().await;
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
        // Let some of it start, then drop the dispatcher from the main thread.
        let _ = s.block_with_timeout(Duration::from_millis(1), std::future::pending::<()>());
        drop(s);
        gate.open();
        for handle in handles {
            let _ = wait(handle);
        }
        wait(dropped.reached(spawned));
        assert_eq!(dropped.get(), spawned);
    }
}
