//! Request sessions on the `LinuxDispatcher`: the same properties as on the `TestScheduler`
//! (`tests/sessions/`), on real threads and the real clock. Each property runs several times
//! on a fresh dispatcher, so a lost wakeup or a race between a task's end and the session's
//! check shows; every run is bounded by `common::LIMIT`.
//!
//! Linux and the BSDs only (the backend's OSes), so `--all-features` builds elsewhere.
#![cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]

mod common;
mod sessions;

use std::future::Future;
use std::sync::Arc;

use unified_scheduler::{LinuxDispatcher, Scheduler};

/// Runs per property, each on a fresh dispatcher.
const RUNS: usize = 5;

fn on_linux_dispatcher<F, Fut>(property: F)
where
    F: Fn(Arc<dyn Scheduler>) -> Fut,
    Fut: Future<Output = ()>,
{
    for run in 0..RUNS {
        let scheduler: Arc<dyn Scheduler> = Arc::new(LinuxDispatcher::new());
        if scheduler
            .block_with_timeout(common::LIMIT, property(scheduler.clone()))
            .is_err()
        {
            panic!(
                "run {run} did not finish within {:?}: a hang",
                common::LIMIT
            );
        }
    }
}

sessions::suite!(on_linux_dispatcher);
