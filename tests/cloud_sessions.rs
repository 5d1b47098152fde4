//! Request sessions on the `TestScheduler`: every property over many seeds, and what only
//! a seeded scheduler shows (requests interleave differently by seed, the same seed replays
//! the same interleaving).

mod common;
mod sessions;

use std::future::Future;
use std::sync::{Arc, Mutex};

use unified_scheduler::{Scheduler, SimulatedExecutionContext, TestScheduler};

/// Seeds per property: enough interleavings to matter, cheap on virtual time.
const SEEDS: u64 = 40;

fn on_test_scheduler<F, Fut>(property: F)
where
    F: Fn(Arc<dyn Scheduler>) -> Fut,
    Fut: Future<Output = ()>,
{
    TestScheduler::many(SEEDS, |test| property(test));
}

sessions::suite!(on_test_scheduler);

/// The order in which the steps of three interleaved requests ran, under `seed`.
fn interleaving(seed: u64) -> Vec<(usize, u32)> {
    let steps = Arc::new(Mutex::new(Vec::new()));
    let record = steps.clone();
    TestScheduler::with_seed(seed, move |test| {
        let record = record.clone();
        async move {
            let ctx = SimulatedExecutionContext::new(test);
            let served = ctx.simulate_requests(3, move |i, request| {
                let record = record.clone();
                async move {
                    for step in 0..3 {
                        record.lock().unwrap().push((i, step));
                        // A sub-request on the background: requests resume in the order
                        // their sub-requests finish, which the seed decides. (Foreground
                        // tasks alone run in FIFO order, as on gpui's main thread.)
                        request.context().spawn(async {}).await.unwrap();
                    }
                }
            });
            served.await.unwrap();
        }
    });
    Arc::try_unwrap(steps).unwrap().into_inner().unwrap()
}

#[test]
fn requests_interleave_by_seed_and_replay_exactly() {
    let orders: Vec<_> = (0..20).map(interleaving).collect();
    let mut distinct = orders.clone();
    distinct.sort();
    distinct.dedup();
    assert!(
        distinct.len() >= 2,
        "20 seeds gave one interleaving: {:?}",
        distinct[0]
    );
    for (seed, order) in (0..5).zip(&orders) {
        assert_eq!(&interleaving(seed), order, "seed {seed} did not replay");
    }
}
