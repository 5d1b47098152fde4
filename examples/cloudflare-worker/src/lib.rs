//! The example worker of the end-to-end test (`e2e.test.mjs`, run by `ci/workers.sh`): each
//! request is a session of a `CloudflareExecutionContext` on the isolate's `WorkersScheduler`,
//! served by the handler in `handler.rs`, the same file the crate's native test
//! (`tests/cloud_worker_handler.rs`) runs on the `TestScheduler`.

mod handler;

use std::rc::Rc;

use unified_scheduler::CloudflareExecutionContext;
use worker::{Context, Env, Request, Response, Result, console_log, event};

fn log(line: &str) {
    console_log!("{line}");
}

#[event(fetch)]
async fn fetch(req: Request, _env: Env, ctx: Context) -> Result<Response> {
    let url = req.url()?;
    let id = url
        .query_pairs()
        .find(|(key, _)| key == "id")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let request = Rc::new(CloudflareExecutionContext::new(ctx));
    let (status, body) = handler::handle(&request, url.path(), &id, log).await;
    Response::ok(body).map(|response| response.with_status(status))
}
