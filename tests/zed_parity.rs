//! The guarantees of Zed's own `crates/scheduler` tests, written again for our API (each
//! test names the Zed test whose guarantee it checks). Those that need executor sessions
//! or priorities come with them.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use unified_scheduler::prelude::*;

fn panic_message(run: impl FnOnce()) -> String {
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .expect_err("the run should have failed");
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// A future that is pending `polls - 1` times, waking itself each time (Zed's `Yield`).
struct Yield {
    polls: usize,
}

impl Future for Yield {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls -= 1;
        if self.polls == 0 {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// `test_timer_ordering`: timers awaited together complete in deadline order.
#[test]
fn timers_awaited_together_finish_in_deadline_order() {
    TestScheduler::many(20, |test| async move {
        let order = Arc::new(Mutex::new(Vec::new()));
        let tasks: Vec<_> = [(100, 2), (50, 1), (150, 3)]
            .into_iter()
            .map(|(ms, n)| {
                let (inner, order) = (test.clone(), order.clone());
                test.spawn(async move {
                    inner.timer(Duration::from_millis(ms)).await;
                    order.lock().unwrap().push(n);
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
        assert_eq!(*order.lock().unwrap(), [1, 2, 3]);
    });
}

/// The order of 3 foreground and 3 background tasks sending to one channel (Zed's
/// `capture_execution_order`).
fn execution_order(config: TestSchedulerConfig) -> Vec<String> {
    let test = Arc::new(TestScheduler::with_config(config));
    let order = Arc::new(Mutex::new(Vec::new()));
    for i in 0..3 {
        let order = order.clone();
        test.spawn_foreground(async move { order.lock().unwrap().push(format!("fg-{i}")) })
            .detach();
    }
    for i in 0..3 {
        let order = order.clone();
        test.spawn(async move { order.lock().unwrap().push(format!("bg-{i}")) })
            .detach();
    }
    test.run_until_parked();
    std::mem::take(&mut *order.lock().unwrap())
}

/// `test_randomize_order`: off, every seed gives one order; on, seeds give several.
#[test]
fn randomize_order_off_is_one_order_for_every_seed_and_on_is_many() {
    let fixed: BTreeSet<_> = (0..10)
        .map(|seed| execution_order(TestSchedulerConfig::new().seed(seed).randomize_order(false)))
        .collect();
    assert_eq!(fixed.len(), 1, "{fixed:?}");
    assert_eq!(fixed.first().unwrap().len(), 6);
    let random: BTreeSet<_> = (0..20)
        .map(|seed| execution_order(TestSchedulerConfig::new().seed(seed)))
        .collect();
    assert!(random.len() > 1, "{random:?}");
}

/// `test_block` and `test_block_with_parking`: a block whose future another task completes
/// returns its value, with parking forbidden or allowed.
#[test]
fn block_returns_what_a_background_task_sends_with_parking_forbidden_or_allowed() {
    for allow_parking in [false, true] {
        let test = Arc::new(TestScheduler::with_config(
            TestSchedulerConfig::new().allow_parking(allow_parking),
        ));
        let (sender, receiver) = mpsc::channel();
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let waker_slot = slot.clone();
        test.spawn(async move {
            sender.send(42).unwrap();
            if let Some(waker) = waker_slot.lock().unwrap().take() {
                waker.wake();
            }
        })
        .detach();
        let value = test.block(std::future::poll_fn(|cx| match receiver.try_recv() {
            Ok(value) => Poll::Ready(value),
            Err(_) => {
                *slot.lock().unwrap() = Some(cx.waker().clone());
                match receiver.try_recv() {
                    Ok(value) => Poll::Ready(value),
                    Err(_) => Poll::Pending,
                }
            }
        }));
        assert_eq!(value, 42, "allow_parking = {allow_parking}");
    }
}

/// `test_parking_panics`: a block that nothing can end fails, saying so, instead of
/// hanging.
#[test]
fn a_block_nothing_can_end_fails_with_the_stuck_report() {
    let message = panic_message(|| {
        let test = Arc::new(TestScheduler::new());
        test.block(std::future::pending::<()>());
    });
    assert!(message.contains("nothing can make progress"), "{message}");
}

/// `test_block_with_timeout`, its three probabilistic and budget cases: a ready future is
/// `Ok`; a pending one times out; a task that needs ten polls finishes within the budget
/// on some seeds and times out on others, over 100 seeds with the default budget.
#[test]
fn block_with_timeout_has_both_outcomes_across_seeds() {
    TestScheduler::once(|test| async move {
        let ready = test.block_with_timeout(Duration::from_millis(100), async { 42 });
        assert_eq!(ready.ok(), Some(42));
        test.set_timeout_ticks(0..=0);
        let pending =
            test.block_with_timeout(Duration::from_millis(50), std::future::pending::<()>());
        assert!(pending.is_err());
    });
    let outcomes = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = outcomes.clone();
    TestScheduler::many(100, move |test| {
        let seen = seen.clone();
        async move {
            let task = test.spawn(async {
                Yield { polls: 10 }.await;
                42
            });
            let output = test.block_with_timeout(Duration::from_millis(50), task);
            seen.lock().unwrap().insert(output.ok());
        }
    });
    let outcomes: Vec<_> = outcomes.lock().unwrap().iter().copied().collect();
    if std::env::var_os("SEED").is_none() && std::env::var_os("ITERATIONS").is_none() {
        assert_eq!(outcomes, [None, Some(42)]);
    }
}

/// Sends the waker of its first poll to `sender`, then is ready on the next poll.
struct SendWaker {
    sender: Option<mpsc::Sender<Waker>>,
}

impl Future for SendWaker {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.sender.take() {
            Some(sender) => {
                sender.send(cx.waker().clone()).unwrap();
                Poll::Pending
            }
            None => Poll::Ready(()),
        }
    }
}

/// Spawns a `SendWaker` task on `test` and runs it until it parks: the task and its waker.
fn spawn_parked(test: &Arc<TestScheduler>) -> (Task<()>, Waker) {
    let (sender, receiver) = mpsc::channel();
    let task = test.spawn(SendWaker {
        sender: Some(sender),
    });
    test.run_until_parked();
    (task, receiver.recv().unwrap())
}

/// `test_nondeterministic_wake_detection`: a real thread waking a task is reported as
/// non-determinism, naming the seed.
#[test]
fn a_wake_from_a_real_thread_is_non_determinism() {
    let test = Arc::new(TestScheduler::with_config(
        TestSchedulerConfig::new().seed(9),
    ));
    let (task, waker) = spawn_parked(&test);
    std::thread::spawn(move || waker.wake()).join().unwrap();
    let message = panic_message(|| test.run_until_parked());
    assert!(message.contains("non-determinism (seed 9)"), "{message}");
    drop(task);
}

/// `test_nondeterministic_wake_allowed_with_parking`: with parking allowed, the same wake
/// is real I/O and the block goes on.
#[test]
fn a_wake_from_a_real_thread_is_allowed_with_parking() {
    let test = Arc::new(TestScheduler::with_config(
        TestSchedulerConfig::new().allow_parking(true),
    ));
    let (sender, receiver) = mpsc::channel::<Waker>();
    let thread = std::thread::spawn(move || receiver.recv().unwrap().wake());
    test.block(SendWaker {
        sender: Some(sender),
    });
    thread.join().unwrap();
}

/// `test_nondeterministic_waker_drop_detection`: a real thread dropping a task's waker
/// (without waking it) is not a wake: the test ends cleanly, and the task still waits.
/// (Zed reports this as non-determinism; here only a wake changes the schedule, and a
/// dropped waker cannot, so it is not one.)
#[test]
fn a_waker_dropped_on_a_real_thread_changes_nothing() {
    let test = Arc::new(TestScheduler::new());
    let (task, waker) = spawn_parked(&test);
    std::thread::spawn(move || drop(waker)).join().unwrap();
    test.run_until_parked();
    assert!(!task.is_finished());
    assert_eq!(test.pending_task_counts().background, 0);
}

/// One seed's run of a dedicated task racing two background tasks: the log of their
/// steps, the dedicated task's output and the thread it ran on, and the fingerprint.
fn dedicated_run(seed: u64) -> (Vec<String>, u32, std::thread::ThreadId, u64) {
    let test = Arc::new(TestScheduler::with_config(
        TestSchedulerConfig::new().seed(seed),
    ));
    let executor = BackgroundExecutor::new(test.clone());
    let log = Arc::new(Mutex::new(Vec::new()));
    for name in ["a", "b"] {
        let log = log.clone();
        executor
            .spawn(async move {
                for i in 0..3 {
                    log.lock().unwrap().push(format!("{name}-{i}"));
                    yield_now().await;
                }
            })
            .detach();
    }
    let dedicated_log = log.clone();
    let dedicated = executor.spawn_dedicated(move || async move {
        let steps = Rc::new(Cell::new(0)); // !Send, held across the awaits
        for i in 0..3 {
            dedicated_log.lock().unwrap().push(format!("dedicated-{i}"));
            steps.set(steps.get() + 1);
            yield_now().await;
        }
        (steps.get(), std::thread::current().id())
    });
    let (steps, thread) = test.block(dedicated);
    test.run_until_parked();
    let log = std::mem::take(&mut *log.lock().unwrap());
    (log, steps, thread, test.fingerprint())
}

/// `spawn_dedicated` under the TestScheduler runs on the test's thread, scheduled by the
/// seed: each of 50 seeds gives one interleaving however often it runs, and the seeds give
/// several.
#[test]
fn spawn_dedicated_under_the_test_scheduler_is_deterministic_per_seed() {
    let mut interleavings = BTreeSet::new();
    for seed in 0..50 {
        let first = dedicated_run(seed);
        let again = dedicated_run(seed);
        assert_eq!(first.0, again.0, "seed {seed}");
        assert_eq!(first.3, again.3, "seed {seed}");
        assert_eq!(first.1, 3, "seed {seed}");
        assert_eq!(first.2, std::thread::current().id(), "seed {seed}");
        assert_eq!(first.0.len(), 9, "seed {seed}: {:?}", first.0);
        interleavings.insert(first.0);
    }
    assert!(interleavings.len() > 1, "{interleavings:?}");
}

/// Under the TestScheduler a dedicated task has a session of its own, as its own thread's
/// loop would be: it is not queued behind the main session's tasks (FIFO among themselves),
/// so some seeds run it first, and a foreground executor's `block` does not hold it back.
#[test]
fn spawn_dedicated_under_the_test_scheduler_has_a_session_of_its_own() {
    let mut orders = BTreeSet::new();
    for seed in 0..50 {
        let test = Arc::new(TestScheduler::with_config(
            TestSchedulerConfig::new().seed(seed),
        ));
        let main = ForegroundExecutor::new(test.clone());
        let background = BackgroundExecutor::new(test.clone());
        let order = Arc::new(Mutex::new(Vec::new()));
        let log = order.clone();
        main.spawn(async move { log.lock().unwrap().push("main") })
            .detach();
        let log = order.clone();
        let dedicated = background.spawn_dedicated(move || async move {
            let not_send = Rc::new("dedicated");
            log.lock().unwrap().push(*not_send);
        });
        // A blocked session of another executor does not hold it back either.
        let blocking = test.foreground();
        blocking.block(dedicated);
        test.run_until_parked();
        orders.insert(std::mem::take(&mut *order.lock().unwrap()));
    }
    assert!(
        orders.contains(&vec!["dedicated", "main"]) && orders.contains(&vec!["main", "dedicated"]),
        "{orders:?}"
    );
}

/// The same in a runner, through `TestScheduler::many`: the output arrives on every seed.
#[test]
fn spawn_dedicated_output_arrives_in_a_runner() {
    TestScheduler::many(50, |test| async move {
        let executor = BackgroundExecutor::new(test.clone());
        let inner = executor.clone();
        let task = executor.spawn_dedicated(move || async move {
            let shared = Rc::new(1);
            inner.timer(Duration::from_secs(5)).await; // virtual
            *shared + 1
        });
        assert_eq!(task.await, 2);
    });
}

/// As in production, a background task may call `spawn_dedicated` under the TestScheduler
/// (where `spawn_foreground` would be refused), and a dropped dedicated task is cancelled.
#[test]
fn spawn_dedicated_from_a_background_task_under_the_test_scheduler() {
    TestScheduler::many(50, |test| async move {
        let executor = BackgroundExecutor::new(test.clone());
        let inner = executor.clone();
        let outer = executor.spawn(async move {
            let dedicated = inner.spawn_dedicated(|| async {
                let not_send = Rc::new(6);
                yield_now().await;
                *not_send * 7
            });
            dedicated.await
        });
        assert_eq!(outer.await, 42);
        let cancelled = executor.spawn_dedicated(std::future::pending::<()>);
        let id = cancelled.id();
        drop(cancelled);
        test.run_until_parked();
        assert!(!test.is_live(id));
    });
}

/// The order in which two executors' tasks ran for `seed`: `a0 a1 ...` and `b0 b1 ...`.
fn two_sessions(seed: u64) -> Vec<String> {
    let test = Arc::new(TestScheduler::with_config(
        TestSchedulerConfig::new().seed(seed),
    ));
    let order = Rc::new(std::cell::RefCell::new(Vec::new()));
    let (a, b) = (test.foreground(), test.foreground());
    for i in 0..5 {
        for (name, executor) in [("a", &a), ("b", &b)] {
            let order = order.clone();
            executor
                .spawn(async move { order.borrow_mut().push(format!("{name}{i}")) })
                .detach();
        }
    }
    test.run_until_parked();
    order.take()
}

/// Zed's `test_foreground_ordering`: each executor's tasks run in the order spawned, and
/// the seed interleaves the two executors differently.
#[test]
fn two_foreground_executors_are_each_fifo_and_interleave_across_seeds() {
    let mut interleavings = BTreeSet::new();
    for seed in 0..100 {
        let order = two_sessions(seed);
        assert_eq!(order.len(), 10, "seed {seed}: {order:?}");
        for name in ["a", "b"] {
            let mine: Vec<_> = order.iter().filter(|t| t.starts_with(name)).collect();
            let fifo: Vec<_> = (0..5).map(|i| format!("{name}{i}")).collect();
            assert_eq!(
                mine,
                fifo.iter().collect::<Vec<_>>(),
                "seed {seed}: {order:?}"
            );
        }
        assert_eq!(two_sessions(seed), order, "seed {seed} replays");
        interleavings.insert(order);
    }
    assert!(
        interleavings.len() >= 2,
        "100 seeds gave one interleaving: {interleavings:?}"
    );
}

/// Zed's `test_block_does_not_progress_same_session_foreground`: while an executor blocks,
/// its own foreground tasks wait; another executor's tasks and background tasks run.
#[test]
fn block_does_not_run_its_own_sessions_foreground_tasks() {
    for seed in 0..20 {
        let test = Arc::new(TestScheduler::with_config(
            TestSchedulerConfig::new().seed(seed),
        ));
        let (mine, other) = (test.foreground(), test.foreground());
        let ran_mine = Rc::new(Cell::new(false));
        let ran_other = Rc::new(Cell::new(false));
        let flag = ran_mine.clone();
        mine.spawn(async move { flag.set(true) }).detach();
        let flag = ran_other.clone();
        let other_task = other.spawn(async move { flag.set(true) });
        let background = test.spawn(async { 7 });
        // The block waits on the other session and on background work: both progress.
        let (seen_mine, got) = mine.block(async {
            other_task.await;
            (ran_mine.get(), background.await)
        });
        assert_eq!(got, 7, "seed {seed}");
        assert!(ran_other.get(), "seed {seed}: the other session ran");
        assert!(
            !seen_mine,
            "seed {seed}: the blocked session's task ran inside its block"
        );
        // Once the block returns, the session's task runs.
        test.run_until_parked();
        assert!(
            ran_mine.get(),
            "seed {seed}: the session's task ran after the block"
        );
    }
}

/// The same guard when the block can only end through its own session: the seed fails
/// with the stuck report instead of running the task re-entrantly.
#[test]
fn a_block_waiting_on_its_own_session_is_reported_stuck() {
    let test = Arc::new(TestScheduler::new());
    let executor = test.foreground();
    let task = executor.spawn(async { 1 });
    let message = panic_message(|| {
        executor.block(task);
    });
    assert!(
        message.contains("nothing can make progress")
            && message.contains("1 foreground task(s) of a blocked executor's own session wait"),
        "{message}"
    );
}

/// Zed's `test_background_priority_scheduling`: a low-priority task spawned first still
/// usually runs after a high-priority one spawned after it, but not always.
#[test]
fn a_high_priority_task_usually_runs_before_a_low_one_spawned_first() {
    let (mut high_first, mut low_first) = (0, 0);
    for seed in 0..200 {
        let test = Arc::new(TestScheduler::with_config(
            TestSchedulerConfig::new().seed(seed),
        ));
        let scheduler: Arc<dyn Scheduler> = test.clone();
        let order = Arc::new(Mutex::new(Vec::new()));
        for (name, priority) in [("low", Priority::Low), ("high", Priority::High)] {
            let order = order.clone();
            scheduler
                .spawn_with_priority(priority, async move { order.lock().unwrap().push(name) })
                .detach();
        }
        test.run_until_parked();
        let order = order.lock().unwrap().clone();
        match order.as_slice() {
            ["high", "low"] => high_first += 1,
            ["low", "high"] => low_first += 1,
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    assert!(
        high_first > 3 * low_first,
        "{high_first} high first, {low_first} low first"
    );
    assert!(low_first > 0, "the low task never ran first in 200 seeds");
}

/// Priorities change nothing for tasks that all have the default one: the seeds' schedules
/// are the ones they had before priorities (the golden fingerprints pin that too).
#[test]
fn medium_is_the_default_and_costs_no_draw() {
    let run = |explicit: bool| {
        let test = Arc::new(TestScheduler::with_config(
            TestSchedulerConfig::new().seed(11),
        ));
        let scheduler: Arc<dyn Scheduler> = test.clone();
        let order = Arc::new(Mutex::new(Vec::new()));
        for i in 0..20 {
            let order = order.clone();
            let body = async move { order.lock().unwrap().push(i) };
            let task = if explicit {
                scheduler.spawn_with_priority(Priority::Medium, body)
            } else {
                scheduler.spawn(body)
            };
            task.detach();
        }
        test.run_until_parked();
        let order = order.lock().unwrap().clone();
        (order, test.fingerprint())
    };
    assert_eq!(run(true), run(false));
}
