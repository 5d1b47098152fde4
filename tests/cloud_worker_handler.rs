//! The example worker's handler (`examples/cloudflare-worker/src/handler.rs`), the very
//! file that runs in workerd, run here on the `TestScheduler` over many seeds: the same
//! properties the end-to-end test checks on Workers, on virtual time.

#[path = "../examples/cloudflare-worker/src/handler.rs"]
mod handler;

use std::rc::Rc;
use std::time::Duration;

use unified_scheduler::{Scheduler, SimulatedExecutionContext, TestScheduler};

const SEEDS: u64 = 30;

fn no_log(_: &str) {}

#[test]
fn the_response_comes_before_the_wait_until_work_which_then_finishes() {
    TestScheduler::many(SEEDS, |test| async move {
        let ctx = SimulatedExecutionContext::new(test.clone());
        let id = format!("seed-{}", test.seed());
        let work = ctx.create_session();
        let served = handler::handle(&Rc::new(ctx.request(work)), "/work", &id, no_log).await;
        assert_eq!(served, (200, format!("hello {id}")));
        ctx.end_session(work).unwrap(); // the response is out
        test.run_until_parked();
        assert_eq!(
            handler::status(&id),
            "pending",
            "the work waits for its release"
        );

        let release = ctx.create_session();
        let released_at = test.now();
        let releaser = Rc::new(ctx.request(release));
        let served = handler::handle(&releaser, "/release", &id, no_log).await;
        assert_eq!(served, (200, "released".into()));
        assert_eq!(ctx.wait_on_session(work).await, Ok(()));
        assert_eq!(handler::status(&id), "done");
        assert!(test.now() - released_at >= handler::WORK_SLEEP);
    });
}

#[test]
fn a_task_left_running_is_reported_by_the_session_check() {
    TestScheduler::many(SEEDS, |test| async move {
        let ctx = SimulatedExecutionContext::new(test);
        let request = Rc::new(ctx.request(ctx.create_session()));
        let (status, body) = handler::handle(&request, "/leak", "x", no_log).await;
        assert_eq!(status, 500, "{body}");
        assert!(body.contains("leaked 1 task(s)"), "{body}");
        assert!(body.contains("handler.rs"), "names the spawn site: {body}");
    });
}

#[test]
fn timers_fire_in_deadline_order() {
    TestScheduler::many(SEEDS, |test| async move {
        let ctx = SimulatedExecutionContext::new(test.clone());
        let request = Rc::new(ctx.request(ctx.create_session()));
        let start = test.now();
        let served = handler::handle(&request, "/timers", "t", no_log).await;
        assert_eq!(served, (200, "fired 1,2,0".into()));
        assert_eq!(
            test.now() - start,
            Duration::from_millis(30),
            "virtual time"
        );
    });
}
