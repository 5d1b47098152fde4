//! Hints added to a failing seed's message when its panic is one we recognise: code that
//! needs another runtime (tokio's) called under the `TestScheduler`.

use alloc::string::String;

/// What tokio's runtime-only calls say when there is no tokio runtime: `tokio::spawn`
/// ("must be called from the context of a Tokio 1.x runtime") and `tokio::time`
/// ("there is no reactor running").
const TOKIO_RUNTIME_PANICS: [&str; 2] = ["Tokio 1.x runtime", "there is no reactor running"];

/// `message`, with a line on what to do when it is one we recognise.
pub(super) fn with_hints(mut message: String) -> String {
    if TOKIO_RUNTIME_PANICS
        .iter()
        .any(|needle| message.contains(needle))
    {
        message.push_str(
            "\nTestScheduler: this is tokio's runtime, which the TestScheduler is not: \
             `tokio::spawn`, `tokio::time` (sleep, timeout, interval), `tokio::net` and \
             `tokio::fs` need a tokio runtime. Under the TestScheduler use the scheduler's \
             own `spawn`, `timer`, `timeout` and `interval` (on `Arc<dyn Scheduler>`, or via \
             `SchedulerExt`); `tokio::sync` works as it is.",
        );
    }
    message
}
