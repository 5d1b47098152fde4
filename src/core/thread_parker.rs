//! The calling thread's parker: what `park` and `unparker` mean on every scheduler that
//! blocks an OS thread. One per thread, as in tokio and `parking`, so threads blocking at
//! once never take each other's wakeups; `parking` keeps an unpark that comes before the
//! park, so none is lost either.

use ::core::time::Duration;

use super::scheduler::Park;
use super::unparker::Unparker;

std::thread_local! {
    static PARKER: (parking::Parker, parking::Unparker, Unparker) = {
        let (parker, unparker) = parking::pair();
        let waker = Unparker::from(unparker.clone());
        (parker, unparker, waker)
    };
}

/// Parks the calling thread until its unparker is used or `timeout` passes.
pub(crate) fn park(timeout: Option<Duration>) -> Park {
    PARKER.with(|(parker, _, _)| match timeout {
        None => {
            parker.park();
            Park::Unparked
        }
        Some(timeout) => unparked_if(parker.park_timeout(timeout)),
    })
}

/// Parks the calling thread until its unparker is used or `deadline` passes.
pub(crate) fn park_deadline(deadline: std::time::Instant) -> Park {
    PARKER.with(|(parker, _, _)| unparked_if(parker.park_deadline(deadline)))
}

fn unparked_if(unparked: bool) -> Park {
    if unparked {
        Park::Unparked
    } else {
        Park::TimedOut
    }
}

/// The calling thread's unparker, as a `Waker`-backed [`Unparker`].
pub(crate) fn unparker() -> Unparker {
    PARKER.with(|(_, _, waker)| waker.clone())
}

/// The calling thread's unparker, as `parking`'s type (no allocation to wake it).
#[cfg_attr(not(feature = "test-scheduler"), allow(dead_code))] // the TestScheduler's
pub(crate) fn raw_unparker() -> parking::Unparker {
    PARKER.with(|(_, unparker, _)| unparker.clone())
}
