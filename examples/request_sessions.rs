//! Find a request handler that leaks a task past its response, by seed, and show the fix
//! clean.
//!
//! The handler asks a primary and a replica for the same record and answers with whichever
//! comes first. The buggy one lets the slower lookup "finish in the background": in some
//! interleavings it has already finished when the response goes out (no harm), in others it
//! is still running, and on Cloudflare Workers it would be cancelled mid-flight once the
//! response is sent. Each request is a session of a `SimulatedExecutionContext`; the
//! TestScheduler tries seed after seed until one leaves the lookup running, and the session
//! check names the task and the line that spawned it. The fixed handler cancels the loser.
//!
//! Run it: `cargo run --example request_sessions`

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use unified_scheduler::{
    ExecutionContext, SessionTask, SimulatedExecutionContext, TestScheduler, TestSchedulerConfig,
};

/// What to do with the slower of the two lookups once the faster one has answered.
#[derive(Clone, Copy)]
enum Loser {
    /// The bug: let it run on, unawaited, past the response.
    LetItFinish,
    /// The fix: drop it, which cancels it.
    Cancel,
}

/// A lookup on one replica: a seeded number of scheduling steps under test.
fn lookup(ctx: &SimulatedExecutionContext, replica: &'static str) -> SessionTask<String> {
    let delay = ctx.scheduler().simulate_random_delay();
    ctx.spawn(async move {
        delay.await;
        format!("record from the {replica}")
    })
}

/// The request handler: the first of two lookups wins.
async fn handle(ctx: SimulatedExecutionContext, loser: Loser) -> String {
    let mut lookups = [Some(lookup(&ctx, "primary")), Some(lookup(&ctx, "replica"))];
    let winner = poll_fn(|cx| {
        for slot in &mut lookups {
            if let Some(task) = slot {
                if let Poll::Ready(record) = Pin::new(task).poll(cx) {
                    *slot = None;
                    return Poll::Ready(record.expect("a lookup is never cancelled here"));
                }
            }
        }
        Poll::Pending
    })
    .await;
    for task in lookups.into_iter().flatten() {
        match loser {
            Loser::LetItFinish => task.detach(),
            Loser::Cancel => drop(task),
        }
    }
    // Logging may outlive the response: that is what `wait_until` is for.
    ctx.wait_until(Box::pin(async { Ok(()) }))
        .expect("a handler runs in its session, on the main thread");
    winner
}

/// Four requests at once, each in its own session, each session checked.
async fn four_requests(test: Arc<TestScheduler>, loser: Loser) {
    let ctx = SimulatedExecutionContext::new(test);
    let responses = ctx
        .simulate_requests(4, |_, request| handle(request.context().clone(), loser))
        .await;
    if let Err(error) = responses {
        panic!("{error}");
    }
}

const SEEDS: u64 = 200;

fn main() {
    // The search panics on purpose; keep the output to our own summary.
    std::panic::set_hook(Box::new(|_| {}));

    println!("Trying {SEEDS} seeds for a request that leaks a task past its response...");
    let leaky = |test| four_requests(test, Loser::LetItFinish);
    let failures: Vec<_> = (0..SEEDS)
        .filter_map(|seed| TestSchedulerConfig::new().seed(seed).try_run(leaky).err())
        .collect();
    let Some(failure) = failures.first() else {
        println!("No seed failed: the leak was not found.");
        std::process::exit(1);
    };
    println!(
        "  {} of {SEEDS} seeds leave a lookup running; the first, seed {}: {}",
        failures.len(),
        failure.seed,
        failure.message
    );
    println!("  replay it with: {}", failure.replay_command);

    println!("Replaying seed {}...", failure.seed);
    let replay = TestSchedulerConfig::new()
        .seed(failure.seed)
        .try_run(leaky)
        .expect_err("the same seed must fail the same way");
    assert_eq!(replay.message, failure.message);
    println!("  same failure.");

    println!("Running the fixed handler over the same {SEEDS} seeds...");
    match TestSchedulerConfig::new().try_run_many(SEEDS, |test| four_requests(test, Loser::Cancel))
    {
        Ok(()) => println!("  every session is clean: the fix holds."),
        Err(failure) => {
            println!("  the fixed handler failed too: {failure}");
            std::process::exit(1);
        }
    }
}
