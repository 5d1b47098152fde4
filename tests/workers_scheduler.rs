//! The `WorkersScheduler` in Node (wasm32, run by `ci/workers.sh` under
//! wasm-bindgen-test-runner): microtask order, yields that let the event loop in, timers
//! never early and in order, huge delays, blocking that fails loudly, panics, shutdown, and
//! the conformance properties that apply to a single-threaded scheduler that cannot block.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use js_sys::{Function, Promise};
use unified_scheduler::{Scheduler, WorkersScheduler};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsValue, closure::Closure};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: f64) -> JsValue;
}

/// `performance.now()`, looked up at run time (a static binding would be the crate's own).
fn performance_now() -> f64 {
    let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
    let now: Function = js_sys::Reflect::get(&performance, &"now".into())
        .unwrap()
        .into();
    now.call0(&performance).unwrap().as_f64().unwrap()
}

fn scheduler() -> Arc<dyn Scheduler> {
    WorkersScheduler::shared()
}

/// Resolves after `ms` milliseconds of the JS event loop, without our scheduler.
async fn js_sleep(ms: f64) {
    let promise = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms);
    });
    JsFuture::from(promise).await.unwrap();
}

/// A JS callback that runs `f` once.
fn js_callback(f: impl FnOnce() + 'static) -> Function {
    Closure::once_into_js(f).into()
}

#[wasm_bindgen_test]
async fn tasks_run_as_microtasks_in_fifo_order_before_timeouts() {
    let scheduler = scheduler();
    let log = Arc::new(Mutex::new(Vec::new()));
    let timeout_log = log.clone();
    set_timeout(
        &js_callback(move || timeout_log.lock().unwrap().push("timeout".to_string())),
        0.0,
    );
    for i in 0..3 {
        let log = log.clone();
        scheduler
            .spawn(async move { log.lock().unwrap().push(format!("task {i}")) })
            .detach();
    }
    assert!(
        log.lock().unwrap().is_empty(),
        "a spawn ran its task synchronously"
    );
    js_sleep(20.0).await;
    assert_eq!(
        *log.lock().unwrap(),
        ["task 0", "task 1", "task 2", "timeout"]
    );
}

#[wasm_bindgen_test]
async fn a_yielding_task_lets_the_event_loop_run() {
    let scheduler = scheduler();
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    set_timeout(&js_callback(move || set.store(true, Ordering::SeqCst)), 0.0);
    let seen = flag.clone();
    let yields = scheduler.spawn(async move {
        let mut yields = 0;
        while !seen.load(Ordering::SeqCst) && yields < 10_000 {
            futures_lite::future::yield_now().await;
            yields += 1;
        }
        yields
    });
    let yields = yields.await;
    assert!(
        flag.load(Ordering::SeqCst),
        "10,000 yields starved a setTimeout(0)"
    );
    assert!(
        yields >= 1,
        "the timeout ran before the task ever yielded: {yields}"
    );
}

#[wasm_bindgen_test]
async fn timers_never_fire_early() {
    let scheduler = scheduler();
    for ms in [1, 3, 7, 15] {
        let delay = Duration::from_millis(ms);
        let (start, js_start) = (scheduler.now(), performance_now());
        scheduler.timer(delay).await;
        let waited = scheduler.now() - start;
        assert!(waited >= delay, "a {delay:?} timer fired after {waited:?}");
        // By an independent clock too, up to Node's millisecond rounding of timer times.
        let js_waited = performance_now() - js_start;
        assert!(
            js_waited >= ms as f64 - 1.0,
            "{delay:?} timer: {js_waited} ms by JS"
        );
    }
}

#[wasm_bindgen_test]
async fn timers_fire_in_deadline_order_ties_in_scheduling_order() {
    let scheduler = scheduler();
    let order = Arc::new(Mutex::new(Vec::new()));
    let delays = [30, 10, 20, 10, 0];
    let tasks: Vec<_> = delays
        .iter()
        .enumerate()
        .map(|(i, &ms)| {
            let (order, timer) = (order.clone(), scheduler.timer(Duration::from_millis(ms)));
            scheduler.spawn(async move {
                timer.await;
                order.lock().unwrap().push(i);
            })
        })
        .collect();
    for task in tasks {
        task.await;
    }
    assert_eq!(*order.lock().unwrap(), [4, 1, 3, 2, 0]);
}

