//! Bugs that real async code has: state read before an `.await` and written after it,
//! cancellation between two writes, locks taken in opposite orders.

use std::collections::HashMap;
use std::sync::Arc;

use unified_scheduler::{Scheduler, yield_now};

use super::{AsyncLock, Bug, BugFuture, Variant, read, shared, write};

pub fn bugs() -> Vec<Bug> {
    vec![
        Bug {
            name: "lost_update",
            source: "async: three tasks read a counter, await, write it back",
            body: lost_update,
        },
        Bug {
            name: "cache_check_then_act",
            source: "async: three requests miss one key; a second fetches while the first's is in flight",
            body: cache_check_then_act,
        },
        Bug {
            name: "cancel_torn_state",
            source: "async: a transfer cancelled at its await leaves the debit without the credit",
            body: cancel_torn_state,
        },
        Bug {
            name: "lock_order_deadlock",
            source: "async: two async locks taken in opposite orders, one task after a step of work",
            body: lock_order_deadlock,
        },
        Bug {
            name: "update_after_delete",
            source: "async: a delete sent after an update arrives first, the key comes back",
            body: update_after_delete,
        },
    ]
}

fn lost_update(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let counter = shared(0u32);
        let lock = AsyncLock::new();
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let (counter, lock) = (counter.clone(), lock.clone());
                s.spawn(async move {
                    let _guard = v.guard(&lock).await;
                    let seen = read(&counter);
                    yield_now().await; // e.g. a write to storage
                    write(&counter, seen + 1);
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
        match read(&counter) {
            3 => Ok(()),
            n => Err(format!("lost_update: counter {n}, expected 3")),
        }
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    Loading,
    Ready(u32),
}

fn cache_check_then_act(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let cache = shared(HashMap::<&'static str, Entry>::new());
        let fetches = shared(0u32);
        // Three requests; a fetch takes two steps (connect, read), so a request that
        // checks while one is in flight fetches again.
        let tasks: Vec<_> = (0..3)
            .map(|_| {
                let (cache, fetches) = (cache.clone(), fetches.clone());
                s.spawn(async move {
                    let miss = {
                        let mut cache = cache.lock().unwrap();
                        let miss = !cache.contains_key("key");
                        // The fix: claim the key in the same step as the check.
                        if miss && v == Variant::Fixed {
                            cache.insert("key", Entry::Loading);
                        }
                        miss
                    };
                    if !miss {
                        return;
                    }
                    yield_now().await; // the fetch: connect
                    yield_now().await; // and read
                    *fetches.lock().unwrap() += 1;
                    cache.lock().unwrap().insert("key", Entry::Ready(7));
                })
            })
            .collect();
        for task in tasks {
            task.await;
        }
        let ready = read(&cache).get("key") == Some(&Entry::Ready(7));
        match read(&fetches) {
            1 if ready => Ok(()),
            n => Err(format!("cache_check_then_act: {n} fetches of one key")),
        }
    })
}

/// The body cancels (drops) a transfer after one step of its own, as a timeout would.
fn cancel_torn_state(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let accounts = shared((100i32, 0i32));
        let transfer = {
            let accounts = accounts.clone();
            s.spawn(async move {
                if v == Variant::Buggy {
                    accounts.lock().unwrap().0 -= 10;
                    yield_now().await; // the cancellation point
                    accounts.lock().unwrap().1 += 10;
                } else {
                    // The fix: await first, then commit both writes in one step.
                    yield_now().await;
                    let mut accounts = accounts.lock().unwrap();
                    accounts.0 -= 10;
                    accounts.1 += 10;
                }
            })
        };
        yield_now().await;
        drop(transfer);
        let (from, to) = read(&accounts);
        if from + to == 100 {
            Ok(())
        } else {
            Err(format!(
                "cancel_torn_state: {from} + {to} != 100 after the cancel"
            ))
        }
    })
}

/// Deadlocks when each task holds its first lock before the other takes its second: the
/// body never finishes, which the tool reports (the `TestScheduler`'s stuck report,
/// shuttle's deadlock panic).
fn lock_order_deadlock(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let (a, b) = (AsyncLock::new(), AsyncLock::new());
        let ab = {
            let (a, b) = (a.clone(), b.clone());
            s.spawn(async move {
                yield_now().await; // a step of work before it needs the locks
                let _a = a.lock().await;
                yield_now().await;
                let _b = b.lock().await;
            })
        };
        let ba = {
            // The fix: both take `a` first.
            let (first, second) = match v {
                Variant::Buggy => (b.clone(), a.clone()),
                Variant::Fixed => (a.clone(), b.clone()),
            };
            s.spawn(async move {
                let _first = first.lock().await;
                yield_now().await;
                let _second = second.lock().await;
            })
        };
        ab.await;
        ba.await;
        Ok(())
    })
}

/// An update and, later, a delete of one key, each sent by a task after some work; the
/// store applies them in arrival order.
fn update_after_delete(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let store = shared(HashMap::<&'static str, u32>::new());
        let update = {
            let store = store.clone();
            s.spawn(async move {
                yield_now().await;
                yield_now().await;
                store.lock().unwrap().insert("key", 2);
            })
        };
        let update = if v == Variant::Fixed {
            update.await; // the fix: the delete waits for the update it follows
            None
        } else {
            Some(update)
        };
        let delete = {
            let store = store.clone();
            s.spawn(async move {
                yield_now().await;
                store.lock().unwrap().remove("key");
            })
        };
        if let Some(update) = update {
            update.await;
        }
        delete.await;
        match read(&store).get("key") {
            None => Ok(()),
            Some(value) => Err(format!(
                "update_after_delete: deleted key is back = {value}"
            )),
        }
    })
}
