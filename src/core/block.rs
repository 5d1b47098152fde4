//! Blocking helpers on `dyn Scheduler` (need `std`: they block an OS thread).

use ::core::future::Future;
use ::core::pin::{Pin, pin};
use ::core::sync::atomic::{AtomicBool, Ordering};
use ::core::task::{Context, Waker};
use ::core::time::Duration;
use alloc::boxed::Box;
use alloc::sync::Arc;

use super::scheduler::{Driven, Scheduler};
use super::unparker::Unparker;

impl dyn Scheduler {
    /// Runs `future` to completion on the calling thread, parking while it waits.
    ///
    /// Under the `TestScheduler` this runs the other tasks and moves virtual time instead
    /// of sleeping.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let a = scheduler.spawn(async { 20 });
    /// let b = scheduler.spawn(async { 22 });
    /// assert_eq!(scheduler.block(async { a.await + b.await }), 42);
    /// ```
    #[track_caller]
    pub fn block<F: Future>(&self, future: F) -> F::Output {
        let mut output = None;
        let outcome = {
            let mut driver = pin!(async {
                output = Some(future.await);
            });
            self.drive(driver.as_mut(), None)
        };
        match output {
            Some(output) if outcome == Driven::Ready => output,
            _ => panic!(
                "the scheduler's `drive` returned without finishing the future although no \
                 timeout was given; that `Scheduler` implementation is wrong"
            ),
        }
    }

    /// Runs `future` on the calling thread for at most `timeout`: `Ok(output)` if it
    /// finished, or `Err(future)` with the still-pending future, unharmed, so no work is
    /// lost. The future is polled at least once, even with a zero timeout.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let slow = scheduler.timer(Duration::from_millis(20));
    /// let slow = match scheduler.block_with_timeout(Duration::ZERO, slow) {
    ///     Ok(()) => unreachable!("a 20 ms timer cannot be done at once"),
    ///     Err(pending) => pending,
    /// };
    /// assert!(scheduler.block_with_timeout(Duration::from_secs(10), slow).is_ok());
    /// ```
    #[track_caller]
    pub fn block_with_timeout<F: Future>(
        &self,
        timeout: Duration,
        future: F,
    ) -> Result<F::Output, Pin<Box<F>>> {
        let mut future = Box::pin(future);
        let mut output = None;
        {
            let mut driver = pin!(async {
                output = Some(future.as_mut().await);
            });
            let _ = self.drive(driver.as_mut(), Some(timeout)); // `output` says how it ended
        }
        output.ok_or(future)
    }
}

/// The default [`Scheduler::drive`]: poll, then park until woken or out of time.
///
/// The waker sets a flag of this call and unparks the calling thread. The flag is what
/// says "poll again": a nested `block` on the same thread may consume the unpark meant for
/// this one, but never the flag.
pub(crate) fn park_until_ready<S: Scheduler + ?Sized>(
    scheduler: &S,
    mut future: Pin<&mut dyn Future<Output = ()>>,
    timeout: Option<Duration>,
) -> Driven {
    let woken = Arc::new(Woken {
        flag: AtomicBool::new(false),
        unparker: scheduler.unparker(),
    });
    let waker = Waker::from(woken.clone());
    let mut cx = Context::from_waker(&waker);
    // `None` inside: the deadline is past what the clock can represent, i.e. never.
    let deadline = timeout.map(|timeout| scheduler.now().checked_add(timeout));
    loop {
        if future.as_mut().poll(&mut cx).is_ready() {
            return Driven::Ready;
        }
        loop {
            let park_for = match deadline {
                None | Some(None) => None,
                Some(Some(deadline)) => {
                    let left = deadline.saturating_duration_since(scheduler.now());
                    if left.is_zero() {
                        return Driven::TimedOut;
                    }
                    Some(left)
                }
            };
            if woken.flag.swap(false, Ordering::AcqRel) {
                break;
            }
            let _ = scheduler.park(park_for); // the flag says whether to poll again
        }
    }
}

/// The waker of one `park_until_ready` call.
struct Woken {
    flag: AtomicBool,
    unparker: Unparker,
}

impl alloc::task::Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.flag.store(true, Ordering::Release);
        self.unparker.unpark();
    }
}
