//! Smoke test of the wasm32 test setup (ci/workers.sh): a `wasm_bindgen_test` that runs in
//! Node under wasm-bindgen-test-runner and awaits the JS event loop. It checks the ordering
//! the Workers scheduler builds on: a microtask runs before a `setTimeout(0)` callback queued
//! ahead of it. The real `WorkersScheduler` tests replace it.
#![cfg(target_arch = "wasm32")]

use std::{cell::RefCell, rc::Rc};

use js_sys::{Function, Promise};
use wasm_bindgen::{JsValue, closure::Closure, prelude::wasm_bindgen};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = queueMicrotask)]
    fn queue_microtask(callback: &Function);
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: i32) -> JsValue;
}

/// A JS function that pushes `label` onto `log` when called (once).
fn push_later(log: &Rc<RefCell<Vec<&'static str>>>, label: &'static str) -> Function {
    let log = log.clone();
    Closure::once_into_js(move || log.borrow_mut().push(label)).into()
}

/// Resolves after `ms` milliseconds of the JS event loop.
async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, ms);
    });
    JsFuture::from(promise).await.unwrap();
}

#[wasm_bindgen_test]
async fn microtask_runs_before_an_earlier_zero_timeout() {
    let log = Rc::new(RefCell::new(Vec::new()));
    set_timeout(&push_later(&log, "timeout"), 0);
    queue_microtask(&push_later(&log, "microtask"));
    assert!(log.borrow().is_empty(), "callbacks ran synchronously");
    sleep(20).await;
    assert_eq!(*log.borrow(), ["microtask", "timeout"]);
}
