//! `WorkersScheduler`: the isolate's one thread, its microtasks and its timers.

use ::core::cell::RefCell;
use ::core::fmt;
use ::core::future::Future;
use ::core::pin::Pin;
use ::core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use ::core::task::{Context, Waker};
use ::core::time::Duration;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use alloc::task::Wake as WakeFn;
use alloc::vec::Vec;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::core::{Driven, Instant, Park, Runnable, Scheduler, TaskQueue, Unparker, Wake};
use crate::sync::Mutex;
use crate::timer_heap::TimerHeap;

use super::js;

/// `setTimeout` takes a signed 32-bit count of milliseconds; a longer delay fires at once.
const MAX_TIMEOUT_MS: f64 = 2_147_483_647.0;

/// A [`Scheduler`] for a Cloudflare Workers isolate (or any single-threaded JS host with
/// `queueMicrotask`, `setTimeout` and `performance.now`, such as Node).
///
/// - `schedule` and `schedule_foreground` run runnables as microtasks, in FIFO order; a
///   task that yields (wakes itself while running) runs after the next macrotask, so a task
///   spinning on `yield_now` cannot starve timers and I/O.
/// - `schedule_after` keeps its runnables in the crate's timer heap, and sets one JS timer
///   per call, in the caller's request: Workers cancels a request's timers when the request
///   ends, so one shared, re-armed timer set by one request would strand the timers of every
///   other (seen in workerd: the next request hung). Whichever timer fires runs everything
///   due, in deadline order (ties in scheduling order); timers never fire early, and delays
///   past `setTimeout`'s 2^31-1 ms saturate (set again until reached) instead of firing at
///   once.
/// - `now()` is `performance.now()`, kept monotonic with the deadlines reached: Workers
///   freezes its clock between I/O events, and a timer that fired has reached its deadline.
/// - There is one thread, and it is the main thread.
/// - **Blocking cannot work on Workers**: the isolate's event loop runs only once your code
///   returns to it, so nothing that would wake a parked thread can happen while it is
///   parked. `park` returns at once; `block` runs what is ready right now and then panics
///   with a message if the future still waits (`block_with_timeout` returns `Err` with the
///   future instead). Use `.await`, never `block`, on Workers.
///
/// ```
/// use std::sync::Arc;
/// use unified_scheduler::{Scheduler, WorkersScheduler};
///
/// let scheduler: Arc<dyn Scheduler> = WorkersScheduler::shared();
/// assert!(scheduler.is_main_thread());
/// // What needs no JS event loop turn can still be driven to the end right here.
/// let task = scheduler.spawn(async { 6 * 7 });
/// assert_eq!(scheduler.block(task), 42);
/// ```
pub struct WorkersScheduler {
    shared: Arc<Shared>,
}

struct Shared {
    /// Keys this scheduler's pending JS timers in the thread's `TIMERS`.
    id: u64,
    /// For the JS callbacks, which must own a reference.
    me: Weak<Shared>,
    state: Mutex<State>,
}

struct State {
    /// To run in the next microtask.
    ready: VecDeque<Runnable>,
    /// Yielded: to run in the next macrotask.
    yielded: VecDeque<Runnable>,
    microtask_queued: bool,
    macrotask_queued: bool,
    timers: TimerHeap<Instant>,
    /// Numbers the JS timers, to find each one's handle when it fires.
    next_js_timer: u64,
    /// The latest deadline a timer has reached: `now()` never reads below it.
    reached: Instant,
    closed: bool,
}

/// What to ask of JS once the state's lock is released.
#[derive(Default)]
#[must_use]
struct Requests {
    microtask: bool,
    macrotask: bool,
    /// A JS timer to set: its number and deadline.
    arm: Option<(u64, Instant)>,
    /// Runnables to drop (cancel) outside the lock: after shutdown.
    discard: Vec<Runnable>,
}

