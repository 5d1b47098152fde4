//! Our `Scheduler` trait on top of AWS's `shuttle`, so a body written against
//! `Arc<dyn Scheduler>` runs unchanged under shuttle's schedulers: each of our tasks gets
//! one shuttle future (a worker) that runs the task's runnables as they are scheduled, and
//! blocking is shuttle's `block_on`. One shuttle task per task of ours, not one per poll,
//! so that PCT's priorities (and the event counts of shuttle 0.9's URW) follow our tasks.
#![allow(dead_code, unreachable_pub)]

use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};

use unified_scheduler::{Driven, Instant, Park, Runnable, Scheduler, TaskId, Unparker};

/// The runnables of one task of ours, waiting for its worker.
#[derive(Default)]
struct Mailbox(Mutex<(VecDeque<Runnable>, Option<Waker>)>);

/// The worker's wait for its task's next runnable.
struct Next(Arc<Mailbox>);

impl Future for Next {
    type Output = Runnable;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Runnable> {
        let mut mailbox = (self.0).0.lock().unwrap();
        match mailbox.0.pop_front() {
            Some(runnable) => Poll::Ready(runnable),
            None => {
                mailbox.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Valid only inside a shuttle execution (`shuttle::Runner::run`'s closure); one per
/// execution.
#[derive(Default)]
pub struct ShuttleScheduler {
    workers: Mutex<HashMap<TaskId, Arc<Mailbox>>>,
}

impl Scheduler for ShuttleScheduler {
    fn schedule(&self, runnable: Runnable) {
        let id = runnable.metadata().id;
        let (mailbox, new) = {
            let mut workers = self.workers.lock().unwrap();
            let new = !workers.contains_key(&id);
            (workers.entry(id).or_default().clone(), new)
        };
        let waker = {
            let mut slot = mailbox.0.lock().unwrap();
            slot.0.push_back(runnable);
            slot.1.take()
        };
        if new {
            // Detached (its handle dropped): a worker left waiting does not keep the
            // execution alive, and a finished task's worker just waits.
            drop(shuttle::future::spawn(async move {
                loop {
                    let runnable = Next(mailbox.clone()).await;
                    // A wake is no scheduling point to shuttle: make each step of ours one,
                    // as each is a choice of the TestScheduler's. `sleep` (a plain switch)
                    // rather than `yield_now`, which PCT takes as "deprioritize me".
                    shuttle::thread::sleep(Duration::ZERO);
                    runnable.run();
                }
            }));
        } else if let Some(waker) = waker {
            // Outside every lock: shuttle may switch tasks here.
            waker.wake();
        }
    }

    fn schedule_after(&self, _delay: Duration, runnable: Runnable) {
        // The corpus has no timers; shuttle has no clock to wait on.
        self.schedule(runnable);
    }

    fn park(&self, _timeout: Option<Duration>) -> Park {
        // Unused while `drive` is overridden; a yield lets shuttle run the other tasks.
        shuttle::thread::yield_now();
        Park::Unparked
    }

    fn unparker(&self) -> Unparker {
        Unparker::from_waker(Waker::noop().clone())
    }

    fn is_main_thread(&self) -> bool {
        false
    }

    fn now(&self) -> Instant {
        Instant::now()
    }

    fn drive(
        &self,
        future: Pin<&mut dyn Future<Output = ()>>,
        _timeout: Option<Duration>,
    ) -> Driven {
        // Shuttle parks the blocking thread until the future's waker fires, and reports a
        // deadlock when nothing else can run.
        shuttle::future::block_on(future);
        Driven::Ready
    }
}
