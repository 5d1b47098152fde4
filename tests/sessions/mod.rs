//! The properties of request sessions, written once against `Arc<dyn Scheduler>` and stamped
//! for each scheduler by `sessions::suite!(run)`, where `run(body)` runs the async `body` on
//! that scheduler (many seeds of the `TestScheduler`; repeated runs of a dispatcher).
// Each test binary stamps the suite; `pub` marks what it offers.
#![allow(dead_code, unreachable_pub)]

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::common;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use unified_scheduler::{
    AtSessionEnd, ContextError, ExecutionContext, PlatformRuntime, RequestContext, Scheduler,
    SessionConfig, SessionError, SimulatedExecutionContext, SimulatedRequest, TaskLabel,
    TestScheduler,
};

/// A short limit, so a dispatcher's real clock waits little.
pub const SHORT_LIMIT: Duration = Duration::from_millis(150);

fn context(scheduler: &Arc<dyn Scheduler>) -> SimulatedExecutionContext {
    SimulatedExecutionContext::with_config(
        scheduler.clone(),
        SessionConfig::new().runtime_latency(Duration::from_millis(1)),
    )
}

/// A handler that leaks a spawned task is caught, by id, label and spawn site.
pub async fn a_leaked_task_is_caught_with_its_spawn_site(scheduler: Arc<dyn Scheduler>) {
    let ctx = context(&scheduler);
    let session = ctx.create_session();
    let label = TaskLabel::new();
    let (task, line) = ctx.with_session(session, || {
        let line = line!() + 1;
        let task = ctx.spawn_labeled(label, std::future::pending::<()>());
        (task, line)
    });
    let id = task.id();
    task.detach(); // forgotten: it outlives the request
    let error = ctx.validate_session_cleanup(session).unwrap_err();
    let SessionError::Leaked {
        session: named,
        tasks,
    } = &error
    else {
        panic!("expected a leak, got {error:?}");
    };
    assert_eq!(*named, session);
    assert_eq!(tasks.len(), 1, "{error}");
    assert_eq!((tasks[0].id, tasks[0].label), (id, Some(label)));
    assert_eq!(
        (tasks[0].spawned_at.file(), tasks[0].spawned_at.line()),
        (file!(), line)
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("{}:{line}", file!())),
        "{message}"
    );
    assert!(message.contains("wait_until"), "says what to do: {message}");
}

/// Work handed to `wait_until` may outlive the request; it runs to its end.
pub async fn wait_until_work_may_outlive_its_session(scheduler: Arc<dyn Scheduler>) {
    let ctx = context(&scheduler);
    let session = ctx.create_session();
    let done = Arc::new(AtomicUsize::new(0));
    let work_done = done.clone();
    let work_ctx = ctx.clone();
    ctx.with_session(session, || {
        ctx.wait_until(Box::pin(async move {
            work_ctx.delay(Duration::from_millis(5)).await;
            work_done.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }))
        .unwrap();
    });
    assert_eq!(ctx.validate_session_cleanup(session), Ok(()));
    assert_eq!(ctx.end_session(session), Ok(vec![]));
    assert_eq!(ctx.wait_on_session(session).await, Ok(()));
    assert_eq!(done.load(Ordering::SeqCst), 1);
}

/// A task that finished before the check does not count, nor one that was cancelled.
pub async fn finished_and_cancelled_tasks_do_not_count(scheduler: Arc<dyn Scheduler>) {
    let ctx = context(&scheduler);
    let session = ctx.create_session();
    let finished = ctx.with_session(session, || ctx.spawn(async { 5 }));
    let cancelled = ctx.with_session(session, || ctx.spawn(std::future::pending::<()>()));
    let local = ctx.with_session(session, || ctx.spawn_local(std::future::pending::<()>()));
    assert_eq!(finished.await, Ok(5));
    assert!(ctx.validate_session_cleanup(session).is_err());
    drop(cancelled);
    drop(local);
    assert_eq!(ctx.validate_session_cleanup(session), Ok(()));
}

/// What a task of a session spawns is linked to the session too, on whatever thread it
/// runs, and named at its own spawn site.
pub async fn tasks_spawned_by_session_tasks_are_linked(scheduler: Arc<dyn Scheduler>) {
    let ctx = context(&scheduler);
    let session = ctx.create_session();
    let inner_line = Arc::new(Mutex::new(0));
    let (task_ctx, line_slot) = (ctx.clone(), inner_line.clone());
    let outer = ctx.with_session(session, || {
        ctx.spawn(async move {
            *line_slot.lock().unwrap() = line!() + 1;
            task_ctx.spawn(std::future::pending::<()>()).detach();
            task_ctx.get_current_session()
        })
    });
    assert_eq!(outer.await, Ok(Some(session)));
    let error = ctx.validate_session_cleanup(session).unwrap_err();
    let SessionError::Leaked { tasks, .. } = &error else {
        panic!("expected a leak, got {error:?}");
    };
    assert_eq!(tasks.len(), 1, "{error}");
    assert_eq!(tasks[0].spawned_at.line(), *inner_line.lock().unwrap());
}