std::thread_local! {
    /// Each scheduler's pending `setTimeout` handles, by timer number (JS values stay on
    /// their thread): cleared when the scheduler is dropped.
    static TIMERS: RefCell<BTreeMap<(u64, u64), JsValue>> = const { RefCell::new(BTreeMap::new()) };
    /// The isolate's scheduler, for `WorkersScheduler::shared`.
    static SHARED: RefCell<Option<Arc<WorkersScheduler>>> = const { RefCell::new(None) };
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn millis_to_instant(ms: f64) -> Instant {
    Instant::from_epoch(Duration::from_secs_f64(ms.max(0.0) / 1000.0))
}

impl Default for WorkersScheduler {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkersScheduler {
    /// A new scheduler with queues and a timer of its own. Most programs want the isolate's
    /// one, [`shared`](Self::shared).
    ///
    /// ```
    /// use unified_scheduler::WorkersScheduler;
    ///
    /// let scheduler = WorkersScheduler::new();
    /// assert_eq!(format!("{scheduler:?}"), "WorkersScheduler { ready: 0, yielded: 0, timers: 0 }");
    /// ```
    pub fn new() -> Self {
        let shared = Arc::new_cyclic(|me| Shared {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            me: me.clone(),
            state: Mutex::new(State::new()),
        });
        Self { shared }
    }

    /// The isolate's scheduler: one per thread, made on first use. Every request of an
    /// isolate shares it, as they share the isolate's one thread.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::WorkersScheduler;
    ///
    /// assert!(Arc::ptr_eq(&WorkersScheduler::shared(), &WorkersScheduler::shared()));
    /// ```
    pub fn shared() -> Arc<Self> {
        SHARED.with(|shared| {
            shared
                .borrow_mut()
                .get_or_insert_with(|| Arc::new(Self::new()))
                .clone()
        })
    }
}

impl Shared {
    fn arc(&self) -> Arc<Shared> {
        self.me
            .upgrade()
            .expect("a scheduler's state is alive while it is used")
    }

    fn now(&self) -> Instant {
        let reached = self.state.lock().reached;
        millis_to_instant(js::performance_now()).max(reached)
    }

    fn queue(&self, runnable: Runnable, wake: Wake) {
        let requests = {
            let mut state = self.state.lock();
            let mut requests = Requests::default();
            if state.closed {
                requests.discard.push(runnable);
            } else if wake == Wake::Yielded {
                state.yielded.push_back(runnable);
                requests.macrotask = !::core::mem::replace(&mut state.macrotask_queued, true);
            } else {
                state.ready.push_back(runnable);
                requests.microtask = !::core::mem::replace(&mut state.microtask_queued, true);
            }
            requests
        };
        self.ask(requests);
    }

    fn queue_after(&self, delay: Duration, runnable: Runnable) {
        let deadline = self.now().saturating_add(delay);
        let requests = {
            let mut state = self.state.lock();
            let mut requests = Requests::default();
            if state.closed {
                requests.discard.push(runnable);
            } else {
                state.timers.push(deadline, runnable);
                requests.arm = Some((state.take_js_timer(), deadline));
            }
            requests
        };
        self.ask(requests);
    }

    /// Does what the state asked for, with the lock released (JS may call back at once).
    fn ask(&self, requests: Requests) {
        drop(requests.discard);
        if requests.microtask {
            let shared = self.arc();
            let callback = Closure::once_into_js(move || shared.run_ready());
            js::queue_microtask(callback.unchecked_ref());
        }
        if requests.macrotask {
            let shared = self.arc();
            let callback = Closure::once_into_js(move || shared.run_yielded());
            let _ = js::set_timeout(callback.unchecked_ref(), 0.0);
        }
        if let Some((timer, deadline)) = requests.arm {
            self.arm(timer, deadline);
        }
    }

    /// Sets JS timer `timer` for `deadline` (clamped to what JS takes), in the caller's
    /// request.
    fn arm(&self, timer: u64, deadline: Instant) {
        let left = deadline.saturating_duration_since(self.now());
        // Rounded up, so the timer is never early by a fraction of a millisecond.
        let ms = (left.as_nanos() as f64 / 1e6).ceil();
        let reaches = ms <= MAX_TIMEOUT_MS;
        let shared = self.arc();
        let callback = Closure::once_into_js(move || shared.fire(timer, deadline, reaches));
        let handle = js::set_timeout(callback.unchecked_ref(), ms.min(MAX_TIMEOUT_MS));
        TIMERS.with(|timers| timers.borrow_mut().insert((self.id, timer), handle));
    }

    /// Clears the scheduler's pending JS timers.
    fn disarm(&self) {
        let handles = TIMERS.with(|timers| {
            let mut timers = timers.borrow_mut();
            let mine: Vec<_> = timers
                .range((self.id, 0)..=(self.id, u64::MAX))
                .map(|(k, _)| *k)
                .collect();
            mine.into_iter()
                .filter_map(|key| timers.remove(&key))
                .collect::<Vec<_>>()
        });
        for handle in handles {
            js::clear_timeout(&handle);
        }
    }

    /// JS timer `timer`, set for `deadline`, fired (`reaches`: its delay was not clamped).
    fn fire(&self, timer: u64, deadline: Instant, reaches: bool) {
        TIMERS.with(|timers| timers.borrow_mut().remove(&(self.id, timer)));
        let mut requests = Requests::default();
        {
            let mut state = self.state.lock();
            if state.closed {
                return;
            }
            if reaches {
                state.reached = state.reached.max(deadline);
            } else {
                // A clamped delay: wait the rest.
                requests.arm = Some((state.take_js_timer(), deadline));
            }
            let now = millis_to_instant(js::performance_now()).max(state.reached);
            requests.microtask = state.move_due_timers(now);
        }
        self.ask(requests);
    }

    /// Runs the ready runnables, and those that become ready meanwhile, in FIFO order.
    fn run_ready(&self) {
        loop {
            let next = {
                let mut state = self.state.lock();
                let next = state.ready.pop_front();
                if next.is_none() {
                    state.microtask_queued = false;
                }
                next
            };
            match next {
                Some(runnable) => {
                    runnable.run();
                }
                None => return,
            }
        }
    }

    /// Runs the runnables that yielded before this macrotask; later yields wait for the next.
    fn run_yielded(&self) {
        let batch = {
            let mut state = self.state.lock();
            state.macrotask_queued = false;
            ::core::mem::take(&mut state.yielded)
        };
        for runnable in batch {
            runnable.run();
        }
    }

    /// Runs, right now, everything runnable without a turn of the JS event loop: the ready
    /// and yielded runnables and the timers already due. Whether anything ran.
    fn run_now(&self) -> bool {
        let batch = {
            let mut state = self.state.lock();
            let now = millis_to_instant(js::performance_now()).max(state.reached);
            let _ = state.move_due_timers(now);
            let mut batch = ::core::mem::take(&mut state.ready);
            batch.append(&mut state.yielded);
            batch
        };
        let ran = !batch.is_empty();
        for runnable in batch {
            runnable.run();
        }
        ran
    }
}

impl State {
    fn new() -> Self {
        Self {
            ready: VecDeque::new(),
            yielded: VecDeque::new(),
            microtask_queued: false,
            macrotask_queued: false,
            timers: TimerHeap::new(),
            next_js_timer: 0,
            reached: Instant::EPOCH,
            closed: false,
        }
    }

    fn take_js_timer(&mut self) -> u64 {
        self.next_js_timer += 1;
        self.next_js_timer
    }

    /// Moves the timers due at `now` to the ready queue, in deadline order. Whether a
    /// microtask must be queued to run them.
    fn move_due_timers(&mut self, now: Instant) -> bool {
        let mut moved = false;
        while let Some((_, runnable)) = self.timers.pop_due(now) {
            self.ready.push_back(runnable);
            moved = true;
        }
        moved && !::core::mem::replace(&mut self.microtask_queued, true)
    }
}

impl TaskQueue for Shared {
    fn push(&self, runnable: Runnable, wake: Wake) {
        self.queue(runnable, wake);
    }
}

/// Whether the future being driven was woken.
struct Flag(AtomicBool);

impl WakeFn for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Scheduler for WorkersScheduler {
    fn schedule(&self, runnable: Runnable) {
        self.shared.queue(runnable, Wake::Woken);
    }

    fn schedule_foreground(&self, runnable: Runnable) {
        self.shared.queue(runnable, Wake::Woken);
    }

    fn schedule_after(&self, delay: Duration, runnable: Runnable) {
        if delay.is_zero() {
            self.shared.queue(runnable, Wake::Woken);
        } else {
            self.shared.queue_after(delay, runnable);
        }
    }

    /// Returns at once: nothing can unpark a thread that waits on the JS event loop.
    fn park(&self, _timeout: Option<Duration>) -> Park {
        Park::TimedOut
    }

    fn unparker(&self) -> Unparker {
        Unparker::from_waker(Waker::noop().clone())
    }

    fn is_main_thread(&self) -> bool {
        true
    }

    fn now(&self) -> Instant {
        self.shared.now()
    }

    /// `Date.now()`: std's `SystemTime::now` panics on wasm32-unknown-unknown. Workers
    /// advances it only on I/O, as it does `performance.now()`.
    fn utc_now(&self) -> std::time::SystemTime {
        let millis = js::date_now().max(0.0);
        std::time::UNIX_EPOCH + Duration::from_micros((millis * 1000.0) as u64)
    }

    fn task_queue(&self) -> Option<Arc<dyn TaskQueue>> {
        Some(self.shared.clone())
    }

    fn num_cpus(&self) -> usize {
        1
    }

    /// Polls `future`, running what is ready (and timers already due) between polls, until
    /// it is done or nothing more can run without the JS event loop.
    ///
    /// # Panics
    ///
    /// Without a timeout, if the future still waits then: waiting would hang the isolate.
    #[track_caller]
    fn drive(
        &self,
        mut future: Pin<&mut dyn Future<Output = ()>>,
        timeout: Option<Duration>,
    ) -> Driven {
        let woken = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            if future.as_mut().poll(&mut cx).is_ready() {
                return Driven::Ready;
            }
            let ran = self.shared.run_now();
            if !ran && !woken.0.swap(false, Ordering::SeqCst) {
                break;
            }
        }
        match timeout {
            Some(_) => Driven::TimedOut,
            None => panic!(
                "block on Workers: the future waits for something (a timer, I/O) that only \
                 the JS event loop can deliver, and the event loop cannot run while `block` \
                 holds the isolate's one thread; `.await` the future instead"
            ),
        }
    }
}

impl Drop for WorkersScheduler {
    /// Closes the scheduler: queued and sleeping runnables are dropped (their awaiters see
    /// cancellation), later wakes cancel their task, and the JS timer is cleared.
    fn drop(&mut self) {
        let (ready, yielded, timers) = {
            let mut state = self.shared.state.lock();
            state.closed = true;
            let timers: Vec<Runnable> = state.timers.drain().collect();
            (
                ::core::mem::take(&mut state.ready),
                ::core::mem::take(&mut state.yielded),
                timers,
            )
        };
        self.shared.disarm();
        drop((ready, yielded, timers));
    }
}

impl fmt::Debug for WorkersScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state.lock();
        f.debug_struct("WorkersScheduler")
            .field("ready", &state.ready.len())
            .field("yielded", &state.yielded.len())
            .field("timers", &state.timers.len())
            .finish()
    }
}
