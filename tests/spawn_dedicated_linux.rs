//! `BackgroundExecutor::spawn_dedicated` on a production dispatcher (the LinuxDispatcher):
//! the future runs on a thread of its own, neither the main thread nor a pool worker, and
//! may be `!Send`.
#![cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::LIMIT;
use unified_scheduler::{BackgroundExecutor, LinuxDispatcher, LinuxDispatcherConfig};

fn executor() -> BackgroundExecutor {
    BackgroundExecutor::new(Arc::new(LinuxDispatcher::with_config(
        LinuxDispatcherConfig::default()
            .worker_threads(2)
            .thread_name("pool"),
    )))
}

fn thread_name() -> Option<String> {
    thread::current().name().map(String::from)
}

#[test]
fn the_future_runs_on_its_own_thread_and_may_hold_an_rc_across_awaits() {
    let executor = executor();
    let main = thread::current().id();
    let inner = executor.clone();
    let task = executor.spawn_dedicated(move || async move {
        let here = thread::current().id();
        let count = Rc::new(Cell::new(0)); // !Send, held across every await below
        for _ in 0..3 {
            // Woken from the dispatcher's timer thread.
            inner.timer(Duration::from_millis(1)).await;
            count.set(count.get() + 1);
            assert_eq!(
                thread::current().id(),
                here,
                "every poll on the same thread"
            );
        }
        // Woken from a pool worker.
        let worker = inner
            .spawn(async { (thread::current().id(), thread_name()) })
            .await;
        (count.get(), here, thread_name(), worker)
    });
    let (count, dedicated, name, (worker, worker_name)) = executor
        .block_with_timeout(LIMIT, task)
        .unwrap_or_else(|_| panic!("the dedicated task never finished"));
    assert_eq!(count, 3);
    assert_ne!(dedicated, main);
    assert_ne!(dedicated, worker);
    assert_eq!(name.as_deref(), Some("unified-scheduler-dedicated"));
    assert!(
        worker_name
            .as_deref()
            .is_some_and(|name| name.starts_with("pool")),
        "{worker_name:?}"
    );
}

#[test]
fn the_task_is_awaitable_from_a_pool_task() {
    let executor = executor();
    let inner = executor.clone();
    let outer = executor.spawn(async move {
        let dedicated = inner.spawn_dedicated(|| async {
            let not_send = Rc::new(40);
            unified_scheduler::yield_now().await;
            *not_send + 2
        });
        dedicated.await
    });
    assert_eq!(executor.block_with_timeout(LIMIT, outer).ok(), Some(42));
}

/// Sends the name of the thread it is dropped on.
struct Dropped(mpsc::Sender<Option<String>>);

impl Drop for Dropped {
    fn drop(&mut self) {
        let _ = self.0.send(thread_name());
    }
}

#[test]
fn dropping_the_task_drops_the_future_on_its_own_thread() {
    let executor = executor();
    let (sender, dropped) = mpsc::channel();
    let (started_sender, started) = mpsc::channel();
    let task = executor.spawn_dedicated(move || async move {
        let _dropped = Dropped(sender);
        let _not_send = Rc::new(());
        started_sender.send(()).unwrap();
        std::future::pending::<()>().await;
    });
    started.recv_timeout(LIMIT).expect("the future was polled");
    drop(task);
    let on = dropped.recv_timeout(LIMIT).expect("the future was dropped");
    assert_eq!(on.as_deref(), Some("unified-scheduler-dedicated"));
}

#[test]
fn a_panic_in_the_future_reaches_the_awaiter() {
    let executor = executor();
    let task = executor.spawn_dedicated(|| async {
        let _not_send = Rc::new(());
        panic!("dedicated boom");
    });
    let waiting = executor.clone();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        waiting.block_with_timeout(LIMIT, task).ok()
    }))
    .expect_err("the panic reaches the awaiter");
    let message = panic.downcast_ref::<&str>().copied().unwrap_or_default();
    assert_eq!(message, "dedicated boom");
}
