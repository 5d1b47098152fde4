//! The example worker's request handler, written once against `RequestContext`: `lib.rs`
//! runs it on Workers (in workerd, `e2e.test.mjs`), and the crate's native test
//! `tests/cloud_worker_handler.rs` runs the same file on the `TestScheduler`, seeded and on
//! virtual time.
//!
//! Routes (`id` is any token the caller picks):
//! - `/work`: responds `hello <id>` at once and hands work to `wait_until`: the work waits
//!   until `/release` (so the response provably does not wait for it), then sleeps 50 ms and
//!   records that it is done.
//! - `/release`: releases that work. `/status`: `pending`, `released`, `done` or `unknown`.
//! - `/leak`: forgets a task that is still running (it sleeps `id` ms, or an hour), so the
//!   session check fails: the response (500) is the error, which names the task and where
//!   it was spawned.
//! - `/timers`: three timers of 30, 10 and 20 ms; responds with the order they fired in.
//! - `/sleep`: sleeps `id` ms on the runtime's timer, then responds `slept`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use unified_scheduler::{PlatformRuntime, RequestContext};

/// How long the `wait_until` work sleeps once released.
pub(crate) const WORK_SLEEP: Duration = Duration::from_millis(50);

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Pending,
    Released,
    Done,
}

thread_local! {
    /// The work of each id. One isolate is one thread, so every request of it sees this.
    static WORK: RefCell<HashMap<String, State>> = RefCell::new(HashMap::new());
}

fn state(id: &str) -> Option<State> {
    WORK.with(|work| work.borrow().get(id).copied())
}

fn set_state(id: &str, state: State) {
    WORK.with(|work| work.borrow_mut().insert(id.to_owned(), state));
}

/// `/status` of `id`.
pub(crate) fn status(id: &str) -> &'static str {
    match state(id) {
        None => "unknown",
        Some(State::Pending) => "pending",
        Some(State::Released) => "released",
        Some(State::Done) => "done",
    }
}

/// Serves one request: `(status code, body)`. `log` writes a line where the host shows it.
pub(crate) async fn handle<R>(request: &Rc<R>, path: &str, id: &str, log: fn(&str)) -> (u16, String)
where
    R: RequestContext + 'static,
{
    match path {
        "/work" => {
            set_state(id, State::Pending);
            let (work_request, id_owned) = (request.clone(), id.to_owned());
            request
                .wait_until(Box::pin(async move {
                    work(&*work_request, &id_owned, log).await;
                    Ok(())
                }))
                .expect("a handler runs in its request, on the main thread");
            checked(&**request, format!("hello {id}"))
        }
        "/release" => {
            if state(id) == Some(State::Pending) {
                set_state(id, State::Released);
            }
            checked(&**request, "released".into())
        }
        "/status" => checked(&**request, status(id).into()),
        "/leak" => {
            let (sleeper, sleep) = (request.clone(), millis(id, Duration::from_secs(3600)));
            // The bug this route shows: a refresh left running past the response.
            request
                .spawn_local(async move { sleeper.delay(sleep).await })
                .detach();
            checked(&**request, "leaked".into())
        }
        "/sleep" => {
            request.delay(millis(id, Duration::ZERO)).await;
            checked(&**request, "slept".into())
        }
        "/timers" => {
            let fired = Rc::new(RefCell::new(Vec::new()));
            let timers: Vec<_> = [30, 10, 20]
                .into_iter()
                .enumerate()
                .map(|(i, ms)| {
                    let (timer_request, fired) = (request.clone(), fired.clone());
                    request.spawn_local(async move {
                        timer_request.delay(Duration::from_millis(ms)).await;
                        fired.borrow_mut().push(i.to_string());
                    })
                })
                .collect();
            for timer in timers {
                timer.await.expect("the request is still running");
            }
            let order = fired.borrow().join(",");
            checked(&**request, format!("fired {order}"))
        }
        _ => (404, "not found".into()),
    }
}

/// `id` as a number of milliseconds, or `otherwise`.
fn millis(id: &str, otherwise: Duration) -> Duration {
    id.parse().map_or(otherwise, Duration::from_millis)
}

/// The response, if nothing but `wait_until` work outlives the request; else a 500 whose
/// body is the session's error.
fn checked(request: &impl RequestContext, body: String) -> (u16, String) {
    match request.validate_session_cleanup() {
        Ok(()) => (200, body),
        Err(error) => (500, error.to_string()),
    }
}

/// The `wait_until` work: waits on the runtime's timer until released (at most 10 s), then
/// sleeps [`WORK_SLEEP`] and records that it is done.
async fn work(request: &impl PlatformRuntime, id: &str, log: fn(&str)) {
    let mut waited = Duration::ZERO;
    while state(id) == Some(State::Pending) {
        if waited >= Duration::from_secs(10) {
            log(&format!("work timed out {id}"));
            return;
        }
        request.delay(Duration::from_millis(5)).await;
        waited += Duration::from_millis(5);
    }
    request.delay(WORK_SLEEP).await;
    set_state(id, State::Done);
    log(&format!("work done {id}"));
}
