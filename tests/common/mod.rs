//! The one helper module of the integration tests, scheduler-independent: a gate, counters,
//! drop counters, a bounded `wait`, panic messages, and a scheduler that records what it is
//! asked. Every test file that needs one of them declares `mod common;` (the conformance
//! suite uses it too, so a file that stamps the suite declares both).
// Each test binary uses some of these; `pub` marks what the module offers, which
// `unreachable_pub` cannot see.
#![allow(dead_code, unreachable_pub)]

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use unified_scheduler::{Runnable, Scheduler, TaskLabel, Unparker};

/// How long any wait may take before the test fails: generous, for a loaded machine.
pub const LIMIT: Duration = Duration::from_secs(60);

/// Runs `future` on the calling thread without any scheduler, failing after [`LIMIT`].
#[track_caller]
pub fn wait<F: Future>(future: F) -> F::Output {
    let (parker, unparker) = parking::pair();
    let waker = Waker::from(Arc::new(Unpark(unparker)));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        if !parker.park_deadline(deadline) && Instant::now() >= deadline {
            panic!("the future did not finish within {LIMIT:?}: a lost wakeup or a hang");
        }
    }
}

struct Unpark(parking::Unparker);

impl std::task::Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// A one-shot gate: `wait()` futures finish once `open()` is called, from any thread.
#[derive(Clone, Default)]
pub struct Gate(Arc<GateInner>);

#[derive(Default)]
struct GateInner {
    open: AtomicBool,
    wakers: Mutex<Vec<Waker>>,
}

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn open(&self) {
        self.0.open.store(true, Ordering::SeqCst);
        let wakers = std::mem::take(&mut *self.0.wakers.lock().unwrap());
        for waker in wakers {
            waker.wake();
        }
    }

    pub fn is_open(&self) -> bool {
        self.0.open.load(Ordering::SeqCst)
    }

    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let inner = self.0.clone();
        poll_fn(move |cx| {
            if inner.open.load(Ordering::SeqCst) {
                return Poll::Ready(());
            }
            inner.wakers.lock().unwrap().push(cx.waker().clone());
            if inner.open.load(Ordering::SeqCst) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// A counter that futures can wait on.
#[derive(Clone, Default)]
pub struct Counter(Arc<CounterInner>);

#[derive(Default)]
struct CounterInner {
    count: Mutex<usize>,
    wakers: Mutex<Vec<Waker>>,
}

impl Counter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&self, n: usize) {
        *self.0.count.lock().unwrap() += n;
        let wakers = std::mem::take(&mut *self.0.wakers.lock().unwrap());
        for waker in wakers {
            waker.wake();
        }
    }

    pub fn get(&self) -> usize {
        *self.0.count.lock().unwrap()
    }

    /// Finishes once the count is at least `n`.
    pub fn reached(&self, n: usize) -> impl Future<Output = ()> + Send + 'static {
        let inner = self.0.clone();
        poll_fn(move |cx| {
            if *inner.count.lock().unwrap() >= n {
                return Poll::Ready(());
            }
            inner.wakers.lock().unwrap().push(cx.waker().clone());
            if *inner.count.lock().unwrap() >= n {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// Counts the drops of the guards it hands out; futures can wait for a count. Clones share
/// the count.
///
/// ```ignore
/// let drops = DropCounter::new();
/// let guard = drops.guard();
/// let task = s.spawn(async move { let _guard = guard; pending::<()>().await });
/// drop(task);
/// s.block(drops.reached(1));
/// ```
#[derive(Clone, Default)]
pub struct DropCounter(Counter);

impl DropCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A guard that adds one to the count when it is dropped.
    pub fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }

    /// How many guards were dropped so far.
    pub fn count(&self) -> usize {
        self.0.get()
    }

    /// Finishes once at least `n` guards were dropped.
    pub fn reached(&self, n: usize) -> impl Future<Output = ()> + Send + 'static {
        self.0.reached(n)
    }
}

/// Adds one to its [`DropCounter`] when dropped.
pub struct DropGuard(Counter);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.add(1);
    }
}

/// Runs a closure when dropped.
pub struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> OnDrop<F> {
    pub fn new(f: F) -> Self {
        Self(Some(f))
    }
}

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// Sleeps are not used for synchronisation; this only spaces out work in stress tests.
pub fn spin_for(duration: Duration) {
    let start = Instant::now();
    while start.elapsed() < duration {
        std::hint::spin_loop();
    }
}

/// The message of a caught panic (or a placeholder for a panic that carries none).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_string()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "<a panic without a message>".to_string()
    }
}

/// Runs `f`, expecting a panic; returns its message.
#[track_caller]
pub fn expect_panic<R>(f: impl FnOnce() -> R) -> String {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic, but the call returned"),
        Err(panic) => panic_message(&*panic),
    }
}

/// A scheduler with no main thread that records what it was asked to do.
#[derive(Default)]
pub struct RecordingScheduler {
    pub queue: Mutex<VecDeque<Runnable>>,
    pub labels: Mutex<Vec<Option<TaskLabel>>>,
}

impl RecordingScheduler {
    pub fn pop(&self) -> Option<Runnable> {
        self.queue.lock().unwrap().pop_front()
    }
    pub fn run_all(&self) -> usize {
        let mut n = 0;
        while let Some(r) = self.pop() {
            r.run();
            n += 1;
        }
        n
    }
}

impl Scheduler for RecordingScheduler {
    fn schedule(&self, runnable: Runnable) {
        self.labels.lock().unwrap().push(None);
        self.queue.lock().unwrap().push_back(runnable);
    }
    fn schedule_labeled(&self, runnable: Runnable, label: TaskLabel) {
        self.labels.lock().unwrap().push(Some(label));
        self.queue.lock().unwrap().push_back(runnable);
    }
    fn schedule_after(&self, _delay: Duration, runnable: Runnable) {
        self.queue.lock().unwrap().push_back(runnable);
    }
    fn park(&self, _timeout: Option<Duration>) -> unified_scheduler::Park {
        self.run_all();
        unified_scheduler::Park::Unparked // the queue ran dry: let `block` poll again
    }
    fn unparker(&self) -> Unparker {
        Unparker::from_waker(std::task::Waker::noop().clone())
    }
    fn is_main_thread(&self) -> bool {
        false
    }
    fn now(&self) -> unified_scheduler::Instant {
        unified_scheduler::Instant::now()
    }
}
