//! `CloudflareExecutionContext` in Node (wasm32, run by `ci/workers.sh`), over a stand-in for
//! the runtime's `ExecutionContext` object that records `waitUntil` promises and
//! `passThroughOnException` calls: work is handed to the runtime, sessions catch leaks, and
//! the end of a request cancels what `wait_until` does not cover.
#![cfg(target_arch = "wasm32")]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use js_sys::{Object, Promise, Reflect};
use unified_scheduler::{
    CloudflareExecutionContext, ExecutionContext, PlatformRuntime, RequestContext, SessionError,
};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::wasm_bindgen_test;

/// What the stand-in runtime was asked.
#[derive(Default)]
struct Runtime {
    wait_until: RefCell<Vec<Promise>>,
    passed_through: Cell<bool>,
}

/// A `worker::Context` over a JS object with the runtime's two methods.
fn context() -> (worker::Context, Rc<Runtime>) {
    let runtime = Rc::new(Runtime::default());
    let object = Object::new();
    let seen = runtime.clone();
    let wait_until = Closure::<dyn FnMut(JsValue)>::new(move |promise: JsValue| {
        seen.wait_until.borrow_mut().push(promise.unchecked_into());
    });
    let seen = runtime.clone();
    let pass = Closure::<dyn FnMut()>::new(move || seen.passed_through.set(true));
    Reflect::set(&object, &"waitUntil".into(), wait_until.as_ref()).unwrap();
    Reflect::set(&object, &"passThroughOnException".into(), pass.as_ref()).unwrap();
    // The object outlives the test's closures: leak them, as the runtime's would live on.
    wait_until.forget();
    pass.forget();
    (worker::Context::new(object.unchecked_into()), runtime)
}

#[wasm_bindgen_test]
async fn wait_until_hands_the_work_to_the_runtime_which_sees_it_finish() {
    let (ctx, runtime) = context();
    let request = CloudflareExecutionContext::new(ctx);
    let done = Arc::new(AtomicBool::new(false));
    let (flag, delay) = (
        done.clone(),
        request.scheduler().timer(Duration::from_millis(5)),
    );
    request
        .wait_until(Box::pin(async move {
            delay.await;
            flag.store(true, Ordering::SeqCst);
            Ok(())
        }))
        .unwrap();
    assert_eq!(
        request.validate_session_cleanup(),
        Ok(()),
        "wait_until work is allowed"
    );
    drop(request); // the response is out; the work goes on
    let promise = runtime
        .wait_until
        .borrow_mut()
        .pop()
        .expect("handed to waitUntil");
    assert!(
        !done.load(Ordering::SeqCst),
        "the work finished before the response"
    );
    JsFuture::from(promise).await.unwrap();
    assert!(
        done.load(Ordering::SeqCst),
        "waitUntil's promise settled before the work"
    );
}

#[wasm_bindgen_test]
async fn a_leaked_task_is_reported_with_its_spawn_site() {
    let (ctx, _runtime) = context();
    let request = CloudflareExecutionContext::new(ctx);
    let finished = request.spawn_local(async { 1 });
    let line = line!() + 1;
    let leaked = request.spawn_local(std::future::pending::<()>());
    assert_eq!(finished.await, Ok(1));
    let error = request.validate_session_cleanup().unwrap_err();
    let SessionError::Leaked { tasks, .. } = &error else {
        panic!("expected a leak, got {error:?}");
    };
    assert_eq!(
        tasks.iter().map(|t| t.id).collect::<Vec<_>>(),
        [leaked.id()]
    );
    assert_eq!(
        (tasks[0].spawned_at.file(), tasks[0].spawned_at.line()),
        (file!(), line)
    );
    // The end of the request cancels it, as the runtime would.
    drop(request);
    let cancelled = leaked.await.unwrap_err();
    assert!(cancelled.by_session.is_some(), "{cancelled}");
}

#[wasm_bindgen_test]
async fn pass_through_fails_open_through_the_runtime() {
    let (ctx, runtime) = context();
    let request = CloudflareExecutionContext::new(ctx);
    request.pass_through().await.unwrap();
    assert!(runtime.passed_through.get());
}

#[wasm_bindgen_test]
async fn delay_is_the_schedulers_timer() {
    let (ctx, _runtime) = context();
    let request = CloudflareExecutionContext::new(ctx);
    let start = request.scheduler().now();
    request.delay(Duration::from_millis(4)).await;
    assert!(request.scheduler().now() - start >= Duration::from_millis(4));
}

#[wasm_bindgen_test]
async fn each_request_is_its_own_session() {
    let (first, _) = context();
    let (second, _) = context();
    let (first, second) = (
        CloudflareExecutionContext::new(first),
        CloudflareExecutionContext::new(second),
    );
    let _leak = first.spawn_local(std::future::pending::<()>());
    assert!(first.validate_session_cleanup().is_err());
    assert_eq!(
        second.validate_session_cleanup(),
        Ok(()),
        "one request's leak is not another's"
    );
}
