//! Ordering bugs: among 3+ tasks one particular message must not come first, and a test
//! body that races the task it spawned.

use std::sync::Arc;

use unified_scheduler::{Scheduler, yield_now};

use super::{Bug, BugFuture, Variant, read, shared, write};

pub fn bugs() -> Vec<Bug> {
    vec![
        Bug {
            name: "shutdown_first",
            source: "ordering among 4 tasks: the slow shutdown message must not come first",
            body: shutdown_first,
        },
        Bug {
            name: "body_races_task",
            source: "the test body writes, yields and reads while its own task resets",
            body: body_races_task,
        },
    ]
}

/// Three data senders and a shutdown sender that is three steps slower; a consumer that
/// sees shutdown first drops the data.
fn shutdown_first(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let log = shared(Vec::<&'static str>::new());
        let data: Vec<_> = (0..3)
            .map(|_| {
                let log = log.clone();
                s.spawn(async move {
                    yield_now().await;
                    log.lock().unwrap().push("data");
                })
            })
            .collect();
        let data = if v == Variant::Fixed {
            // The fix: shutdown is sent once every data sender is done.
            for sender in data {
                sender.await;
            }
            Vec::new()
        } else {
            data
        };
        let shutdown = {
            let log = log.clone();
            s.spawn(async move {
                for _ in 0..3 {
                    yield_now().await;
                }
                log.lock().unwrap().push("shutdown");
            })
        };
        for sender in data {
            sender.await;
        }
        shutdown.await;
        let log = read(&log);
        match log.first() {
            Some(&"shutdown") => Err(format!("shutdown_first: shutdown came first: {log:?}")),
            _ => Ok(()),
        }
    })
}

/// The body sets a config, yields once and expects to read it back; the task it spawned
/// resets the config after three steps of its own.
fn body_races_task(s: Arc<dyn Scheduler>, v: Variant) -> BugFuture {
    Box::pin(async move {
        let config = shared("default");
        let reset = {
            let config = config.clone();
            s.spawn(async move {
                yield_now().await;
                yield_now().await;
                write(&config, "default");
            })
        };
        if v == Variant::Fixed {
            reset.await; // the fix: the body waits for its task before relying on the state
            write(&config, "custom");
            yield_now().await;
            return check_config(read(&config));
        }
        write(&config, "custom");
        yield_now().await;
        let seen = read(&config);
        reset.await;
        check_config(seen)
    })
}

fn check_config(seen: &str) -> Result<(), String> {
    if seen == "custom" {
        Ok(())
    } else {
        Err(format!(
            "body_races_task: read {seen:?} after writing \"custom\""
        ))
    }
}
