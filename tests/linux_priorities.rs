//! The `LinuxDispatcher`'s priorities: with one worker, queued `High` work runs before
//! queued `Low` work, a steady stream of `High` work does not starve a `Low` task, and a task
//! of every priority runs and returns its output (spawned from the main thread, from a
//! worker, and after a timer).
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

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use unified_scheduler::{LinuxDispatcher, LinuxDispatcherConfig, Priority, Scheduler, Task};

/// The longest any wait here may take before the test fails (they end in microseconds).
const LIMIT: Duration = Duration::from_secs(60);

const ALL: [Priority; 4] = [
    Priority::Low,
    Priority::Medium,
    Priority::High,
    Priority::Realtime,
];

fn single_worker() -> Arc<dyn Scheduler> {
    Arc::new(LinuxDispatcher::with_config(
        LinuxDispatcherConfig::default().worker_threads(1),
    ))
}

/// Occupies the only worker until the returned sender is dropped or sent to: returns once
/// the gate task is running, so everything spawned after it queues behind it.
fn close_gate(scheduler: &Arc<dyn Scheduler>) -> (mpsc::Sender<()>, Task<()>) {
    let (started_tx, started_rx) = mpsc::channel();
    let (open_tx, open_rx) = mpsc::channel::<()>();
    let gate = scheduler.spawn(async move {
        started_tx.send(()).unwrap();
        // Blocks the worker thread itself (not `block`, which would hand the role on).
        let _ = open_rx.recv_timeout(LIMIT);
    });
    started_rx
        .recv_timeout(LIMIT)
        .expect("the gate task starts on the worker");
    (open_tx, gate)
}

fn wait<T>(scheduler: &Arc<dyn Scheduler>, task: Task<T>) -> T {
    scheduler
        .block_with_timeout(LIMIT, task)
        .unwrap_or_else(|_| panic!("a task did not finish within {LIMIT:?}"))
}

/// N `Low` tasks queued before N `High` ones: the `High` ones run first, but for the `Low`
/// turns that keep the low lane moving. Repeated on fresh dispatchers, so a lost wakeup on
/// the lanes' path would hang one of the rounds (and fail at `LIMIT`).
#[test]
fn high_runs_before_low_queued_earlier() {
    const N: usize = 64;
    for round in 0..20 {
        let s = single_worker();
        let (open, gate) = close_gate(&s);
        let order = Arc::new(AtomicUsize::new(0));
        let spawn = |priority| {
            let order = order.clone();
            s.spawn_with_priority(
                priority,
                async move { order.fetch_add(1, Ordering::SeqCst) },
            )
        };
        let low: Vec<Task<usize>> = (0..N).map(|_| spawn(Priority::Low)).collect();
        let high: Vec<Task<usize>> = (0..N).map(|_| spawn(Priority::High)).collect();
        open.send(()).unwrap();
        wait(&s, gate);
        let low: Vec<usize> = low.into_iter().map(|t| wait(&s, t)).collect();
        let high: Vec<usize> = high.into_iter().map(|t| wait(&s, t)).collect();

        let mut all: Vec<usize> = low.iter().chain(&high).copied().collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..2 * N).collect::<Vec<_>>(),
            "round {round}: each ran once"
        );
        let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len() as f64;
        assert!(
            mean(&high) < mean(&low),
            "round {round}: high ran at {high:?}, low at {low:?}"
        );
        // Each lane is FIFO.
        assert!(
            low.windows(2).all(|w| w[0] < w[1]),
            "round {round}: {low:?}"
        );
        assert!(
            high.windows(2).all(|w| w[0] < w[1]),
            "round {round}: {high:?}"
        );
        // Only the low lane's fairness turns run `Low` work while `High` work waits.
        let last_high = *high.last().unwrap();
        let low_early = low.iter().filter(|&&at| at < last_high).count();
        assert!(
            low_early <= N / 4,
            "round {round}: {low_early} of {N} low tasks ran before the last high one"
        );
    }
}

