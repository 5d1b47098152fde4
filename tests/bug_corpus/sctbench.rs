//! Bugs after SCTBench (Thomson, Donaldson, Betts, PPoPP 2014), rewritten as async tasks:
//! each thread of the benchmark is a spawned task and each preemption point a `yield_now`.

use std::sync::Arc;

use unified_scheduler::{Scheduler, yield_now};

use super::{AsyncLock, Bug, BugFuture, Notify, Variant, read, shared, write};

pub fn bugs() -> Vec<Bug> {
    vec![
        Bug {
            name: "account",
            source: "SCTBench account: deposit and withdraw race on one balance",
            body: account,
        },
        Bug {
            name: "circular_buffer",
            source: "SCTBench circular_buffer: the element count is updated without a lock",
            body: circular_buffer,
        },
        Bug {
            name: "reorder_5",
            source: "SCTBench/CHESS reorder_5: 4 setters write a then b, a checker reads both",
            body: reorder_5,
        },
        Bug {
            name: "twostage_3",
            source: "SCTBench twostage_3: a two-stage update seen between its stages",
            body: twostage_3,
        },
        Bug {
            name: "wronglock",
            source: "SCTBench wronglock: one task guards the data with the wrong lock",
            body: wronglock,
        },
        Bug {
            name: "bluetooth_driver",
            source: "SCTBench bluetooth_driver (KISS): check-then-act on a stopping flag",
            body: bluetooth_driver,
        },
        Bug {
            name: "lazy01",
            source: "SCTBench lazy01: three tasks, the check fails only after both adds",
            body: lazy01,
        },
    ]
}

fn account(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let balance = shared(100i64);
        let lock = AsyncLock::new();
        let change = |delta: i64| {
            let (balance, lock) = (balance.clone(), lock.clone());
            async move {
                let _guard = v.guard(&lock).await;
                let seen = read(&balance);
                yield_now().await; // the read-modify-write is not atomic
                write(&balance, seen + delta);
            }
        };
        let deposit = s.spawn(change(50));
        let withdraw = s.spawn(change(-30));
        deposit.await;
        withdraw.await;
        match read(&balance) {
            120 => Ok(()),
            other => Err(format!("account: balance {other}, expected 120")),
        }
    })
}

/// A producer and a consumer on a ring of 2 slots; `num` counts the full slots. Each waits
/// for `num` to change by a wake, not a spin (under PCT a spinning task never lets the
/// other run): a lost update leaves one waiting for good, which the tool reports as stuck
/// (the `TestScheduler`) or deadlocked (shuttle).
fn circular_buffer(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    const ITEMS: u32 = 4;
    Box::pin(async move {
        let slots = shared([None::<u32>; 2]);
        let num = shared(0usize);
        let changed = Notify::default();
        let lock = AsyncLock::new();
        let update_num = {
            let (num, changed) = (num.clone(), changed.clone());
            move |delta: isize| {
                let (num, lock, changed) = (num.clone(), lock.clone(), changed.clone());
                async move {
                    let _guard = v.guard(&lock).await;
                    let seen = read(&num);
                    yield_now().await;
                    write(&num, seen.checked_add_signed(delta).unwrap_or(0));
                    changed.notify();
                }
            }
        };
        let producer = {
            let (slots, num, changed) = (slots.clone(), num.clone(), changed.clone());
            let update_num = update_num.clone();
            s.spawn(async move {
                for item in 0..ITEMS {
                    changed.until(|| read(&num) < 2).await;
                    slots.lock().unwrap()[item as usize % 2] = Some(item);
                    update_num(1).await;
                }
            })
        };
        let consumer = {
            let (slots, num, changed) = (slots.clone(), num.clone(), changed.clone());
            s.spawn(async move {
                for item in 0..ITEMS {
                    changed.until(|| read(&num) > 0).await;
                    let got = slots.lock().unwrap()[item as usize % 2].take();
                    if got != Some(item) {
                        return Err(format!("circular_buffer: read {got:?}, expected {item}"));
                    }
                    update_num(-1).await;
                }
                Ok(())
            })
        };
        producer.await;
        consumer.await
    })
}

fn reorder_5(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let ab = shared((0i32, 0i32));
        let lock = AsyncLock::new();
        let setters: Vec<_> = (0..4)
            .map(|_| {
                let (ab, lock) = (ab.clone(), lock.clone());
                s.spawn(async move {
                    let _guard = v.guard(&lock).await;
                    ab.lock().unwrap().0 = 1;
                    yield_now().await;
                    ab.lock().unwrap().1 = -1;
                })
            })
            .collect();
        let checker = {
            let (ab, lock) = (ab.clone(), lock.clone());
            s.spawn(async move {
                let _guard = v.guard(&lock).await;
                let a = read(&ab).0;
                yield_now().await;
                let b = read(&ab).1;
                match (a, b) {
                    (0, 0) | (1, -1) => Ok(()),
                    _ => Err(format!("reorder_5: saw a={a}, b={b}")),
                }
            })
        };
        for setter in setters {
            setter.await;
        }
        checker.await
    })
}

