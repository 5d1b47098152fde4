//! The shapes PCT is built for (Burckhardt et al., ASPLOS 2010): a bug of depth d needs d
//! ordering constraints, one of them a task finishing a long run of steps before another
//! takes its next one. A uniform walk pays 1/2 per step of that run; PCT pays one
//! well-placed priority change.

use std::sync::Arc;

use unified_scheduler::{Scheduler, yield_now};

use super::{AsyncLock, Bug, BugFuture, Variant, read, shared, write};

/// The long run: more steps than a uniform walk over 1,000 seeds can expect to see in a row.
const RUN: usize = 12;

pub fn bugs() -> Vec<Bug> {
    vec![
        Bug {
            name: "pct_depth2_run12",
            source: "PCT depth 2: B starts after A, then finishes 12 steps before A's second",
            body: depth2,
        },
        Bug {
            name: "pct_depth3_run12",
            source: "PCT depth 3: A1 < B1 < A's 12-step run < B2",
            body: depth3,
        },
    ]
}

#[derive(Clone, Copy, Default)]
struct Seen {
    a_started: bool,
    b_started: bool,
    b_saw_a: bool,
    a_saw_b: bool,
    a_done: bool,
    b_done: bool,
}

/// Constraints: A1 < B1, and B's last step < A2.
fn depth2(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let seen = shared(Seen::default());
        let lock = AsyncLock::new();
        let a = {
            let (seen, lock) = (seen.clone(), lock.clone());
            s.spawn(async move {
                let _guard = v.guard(&lock).await;
                seen.lock().unwrap().a_started = true;
                yield_now().await;
                let now = read(&seen);
                if now.b_saw_a && now.b_done {
                    Err(format!(
                        "pct_depth2_run12: B ran {RUN} steps between A's two"
                    ))
                } else {
                    Ok(())
                }
            })
        };
        let b = {
            let (seen, lock) = (seen.clone(), lock.clone());
            s.spawn(async move {
                let _guard = v.guard(&lock).await;
                let a_started = read(&seen).a_started;
                seen.lock().unwrap().b_saw_a = a_started;
                for _ in 0..RUN {
                    yield_now().await;
                }
                seen.lock().unwrap().b_done = true;
            })
        };
        b.await;
        a.await
    })
}

/// Constraints: A1 < B1, B1 < A2, and A's last step < B2.
fn depth3(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let seen = shared(Seen::default());
        let lock = AsyncLock::new();
        let a = {
            let (seen, lock) = (seen.clone(), lock.clone());
            s.spawn(async move {
                let _guard = v.guard(&lock).await;
                seen.lock().unwrap().a_started = true;
                yield_now().await;
                let b_started = read(&seen).b_started;
                seen.lock().unwrap().a_saw_b = b_started;
                for _ in 0..RUN {
                    yield_now().await;
                }
                seen.lock().unwrap().a_done = true;
            })
        };
        let b = {
            let (seen, lock) = (seen.clone(), lock.clone());
            s.spawn(async move {
                let _guard = v.guard(&lock).await;
                let mut now = read(&seen);
                now.b_saw_a = now.a_started;
                now.b_started = true;
                write(&seen, now);
                yield_now().await;
                let now = read(&seen);
                if now.b_saw_a && now.a_saw_b && now.a_done {
                    Err(format!(
                        "pct_depth3_run12: A ran {RUN} steps between B's two"
                    ))
                } else {
                    Ok(())
                }
            })
        };
        a.await;
        b.await
    })
}