/// `Realtime` shares the high lane: it too runs before `Low` work queued earlier, and
/// `Medium` work keeps its turns between them.
#[test]
fn every_class_is_ordered_above_low() {
    const N: usize = 32;
    let s = single_worker();
    let (open, gate) = close_gate(&s);
    let order = Arc::new(AtomicUsize::new(0));
    let spawn = |priority| {
        let order = order.clone();
        s.spawn_with_priority(
            priority,
            async move { order.fetch_add(1, Ordering::SeqCst) },
        )
    };
    let tasks: Vec<(Priority, Vec<Task<usize>>)> = ALL
        .iter()
        .map(|&priority| (priority, (0..N).map(|_| spawn(priority)).collect()))
        .collect();
    open.send(()).unwrap();
    wait(&s, gate);
    let mut means = tasks
        .into_iter()
        .map(|(_, ran)| ran.into_iter().map(|t| wait(&s, t)).sum::<usize>() as f64 / N as f64);
    // In the order of `ALL`.
    let mut next = || means.next().unwrap();
    let (low, medium, high, realtime) = (next(), next(), next(), next());
    assert!(
        high < low && realtime < low && medium < low,
        "{low} {medium} {high} {realtime}"
    );
    assert!(
        high < medium && realtime < medium,
        "{medium} {high} {realtime}"
    );
}

/// A steady stream of `High` tasks (each one queues the next two, so the high lane never
/// empties) does not keep a `Low` task from finishing: it runs within a bounded number of
/// `High` tasks, however long the stream would go on.
#[test]
fn a_stream_of_high_work_does_not_starve_low() {
    for round in 0..20 {
        let s = single_worker();
        let (open, gate) = close_gate(&s);
        let highs = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        fn stream(s: Arc<dyn Scheduler>, highs: Arc<AtomicUsize>, stop: Arc<AtomicBool>) {
            let again = s.clone();
            s.spawn_with_priority(Priority::High, async move {
                highs.fetch_add(1, Ordering::SeqCst);
                if !stop.load(Ordering::SeqCst) {
                    stream(again, highs, stop);
                }
            })
            .detach();
        }
        for _ in 0..8 {
            stream(s.clone(), highs.clone(), stop.clone());
        }
        let seen = highs.clone();
        let low = s.spawn_with_priority(Priority::Low, async move { seen.load(Ordering::SeqCst) });
        open.send(()).unwrap();
        wait(&s, gate);
        let highs_before_low = wait(&s, low);
        stop.store(true, Ordering::SeqCst);
        // The worker's first pick after the gate may be any turn: at most two low turns
        // (`LOW_EVERY` picks apart) pass before the low task runs.
        assert!(
            highs_before_low <= 32,
            "round {round}: {highs_before_low} high tasks ran before the low one"
        );
    }
}

/// A task of every priority runs and returns, from the main thread, from a worker (where a
/// `Medium` task would take the LIFO slot) and after a timer; on one worker and on several.
#[test]
fn every_priority_runs_and_returns() {
    let pools: [Arc<dyn Scheduler>; 2] = [single_worker(), Arc::new(LinuxDispatcher::new())];
    for s in pools {
        for round in 0..200 {
            for (i, &priority) in ALL.iter().enumerate() {
                let from_main = s.spawn_with_priority(priority, async move { i });
                assert_eq!(
                    wait(&s, from_main),
                    i,
                    "{priority} from main, round {round}"
                );

                let inner = s.clone();
                let from_worker = s.spawn(async move {
                    inner
                        .spawn_with_priority(priority, async move { i * 10 })
                        .await
                });
                assert_eq!(wait(&s, from_worker), i * 10, "{priority} from a worker");
            }
        }
        for (i, &priority) in ALL.iter().enumerate() {
            let timers = s.clone();
            let after_timer = s.spawn_with_priority(priority, async move {
                timers.timer(Duration::from_millis(1)).await;
                i + 100
            });
            assert_eq!(wait(&s, after_timer), i + 100, "{priority} after a timer");
        }
    }
}