/// Sessions nest: the inner one's tasks are its own, and the outer one comes back.
pub async fn sessions_nest(scheduler: Arc<dyn Scheduler>) {
    let ctx = context(&scheduler);
    let (outer, inner) = (ctx.create_session(), ctx.create_session());
    let (a, b) = ctx.with_session(outer, || {
        let b = ctx.with_session(inner, || ctx.spawn(std::future::pending::<()>()));
        assert_eq!(ctx.get_current_session(), Some(outer));
        (ctx.spawn(std::future::pending::<()>()), b)
    });
    assert_eq!((a.session(), b.session()), (Some(outer), Some(inner)));
    let leaked = |session| match ctx.validate_session_cleanup(session) {
        Err(SessionError::Leaked { tasks, .. }) => tasks.iter().map(|t| t.id).collect::<Vec<_>>(),
        other => panic!("expected a leak, got {other:?}"),
    };
    assert_eq!(leaked(outer), vec![a.id()]);
    assert_eq!(leaked(inner), vec![b.id()]);
    assert_eq!(ctx.get_current_session(), None);
}

/// `with_session` restores the previous session when its closure panics.
pub async fn with_session_restores_after_a_panic(scheduler: Arc<dyn Scheduler>) {
    let ctx = context(&scheduler);
    let (outer, inner) = (ctx.create_session(), ctx.create_session());
    ctx.with_session(outer, || {
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            ctx.with_session(inner, || panic!("the handler failed"))
        }));
        assert!(panicked.is_err());
        assert_eq!(ctx.get_current_session(), Some(outer));
    });
    assert_eq!(ctx.get_current_session(), None);
}

/// Two failing `wait_until` works are both reported, in the order they were handed over.
pub async fn wait_on_session_aggregates_every_error(scheduler: Arc<dyn Scheduler>) {
    let ctx = context(&scheduler);
    let session = ctx.create_session();
    ctx.with_session(session, || {
        for what in ["the cache write", "the audit log"] {
            let work_ctx = ctx.clone();
            ctx.wait_until(Box::pin(async move {
                work_ctx.delay(Duration::from_millis(2)).await;
                Err(format!("{what} failed").into())
            }))
            .unwrap();
        }
        ctx.wait_until(Box::pin(async { Ok(()) })).unwrap();
    });
    ctx.end_session(session).unwrap();
    let Err(SessionError::Several(errors)) = ctx.wait_on_session(session).await else {
        panic!("expected both errors");
    };
    let messages: Vec<_> = errors
        .iter()
        .map(|e| match e {
            SessionError::WorkFailed { message, .. } => message.as_str(),
            other => panic!("expected a failed work, got {other:?}"),
        })
        .collect();
    assert_eq!(messages, ["the cache write failed", "the audit log failed"]);
    // The results were handed over: the id is spent.
    assert_eq!(
        ctx.wait_on_session(session).await,
        Err(SessionError::Ended(session))
    );
}

/// Work that `wait_until` work hands to `wait_until` in turn is waited for too (rounds).
pub async fn wait_on_session_waits_for_work_that_appears_while_waiting(
    scheduler: Arc<dyn Scheduler>,
) {
    let ctx = context(&scheduler);
    let session = ctx.create_session();
    let done = Arc::new(AtomicUsize::new(0));
    let (outer_ctx, outer_done) = (ctx.clone(), done.clone());
    ctx.with_session(session, || {
        ctx.wait_until(Box::pin(async move {
            outer_ctx.delay(Duration::from_millis(2)).await;
            let (inner_ctx, inner_done) = (outer_ctx.clone(), outer_done.clone());
            outer_ctx.wait_until(Box::pin(async move {
                inner_ctx.delay(Duration::from_millis(2)).await;
                inner_done.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }))?;
            outer_done.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }))
        .unwrap();
    });
    ctx.end_session(session).unwrap();
    assert_eq!(ctx.wait_on_session(session).await, Ok(()));
    assert_eq!(done.load(Ordering::SeqCst), 2);
}

