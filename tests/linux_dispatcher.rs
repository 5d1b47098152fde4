//! The conformance suite stamped for the `LinuxDispatcher` (every property, the reliability
//! stress tests at full size), plus its own behaviour: worker count, calloop integration,
//! `run_until`.
//!
//! Linux and the BSDs only (the backend's OSes), so `--all-features` builds elsewhere.
#![cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]

mod common;
mod conformance;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::LIMIT;
use unified_scheduler::{LinuxDispatcher, LinuxDispatcherConfig, Scheduler};

fn make() -> Arc<dyn Scheduler> {
    Arc::new(LinuxDispatcher::new())
}

/// One worker: background work runs in FIFO order, so completion order is defined, and a
/// task that blocks holds the only worker thread.
fn make_single_worker() -> Arc<dyn Scheduler> {
    Arc::new(LinuxDispatcher::with_config(
        LinuxDispatcherConfig::default().worker_threads(1),
    ))
}

/// Per-worker queues: work queued on a busy worker must reach the idle one, and a worker
/// that blocks hands its queued work over. Two workers, whatever the machine.
fn make_two_workers() -> Arc<dyn Scheduler> {
    Arc::new(LinuxDispatcher::with_config(
        LinuxDispatcherConfig::default().worker_threads(2),
    ))
}

// Reliability: 1,000,000 tasks from four threads, 10,000 random timers, shutdown with
// everything in flight (20 dispatchers, 500 tasks each).
conformance::suite! {
    make: make,
    one_worker: make_single_worker,
    two_workers: make_two_workers,
    sizes: {
        // Under miri, crossbeam-epoch's bookkeeping on every steal makes the usual hundredth
        // take many minutes: a ten-thousandth still crosses every path.
        tasks_per_spawner: if cfg!(miri) { 2_500 } else { 250_000 },
        random_timers: 10_000,
        shutdown: (20, 500, conformance::TimerAwait::Fallible),
    },
    exclude: {},
}

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

/// The backend contract: a multi-threaded backend hands its tasks its inner state, so a
/// wake touches no reference count every thread shares and can never run `Drop`.
#[test]
fn tasks_wake_through_the_task_queue() {
    assert!(make().task_queue().is_some());
}