#[wasm_bindgen_test]
async fn huge_delays_saturate_instead_of_firing_at_once() {
    // A scheduler of its own: dropping it clears its JS timer, so no 24-day timeout keeps
    // Node alive after the tests.
    let scheduler: Arc<dyn Scheduler> = Arc::new(WorkersScheduler::new());
    let beyond_js = Duration::from_millis(2_147_483_648); // setTimeout's limit + 1 ms
    let huge = [
        scheduler.timer(Duration::MAX),
        scheduler.timer(beyond_js),
        scheduler.timer(beyond_js * 1000),
    ];
    // A short timer set after them still fires on time: the JS timer is re-armed earlier.
    let start = scheduler.now();
    scheduler.timer(Duration::from_millis(5)).await;
    assert!(scheduler.now() - start >= Duration::from_millis(5));
    js_sleep(20.0).await;
    for timer in &huge {
        assert!(!timer.is_finished(), "a huge delay fired early: {timer:?}");
    }
    drop(huge);
    drop(scheduler);
}

#[wasm_bindgen_test]
async fn wakes_from_javascript_go_through_the_task_queue() {
    let scheduler = scheduler();
    assert!(scheduler.task_queue().is_some());
    let task = scheduler.spawn_foreground(async {
        js_sleep(2.0).await; // woken by a JS promise callback
        "woken"
    });
    assert_eq!(task.await, "woken");
}

#[wasm_bindgen_test]
async fn foreground_tasks_run_on_the_one_thread() {
    let scheduler = scheduler();
    assert!(scheduler.is_main_thread());
    let not_send = Rc::new(RefCell::new(0));
    let inner = not_send.clone();
    scheduler
        .spawn_foreground(async move { *inner.borrow_mut() += 1 })
        .await;
    assert_eq!(*not_send.borrow(), 1);
}

#[wasm_bindgen_test]
fn block_runs_what_needs_no_event_loop() {
    let scheduler = scheduler();
    let a = scheduler.spawn(async { 20 });
    let b = scheduler.spawn(async {
        futures_lite::future::yield_now().await;
        22
    });
    assert_eq!(scheduler.block(async { a.await + b.await }), 42);
}

#[wasm_bindgen_test]
async fn block_with_timeout_hands_back_a_future_that_needs_the_event_loop() {
    let scheduler = scheduler();
    let timer = scheduler.timer(Duration::from_millis(3));
    let timer = scheduler
        .block_with_timeout(Duration::from_secs(1), timer)
        .expect_err("a timer cannot fire while `block` holds the thread");
    timer.await; // unharmed: it finishes once awaited
}

#[wasm_bindgen_test]
#[should_panic(expected = "`.await` the future instead")]
fn block_on_a_timer_fails_loudly_instead_of_hanging() {
    let scheduler = scheduler();
    scheduler.block(scheduler.timer(Duration::from_secs(3600)));
}

#[wasm_bindgen_test]
#[should_panic(expected = "the task's own panic")]
fn a_panic_in_a_task_reaches_its_awaiter() {
    let scheduler = scheduler();
    let task = scheduler.spawn(async { panic!("the task's own panic") });
    scheduler.block(task);
}

#[wasm_bindgen_test]
async fn dropping_the_scheduler_cancels_queued_and_sleeping_tasks() {
    let scheduler: Arc<dyn Scheduler> = Arc::new(WorkersScheduler::new());
    let ran = Arc::new(AtomicUsize::new(0));
    let counted = ran.clone();
    let queued = scheduler
        .spawn(async move {
            counted.fetch_add(1, Ordering::SeqCst);
        })
        .fallible();
    let sleeping = scheduler.timer(Duration::from_secs(3600)).fallible();
    drop(scheduler);
    assert_eq!(queued.await, None);
    assert_eq!(sleeping.await, None);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[wasm_bindgen_test]
async fn detached_tasks_run_and_cancelled_ones_drop_their_future() {
    let scheduler = scheduler();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    scheduler
        .spawn(async move { flag.store(true, Ordering::SeqCst) })
        .detach();
    let dropped = Arc::new(AtomicBool::new(false));
    let guard = DropFlag(dropped.clone());
    let pending = scheduler.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    js_sleep(2.0).await;
    assert!(ran.load(Ordering::SeqCst));
    assert_eq!(pending.cancel().await, None);
    assert!(dropped.load(Ordering::SeqCst));
}

struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// `utc_now` is the isolate's `Date.now()` (std's `SystemTime::now` would panic here).
#[wasm_bindgen_test]
fn utc_now_is_the_wall_clock_of_the_isolate() {
    let s = scheduler();
    let millis = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as f64
    };
    let before = js_sys::Date::now();
    let ours = millis(s.utc_now());
    let after = js_sys::Date::now();
    assert!(
        before - 1.0 <= ours && ours <= after + 1.0,
        "{before} <= {ours} <= {after}"
    );
}
