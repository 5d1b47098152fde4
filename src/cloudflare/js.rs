//! The few JavaScript globals the Workers backend calls, bound by hand (no `web-sys`: four
//! functions do not need a crate of thousands of bindings).

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// Runs `callback` as a microtask: after the current JS job, before any timer or I/O.
    #[wasm_bindgen(js_name = queueMicrotask)]
    pub(super) fn queue_microtask(callback: &js_sys::Function);

    /// Runs `callback` once, no sooner than `ms` milliseconds from now. The handle is a
    /// number on Workers and an object in Node: kept opaque.
    #[wasm_bindgen(js_name = setTimeout)]
    pub(super) fn set_timeout(callback: &js_sys::Function, ms: f64) -> JsValue;

    /// Cancels a `setTimeout` by its handle.
    #[wasm_bindgen(js_name = clearTimeout)]
    pub(super) fn clear_timeout(handle: &JsValue);

    /// Milliseconds since the isolate's time origin. On Workers it advances only between
    /// I/O events (a Spectre mitigation), so the scheduler keeps it monotonic with the
    /// deadlines its timers have reached.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    pub(super) fn performance_now() -> f64;

    /// Milliseconds since the Unix epoch: the wall clock.
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    pub(super) fn date_now() -> f64;

    /// Logs an error line (a failed `wait_until` work, which has nobody else to tell).
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    pub(super) fn console_error(message: &str);
}
