//! A failing seed's schedule, for its report: taken from the scheduler as the seed's panic
//! unwinds out of it, and handed to the runner, which builds the `SeedFailure`, on the
//! same thread.

use ::core::cell::RefCell;
use ::core::fmt::Write;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::TestScheduler;
use super::schedule_log::ScheduleStep;

std::thread_local! {
    /// The schedule of the seed that failed last on this thread, and its step count.
    static FAILED: RefCell<Option<(Vec<ScheduleStep>, u64)>> = const { RefCell::new(None) };
}

/// Takes the scheduler's schedule if it is dropped while the seed's panic unwinds.
pub(super) struct CaptureOnPanic<'a>(pub(super) &'a TestScheduler);

impl Drop for CaptureOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let captured = {
                let state = self.0.lock();
                (state.schedule.recent_or_all(), state.schedule.steps())
            };
            FAILED.with(|slot| *slot.borrow_mut() = Some(captured));
        }
    }
}

/// The schedule captured for the seed that just failed on this thread (empty if none).
pub(super) fn take_failed() -> (Vec<ScheduleStep>, u64) {
    FAILED
        .with(|slot| slot.borrow_mut().take())
        .unwrap_or_default()
}

/// The schedule as the report prints it: a heading that says what part it is, one step a
/// line.
pub(super) fn describe(seed: u64, schedule: &[ScheduleStep], total_steps: u64) -> String {
    let mut text = if schedule.len() as u64 == total_steps {
        format!("the schedule of seed {seed}, all {total_steps} steps:")
    } else {
        format!(
            "the last {} of the {total_steps} steps of seed {seed} (SCHEDULE=1 shows them all):",
            schedule.len()
        )
    };
    for step in schedule {
        let _ = write!(text, "\n  {step}");
    }
    text
}
