//! The example worker of the end-to-end test (`e2e.test.mjs`, run by ci/workers.sh): the
//! fetch handler answers at once and hands work to `ctx.wait_until`; that work must finish
//! after the response is sent.
//!
//! The ordering is made deterministic, not timed: the work first waits until the test
//! releases it (`/release`), which the test does only after it has the response, so a
//! runtime that held the response until the `wait_until` work finished would hang the test
//! (bounded) instead of passing by luck. Then the work sleeps 50 ms on a JS `setTimeout` and
//! records that it is done, seen through `/status` and a `work done <id>` log line.
//!
//! Routes (`id` is any token the test picks):
//! - `/work?id=X`: responds `hello X`; `wait_until`: wait for the release, sleep, record.
//! - `/release?id=X`: releases X's work.
//! - `/status?id=X`: `pending`, `released` or `done`.
//!
//! The state is a thread-local map: workerd runs one isolate (one thread) per worker, so
//! every request sees it.

use std::{cell::RefCell, collections::HashMap, time::Duration};

use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_futures::JsFuture;
use worker::{Context, Env, Request, Response, Result, console_log, event};

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Pending,
    Released,
    Done,
}

thread_local! {
    static WORK: RefCell<HashMap<String, State>> = RefCell::new(HashMap::new());
}

fn state(id: &str) -> Option<State> {
    WORK.with(|w| w.borrow().get(id).copied())
}

fn set_state(id: &str, state: State) {
    WORK.with(|w| w.borrow_mut().insert(id.to_owned(), state));
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, ms: f64) -> wasm_bindgen::JsValue;
}

/// Resolves after `delay` on the JS event loop (a real `setTimeout`).
async fn sleep(delay: Duration) {
    let promise = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, delay.as_secs_f64() * 1000.0);
    });
    let _ = JsFuture::from(promise).await;
}

/// The `wait_until` work: polls for the release on timers (pending timers keep the request's
/// I/O context alive; an awaited promise that only another request resolves might be taken
/// for a hang), gives up after 10 s, then sleeps 50 ms and records that it is done.
async fn work(id: String) {
    let mut waited = Duration::ZERO;
    while state(&id) == Some(State::Pending) {
        if waited >= Duration::from_secs(10) {
            console_log!("work timed out {id}");
            return;
        }
        sleep(Duration::from_millis(5)).await;
        waited += Duration::from_millis(5);
    }
    sleep(Duration::from_millis(50)).await;
    set_state(&id, State::Done);
    console_log!("work done {id}");
}

#[event(fetch)]
async fn fetch(req: Request, _env: Env, ctx: Context) -> Result<Response> {
    let url = req.url()?;
    let id = url
        .query_pairs()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    match url.path() {
        "/work" => {
            set_state(&id, State::Pending);
            ctx.wait_until(work(id.clone()));
            Response::ok(format!("hello {id}"))
        }
        "/release" => {
            if state(&id) == Some(State::Pending) {
                set_state(&id, State::Released);
            }
            Response::ok("released")
        }
        "/status" => Response::ok(match state(&id) {
            None => "unknown",
            Some(State::Pending) => "pending",
            Some(State::Released) => "released",
            Some(State::Done) => "done",
        }),
        _ => Response::error("not found", 404),
    }
}