/// `wait_until` work that can never finish is reported as abandoned once the limit has
/// passed, measured from the session's end, and is cancelled.
pub async fn hung_wait_until_work_is_reported_at_the_limit(scheduler: Arc<dyn Scheduler>) {
    let ctx = SimulatedExecutionContext::with_config(
        scheduler.clone(),
        SessionConfig::new().wait_until_limit(SHORT_LIMIT),
    );
    let session = ctx.create_session();
    let dropped = Arc::new(AtomicUsize::new(0));
    let guard = common::OnDrop::new({
        let dropped = dropped.clone();
        move || {
            dropped.fetch_add(1, Ordering::SeqCst);
        }
    });
    let line = ctx.with_session(session, || {
        let line = line!() + 1;
        ctx.wait_until(Box::pin(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok(())
        }))
        .unwrap();
        line
    });
    ctx.end_session(session).unwrap();
    let ended = scheduler.now();
    let error = ctx.wait_on_session(session).await.unwrap_err();
    let waited = scheduler.now() - ended;
    let SessionError::WorkAbandoned { limit, tasks, .. } = &error else {
        panic!("expected the hung work to be abandoned, got {error:?}");
    };
    assert_eq!(*limit, SHORT_LIMIT);
    assert_eq!(tasks[0].spawned_at.line(), line, "{error}");
    assert!(
        waited >= SHORT_LIMIT,
        "gave up after {waited:?}, before the limit"
    );
    if scheduler.downcast_ref::<TestScheduler>().is_some() {
        assert_eq!(waited, SHORT_LIMIT, "virtual time: exactly the limit");
    }
    // Cancelled: its future is dropped once the scheduler polls it again (soon: it was woken).
    for _ in 0..1000 {
        if dropped.load(Ordering::SeqCst) == 1 {
            break;
        }
        ctx.delay(Duration::from_millis(1)).await;
    }
    assert_eq!(
        dropped.load(Ordering::SeqCst),
        1,
        "the abandoned work was not dropped"
    );
}

/// `end_session` cancels what `wait_until` does not cover (as Workers does); the awaiter
/// sees a cancellation that names the session, and the future is dropped.
pub async fn end_session_cancels_uncovered_tasks(scheduler: Arc<dyn Scheduler>) {
    let ctx = context(&scheduler);
    let session = ctx.create_session();
    let task = ctx.with_session(session, || ctx.spawn(std::future::pending::<()>()));
    let cancelled = ctx.end_session(session).unwrap();
    assert_eq!(
        cancelled.iter().map(|t| t.id).collect::<Vec<_>>(),
        [task.id()]
    );
    let error = task.await.unwrap_err();
    assert_eq!(error.by_session, Some(session));
    assert!(
        error
            .to_string()
            .contains("cancelled when session #1 ended"),
        "{error}"
    );
}

/// With `AtSessionEnd::LetRun`, uncovered tasks run on after the end.
pub async fn end_session_may_let_tasks_run(scheduler: Arc<dyn Scheduler>) {
    let ctx = SimulatedExecutionContext::with_config(
        scheduler.clone(),
        SessionConfig::new().at_session_end(AtSessionEnd::LetRun),
    );
    let session = ctx.create_session();
    let delay_ctx = ctx.clone();
    let task = ctx.with_session(session, || {
        ctx.spawn_local(async move {
            delay_ctx.delay(Duration::from_millis(3)).await;
            "finished anyway"
        })
    });
    assert_eq!(ctx.end_session(session), Ok(vec![]));
    assert_eq!(task.await, Ok("finished anyway"));
}

/// Bad ids are errors (or, where a call returns no `Result`, clear panics), never UB.
pub async fn unknown_and_ended_sessions_are_refused(scheduler: Arc<dyn Scheduler>) {
    let ctx = context(&scheduler);
    let other = context(&scheduler);
    let session = ctx.create_session();
    let foreign = other.create_session();
    let never = other.create_session(); // #2: this context has only #1
    assert_eq!(
        ctx.validate_session_cleanup(never),
        Err(SessionError::Unknown(never))
    );
    assert_eq!(ctx.end_session(never), Err(SessionError::Unknown(never)));
    assert_eq!(
        ctx.wait_on_session(never).await,
        Err(SessionError::Unknown(never))
    );
    let message = common::expect_panic(|| ctx.with_session(never, || ()));
    assert!(message.contains("with_session(session #2)"), "{message}");
    assert!(
        message.contains("create_session"),
        "says where ids come from: {message}"
    );
    // Another context's session is not current here.
    other.with_session(foreign, || assert_eq!(ctx.get_current_session(), None));
    ctx.end_session(session).unwrap();
    assert_eq!(
        ctx.validate_session_cleanup(session),
        Err(SessionError::Ended(session))
    );
    assert_eq!(ctx.end_session(session), Err(SessionError::Ended(session)));
    let message = common::expect_panic(|| ctx.with_session(session, || ()));
    assert!(message.contains("has already ended"), "{message}");
}

