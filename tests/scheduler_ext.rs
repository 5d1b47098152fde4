//! `SchedulerExt` and the async vocabulary (`yield_now`, `timeout`, `interval`, `timer_at`)
//! on concrete schedulers, without a coercion to `Arc<dyn Scheduler>`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use unified_scheduler::prelude::*;
use unified_scheduler::{Elapsed, QueueScheduler};

#[test]
fn the_helpers_work_on_an_arc_of_the_test_scheduler() {
    TestScheduler::many(20, |test| async move {
        let start = test.now();
        let task = test.spawn(async { 1 });
        let timed = test.timeout(Duration::from_secs(30), test.timer(Duration::from_secs(60)));
        assert_eq!(timed.await, Err(Elapsed::new()));
        assert_eq!(
            test.now() - start,
            Duration::from_secs(30),
            "virtual time, exactly"
        );
        test.timer_at(start + Duration::from_secs(45)).await;
        assert_eq!(test.now() - start, Duration::from_secs(45));
        assert_eq!(task.await, 1);
    });
}

#[test]
fn a_spawn_through_the_extension_trait_records_the_callers_site() {
    TestScheduler::once(|test| async move {
        let line = line!() + 1;
        let task = test.spawn(std::future::pending::<()>());
        let live = test.live_tasks();
        let site = live
            .iter()
            .find(|t| t.id == task.id())
            .expect("the task is live")
            .spawned_at;
        assert_eq!(
            (site.file(), site.line()),
            (file!(), line),
            "spawn site {site}"
        );
        drop(task);
    });
}

#[test]
fn yield_now_is_a_scheduling_point_for_the_seeded_order() {
    // Two tasks that each record, yield, record: some seed interleaves them (ABAB or ABBA)
    // and some runs one to its end first; without the yield no seed could interleave.
    let mut orders = std::collections::BTreeSet::new();
    for seed in 0..64 {
        let order = Arc::new(std::sync::Mutex::new(String::new()));
        let seen = order.clone();
        TestScheduler::with_seed(seed, move |test| {
            let order = seen.clone();
            async move {
                let tasks: Vec<_> = ["a", "b"]
                    .into_iter()
                    .map(|name| {
                        let order = order.clone();
                        test.spawn(async move {
                            order.lock().unwrap().push_str(name);
                            yield_now().await;
                            order.lock().unwrap().push_str(name);
                        })
                    })
                    .collect();
                for task in tasks {
                    task.await;
                }
            }
        });
        orders.insert(order.lock().unwrap().clone());
    }
    assert!(orders.contains("abab") || orders.contains("abba") || orders.contains("baab"));
    assert!(
        orders.contains("aabb") || orders.contains("bbaa"),
        "orders seen: {orders:?}"
    );
}

#[test]
fn an_interval_that_fell_behind_catches_up_one_tick_per_call() {
    TestScheduler::once(|test| async move {
        let mut interval = test.interval(Duration::from_secs(1));
        let first = interval.tick().await;
        test.timer(Duration::from_millis(2500)).await;
        let caught_up = [interval.tick().await, interval.tick().await];
        assert_eq!(
            caught_up.map(|t| t - first),
            [1, 2].map(Duration::from_secs)
        );
        assert_eq!(
            test.now() - first,
            Duration::from_millis(2500),
            "no waiting to catch up"
        );
        assert_eq!(interval.tick().await - first, Duration::from_secs(3));
        assert_eq!(test.now() - first, Duration::from_secs(3));
    });
}

#[test]
fn a_dropped_tick_loses_no_tick() {
    TestScheduler::once(|test| async move {
        let mut interval = test.interval(Duration::from_secs(1));
        let first = interval.tick().await;
        // The deadline comes first: the tick future is dropped unfinished.
        let cut_short = test
            .timeout(Duration::from_millis(400), interval.tick())
            .await;
        assert!(cut_short.is_err());
        assert_eq!(interval.tick().await - first, Duration::from_secs(1));
    });
}

#[test]
#[should_panic(expected = "interval called with a zero period")]
fn a_zero_interval_panics_with_what_to_do() {
    let queue = Arc::new(QueueScheduler::new());
    let _never = queue.interval(Duration::ZERO);
}

#[test]
fn a_timeout_cancels_the_future_and_its_tasks_stop() {
    TestScheduler::many(20, |test| async move {
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = polls.clone();
        let ticker = test.clone();
        let outcome = test
            .timeout(Duration::from_secs(10), async move {
                loop {
                    counted.fetch_add(1, Ordering::SeqCst);
                    ticker.timer(Duration::from_secs(1)).await;
                }
            })
            .await;
        assert_eq!(outcome, Err(Elapsed::new()));
        let at_timeout = polls.load(Ordering::SeqCst);
        assert!(
            (10..=11).contains(&at_timeout),
            "{at_timeout} polls in 10 s of 1 s waits"
        );
        test.timer(Duration::from_secs(5)).await;
        assert_eq!(
            polls.load(Ordering::SeqCst),
            at_timeout,
            "polled after its timeout"
        );
    });
}

#[cfg(all(
    feature = "linux-calloop",
    any(
        target_os = "linux",
        target_os = "android",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )
))]
#[test]
fn the_helpers_work_on_an_arc_of_the_linux_dispatcher() {
    let dispatcher = Arc::new(unified_scheduler::LinuxDispatcher::new());
    let task = dispatcher.spawn(async { 40 });
    let limit = Duration::from_secs(30);
    let sum = dispatcher.block_with_timeout(limit, async { task.await + 2 });
    assert_eq!(sum.ok(), Some(42), "not done within {limit:?}");
    let late = dispatcher.timeout(Duration::from_millis(2), std::future::pending::<()>());
    assert_eq!(dispatcher.block(late), Err(Elapsed::new()));
}