fn twostage_3(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let data = shared((0i32, 0i32));
        let lock = AsyncLock::new();
        let writer = {
            let (data, lock) = (data.clone(), lock.clone());
            s.spawn(async move {
                let _guard = v.guard(&lock).await;
                data.lock().unwrap().0 = 1;
                yield_now().await; // between the two stages
                let first = read(&data).0;
                data.lock().unwrap().1 = first + 1;
            })
        };
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let (data, lock) = (data.clone(), lock.clone());
                s.spawn(async move {
                    let _guard = v.guard(&lock).await;
                    let first = read(&data).0;
                    if first == 0 {
                        return Ok(());
                    }
                    yield_now().await;
                    let second = read(&data).1;
                    if second == first + 1 {
                        Ok(())
                    } else {
                        Err(format!("twostage_3: data1={first} but data2={second}"))
                    }
                })
            })
            .collect();
        writer.await;
        for reader in readers {
            reader.await?;
        }
        Ok(())
    })
}

/// Three tasks update `data` under lock A; the checker takes lock B (the fix: lock A).
fn wronglock(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let data = shared(0i32);
        let (lock_a, lock_b) = (AsyncLock::new(), AsyncLock::new());
        let adders: Vec<_> = (0..3)
            .map(|_| {
                let (data, lock_a) = (data.clone(), lock_a.clone());
                s.spawn(async move {
                    let _guard = lock_a.lock().await;
                    yield_now().await;
                    let seen = read(&data);
                    write(&data, seen + 1);
                })
            })
            .collect();
        let checker = {
            let data = data.clone();
            let lock = if v == Variant::Buggy { lock_b } else { lock_a };
            s.spawn(async move {
                let _guard = lock.lock().await;
                let before = read(&data);
                yield_now().await;
                let after = read(&data);
                if before == after {
                    Ok(())
                } else {
                    Err(format!(
                        "wronglock: data moved {before} -> {after} under the lock"
                    ))
                }
            })
        };
        for adder in adders {
            adder.await;
        }
        checker.await
    })
}

/// A driver's I/O entry checks `stopping`, then counts itself in; the stopper may slip in
/// between and declare the driver stopped.
fn bluetooth_driver(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    #[derive(Clone, Copy, Default)]
    struct Device {
        stopping: bool,
        pending_io: u32,
        stopped: bool,
    }
    Box::pin(async move {
        let device = shared(Device {
            pending_io: 1, // the driver's own reference
            ..Device::default()
        });
        let lock = AsyncLock::new();
        let io = {
            let (device, lock) = (device.clone(), lock.clone());
            s.spawn(async move {
                let _guard = v.guard(&lock).await;
                if read(&device).stopping {
                    return Ok(());
                }
                yield_now().await; // check-then-act: `stopping` may change here
                device.lock().unwrap().pending_io += 1;
                let now = read(&device);
                device.lock().unwrap().pending_io -= 1;
                if now.stopped {
                    Err("bluetooth_driver: I/O ran on a stopped device".to_string())
                } else {
                    Ok(())
                }
            })
        };
        let stopper = {
            let (device, lock) = (device.clone(), lock.clone());
            s.spawn(async move {
                device.lock().unwrap().stopping = true;
                yield_now().await;
                let _guard = v.guard(&lock).await;
                let mut d = device.lock().unwrap();
                d.pending_io -= 1;
                if d.pending_io == 0 {
                    d.stopped = true;
                }
            })
        };
        stopper.await;
        io.await
    })
}

/// Adds of 1 and 2, and a check that fails once both came first.
fn lazy01(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let data = shared(0i32);
        // The fix: the check runs before the adds are spawned (spawning may switch tasks,
        // as shuttle's does, so reading after the spawns is no fix).
        let early = (v == Variant::Fixed).then(|| read(&data));
        let adds: Vec<_> = [1, 2]
            .into_iter()
            .map(|n| {
                let data = data.clone();
                s.spawn(async move {
                    yield_now().await;
                    let seen = read(&data);
                    write(&data, seen + n);
                })
            })
            .collect();
        let check = {
            let data = data.clone();
            s.spawn(async move {
                yield_now().await;
                yield_now().await;
                match early.unwrap_or_else(|| read(&data)) {
                    seen if seen >= 3 => Err(format!("lazy01: data {seen}")),
                    _ => Ok(()),
                }
            })
        };
        for add in adds {
            add.await;
        }
        check.await
    })
}