/// Runtime calls outside a session, or `wait_until` off the main thread, are refused with
/// an error that says what to do.
pub async fn runtime_calls_say_what_is_wrong(scheduler: Arc<dyn Scheduler>) {
    let ctx = context(&scheduler);
    let error = ctx.wait_until(Box::pin(async { Ok(()) })).unwrap_err();
    assert!(
        matches!(
            error,
            ContextError::NoSession {
                call: "wait_until",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("with_session"), "{error}");
    let error = ctx.pass_through().await.unwrap_err();
    assert!(
        matches!(
            error,
            ContextError::NoSession {
                call: "pass_through",
                ..
            }
        ),
        "{error}"
    );

    let session = ctx.create_session();
    let background_ctx = ctx.clone();
    let from_background = ctx.with_session(session, || {
        ctx.spawn(async move {
            background_ctx
                .wait_until(Box::pin(async { Ok(()) }))
                .unwrap_err()
        })
    });
    let error = from_background.await.unwrap();
    assert!(
        matches!(error, ContextError::OffMainThread { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("main thread"), "{error}");
}

/// Many requests at once, each in its own session: the clean ones pass; each leaky one is
/// named, with nothing else.
pub async fn interleaved_requests_are_each_validated(scheduler: Arc<dyn Scheduler>) {
    const REQUESTS: usize = 6;
    let ctx = context(&scheduler);
    let responses = ctx.simulate_requests(REQUESTS, |i, request| handle(request, i, Leak::Never));
    let expected: Vec<usize> = (0..REQUESTS).map(|i| i * 10).collect();
    assert_eq!(responses.await, Ok(expected));

    let handler_ctx = ctx.clone();
    let leaky = ctx.simulate_requests(REQUESTS, move |i, request| {
        assert_eq!(handler_ctx.get_current_session(), Some(request.session()));
        handle(request, i, Leak::EveryThird)
    });
    let Err(SessionError::Several(errors)) = leaky.await else {
        panic!("requests 0 and 3 leak");
    };
    let leaked: Vec<_> = errors
        .iter()
        .map(|e| match e {
            SessionError::Leaked { session, tasks } => (session.as_u64(), tasks.len()),
            other => panic!("expected only leaks, got {other:?}"),
        })
        .collect();
    // Sessions 7..=12 are the second batch; requests 0 and 3 are sessions 7 and 10.
    assert_eq!(leaked, [(7, 1), (10, 1)]);
}

#[derive(Clone, Copy)]
enum Leak {
    Never,
    EveryThird,
}

/// A request handler, written against `RequestContext` as production code would be: fans
/// out to two sub-requests, awaits them, hands analytics to `wait_until`, and (when told)
/// forgets a cache refresh that is still running.
async fn handle(request: SimulatedRequest, i: usize, leak: Leak) -> usize {
    let parts: Vec<_> = (0..2)
        .map(|part| {
            let sub = request.clone();
            request.spawn_local(async move {
                sub.delay(Duration::from_millis(1 + part)).await;
                i * 5
            })
        })
        .collect();
    let mut response = 0;
    for part in parts {
        response += part.await.unwrap();
    }
    let analytics = request.clone();
    request
        .wait_until(Box::pin(async move {
            analytics.delay(Duration::from_millis(4)).await;
            Ok(())
        }))
        .unwrap();
    if matches!(leak, Leak::EveryThird) && i % 3 == 0 {
        let refresh = request.clone();
        request
            .spawn_local(async move { refresh.delay(Duration::from_secs(3600)).await })
            .detach();
    }
    response
}

/// Stamps every property above as a `#[test]` run by `$run(body)`.
macro_rules! suite {
    ($run:path) => {
        $crate::sessions::suite!(@stamp $run;
            a_leaked_task_is_caught_with_its_spawn_site,
            wait_until_work_may_outlive_its_session,
            finished_and_cancelled_tasks_do_not_count,
            tasks_spawned_by_session_tasks_are_linked,
            sessions_nest,
            with_session_restores_after_a_panic,
            wait_on_session_aggregates_every_error,
            wait_on_session_waits_for_work_that_appears_while_waiting,
            hung_wait_until_work_is_reported_at_the_limit,
            end_session_cancels_uncovered_tasks,
            end_session_may_let_tasks_run,
            unknown_and_ended_sessions_are_refused,
            runtime_calls_say_what_is_wrong,
            interleaved_requests_are_each_validated,
        );
    };
    (@stamp $run:path; $($property:ident),* $(,)?) => {
        $(
            #[test]
            fn $property() {
                $run($crate::sessions::$property);
            }
        )*
    };
}
pub(crate) use suite;
