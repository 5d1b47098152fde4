//! Shrinking a failing seed's schedule: record it, replay it as a forced schedule
//! (`forced.rs`), and delta-debug its deviations from the default order down to the few
//! the failure needs. The runners print the result under a failure with `SHRINK=1`.

use ::core::cell::Cell;
use ::core::fmt;
use ::core::future::Future;
use ::core::panic::Location;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::LiveTask;
use super::forced::{Deviation, ForcedRun, ForcedSchedule};
use super::replay::{Origin, Replay};
use super::runner::SeedFailure;
use super::schedule_log::ScheduleStep;
use super::strategy::Strategy;
use super::{TestScheduler, TestSchedulerConfig};

/// At most this many replays of the seed per shrink.
pub(crate) const SHRINK_REPLAYS: usize = 300;

/// A failing seed's schedule cut down to the choices its failure needs, from
/// [`TestSchedulerConfig::shrink`]. Every step not listed follows the default order of a
/// [`ForcedSchedule`] (the task that ran last goes on, else the lowest task id); its
/// `Display` is the report `SHRINK=1` prints.
///
/// ```
/// use std::sync::Arc;
/// use unified_scheduler::{Scheduler, TestSchedulerConfig};
///
/// let shrunk = TestSchedulerConfig::new()
///     .shrink(|test| async move {
///         let scheduler: Arc<dyn Scheduler> = test;
///         scheduler.spawn(async { panic!("always") }).await;
///     })
///     .expect("the seed fails");
/// assert!(shrunk.steps.is_empty()); // the default order fails as well: no choice needed
/// assert!(shrunk.to_string().contains("0 of"), "{shrunk}");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ShrunkSchedule {
    /// The seed shrunk.
    pub seed: u64,
    /// The message the shrunk schedule fails with.
    pub message: String,
    /// The steps that matter: each choice kept, with its task (id, label, spawn site), its
    /// virtual time, and the task the default order would have run, as the shrunk
    /// schedule's run took them.
    pub steps: Vec<ShrunkStep>,
    /// How many choices the recorded schedule made that the default order would not have.
    pub choices_before: usize,
    /// How many steps the shrunk schedule's run took.
    pub total_steps: u64,
    /// How many times the seed was run while shrinking.
    pub replays: usize,
    forced: ForcedSchedule,
}

impl ShrunkSchedule {
    /// The shrunk choices, to replay with
    /// [`TestSchedulerConfig::forced_schedule`].
    ///
    /// ```
    /// use unified_scheduler::TestSchedulerConfig;
    ///
    /// use std::sync::Arc;
    /// use unified_scheduler::TestScheduler;
    ///
    /// let body = |_test: Arc<TestScheduler>| async { panic!("broken") };
    /// let shrunk = TestSchedulerConfig::new().shrink(body).unwrap();
    /// let replayed = TestSchedulerConfig::new()
    ///     .forced_schedule(shrunk.forced_schedule())
    ///     .try_run(body);
    /// # if std::env::var_os("SEED").is_none() {
    /// assert_eq!(replayed.unwrap_err().message, "broken");
    /// # }
    /// ```
    pub fn forced_schedule(&self) -> ForcedSchedule {
        self.forced.clone()
    }
}

/// One choice a [`ShrunkSchedule`] kept: the step, and the task the default order would
/// have run there instead (`None` if that task never ran, so its spawn site is unknown).
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use futures_lite::future::yield_now;
/// use unified_scheduler::{Scheduler, TestScheduler, TestSchedulerConfig};
///
/// // Fails when task 2 runs before task 1 has yielded once.
/// let body = |test: Arc<TestScheduler>| async move {
///     let scheduler: Arc<dyn Scheduler> = test;
///     let yielded = Arc::new(AtomicBool::new(false));
///     let (mine, theirs) = (yielded.clone(), yielded);
///     let first = scheduler.spawn(async move {
///         yield_now().await;
///         mine.store(true, Ordering::SeqCst);
///     });
///     let second = scheduler.spawn(async move { assert!(theirs.load(Ordering::SeqCst), "early") });
///     first.await;
///     second.await;
/// };
/// # if std::env::var_os("SEED").is_none() {
/// let seed = (0..100)
///     .find(|&seed| TestSchedulerConfig::new().seed(seed).try_run(body).is_err())
///     .unwrap();
/// let shrunk = TestSchedulerConfig::new().seed(seed).shrink(body).unwrap();
/// assert_eq!(shrunk.steps.len(), 1); // run task 2 first, instead of task 1
/// assert_eq!(shrunk.steps[0].step.task.id.as_u64(), 2);
/// assert_eq!(shrunk.steps[0].instead_of.unwrap().id.as_u64(), 1);
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShrunkStep {
    /// The step as it ran.
    pub step: ScheduleStep,
    /// The task the default order would have run.
    pub instead_of: Option<LiveTask>,
}

impl fmt::Display for ShrunkStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.step)?;
        if let Some(task) = &self.instead_of {
            write!(f, ", instead of {task}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ShrunkSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first_line = self.message.lines().next().unwrap_or_default();
        write!(
            f,
            "the shrunk schedule of seed {}: {} of {} choices kept ({} steps, {} replays); \
             every other step runs the task that ran last, else the lowest task id. It \
             still fails with: {first_line}",
            self.seed,
            self.steps.len(),
            self.choices_before,
            self.total_steps,
            self.replays
        )?;
        for step in &self.steps {
            write!(f, "\n  {step}")?;
        }
        Ok(())
    }
}

impl TestSchedulerConfig {
    /// Runs this config's seed of `body` (no env overrides), and if it fails, shrinks its
    /// schedule: the recorded schedule is replayed as a [`ForcedSchedule`], and its
    /// deviations from the default order are delta-debugged (ddmin's complement steps,
    /// at most 300 runs) to a set that still fails. "Still fails" means a
    /// panic whose message equals the original's with every digit run taken as the same
    /// (ids and counts may move; a different failure, such as the step budget running
    /// out, does not count). `None` when the seed passes, or when its recorded schedule,
    /// forced, does not fail again (something outside the scheduler decides the failure).
    /// Panic messages of the replays are not printed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, TestSchedulerConfig};
    ///
    /// let passes = TestSchedulerConfig::new().shrink(|test| async move {
    ///     let scheduler: Arc<dyn Scheduler> = test;
    ///     assert_eq!(scheduler.spawn(async { 1 }).await, 1);
    /// });
    /// assert!(passes.is_none());
    /// ```
    #[track_caller]
    pub fn shrink<F, Fut>(self, mut body: F) -> Option<ShrunkSchedule>
    where
        F: FnMut(Arc<TestScheduler>) -> Fut,
        Fut: Future<Output = ()>,
    {
        let replay = Replay::new(Origin::Caller(Location::caller()));
        let _quiet = QuietPanics::enter();
        let seed = self.seed;
        let base = self.check_determinism(false).record_schedule(false);
        let original = base
            .clone()
            .record_schedule(true)
            .run_seed(seed, None, &mut body, &replay)
            .err()?;
        let class = message_class(&original.message);
        let recorded = ForcedSchedule::new(original.schedule.iter().map(|s| (s.step, s.task.id)));
        let mut replays = 1;
        let mut attempt = |choices: &[Deviation], record: bool| {
            replays += 1;
            let run = ForcedRun::new(ForcedSchedule::new(
                choices.iter().map(|d| (d.step, d.task)),
            ));
            let mut config = base.clone().strategy(Strategy::UniformRandom);
            config.forced = Some(run.clone());
            config.record_schedule = record;
            match config.run_seed(seed, None, &mut body, &replay) {
                Err(failure) if message_class(&failure.message) == class => {
                    Some((run.deviations.lock().clone(), failure))
                }
                _ => None,
            }
        };
        let all: Vec<Deviation> = recorded
            .iter()
            .map(|(step, task)| Deviation {
                step,
                task,
                default: task,
            })
            .collect();
        let (deviations, _) = attempt(&all, false)?;
        let choices_before = deviations.len();
        // The budget counts the runs before (the original, the full forced replay) and after
        // (the recorded replay of what is kept).
        let kept = ddmin(deviations, SHRINK_REPLAYS - 3, |choices| {
            attempt(choices, false).map(|(taken, _)| taken)
        });
        let (kept, failure) = attempt(&kept, true)?;
        Some(shrunk(seed, choices_before, kept, &failure, replays))
    }
}

fn shrunk(
    seed: u64,
    choices_before: usize,
    kept: Vec<Deviation>,
    failure: &SeedFailure,
    replays: usize,
) -> ShrunkSchedule {
    let ran = |id| {
        failure
            .schedule
            .iter()
            .find(|s| s.task.id == id)
            .map(|s| s.task)
    };
    let steps = kept
        .iter()
        .filter_map(|d| {
            let step = *failure.schedule.iter().find(|s| s.step == d.step)?;
            let instead_of = ran(d.default);
            Some(ShrunkStep { step, instead_of })
        })
        .collect();
    ShrunkSchedule {
        seed,
        message: failure.message.clone(),
        steps,
        choices_before,
        total_steps: failure.total_steps,
        replays,
        forced: ForcedSchedule::new(kept.iter().map(|d| (d.step, d.task))),
    }
}

/// Zeller's ddmin, complements only: drops ever smaller chunks of `current` while what is
/// left still fails (`fails` returns the choices the failing run actually took, a subset
/// of those given), within `budget` calls. The empty set is tried first.
fn ddmin<T: Clone>(
    mut current: Vec<T>,
    budget: usize,
    mut fails: impl FnMut(&[T]) -> Option<Vec<T>>,
) -> Vec<T> {
    let mut calls = 0;
    if current.is_empty() {
        return current;
    }
    calls += 1;
    if let Some(taken) = fails(&[]) {
        return taken;
    }
    let mut n = 2;
    while current.len() >= 2 {
        let chunk = current.len().div_ceil(n);
        let mut reduced = false;
        for start in (0..current.len()).step_by(chunk) {
            if calls >= budget {
                return current;
            }
            calls += 1;
            let end = (start + chunk).min(current.len());
            let complement: Vec<T> = current[..start]
                .iter()
                .chain(&current[end..])
                .cloned()
                .collect();
            if let Some(taken) = fails(&complement) {
                current = taken;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
        }
        if !reduced {
            if n >= current.len() {
                break;
            }
            n = (2 * n).min(current.len());
        }
    }
    current
}

/// A message with every run of digits as `#`: the failure's class.
fn message_class(message: &str) -> String {
    let mut class = String::with_capacity(message.len());
    for c in message.chars() {
        if !c.is_ascii_digit() {
            class.push(c);
        } else if !class.ends_with('#') {
            class.push('#');
        }
    }
    class
}

std::thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// While alive, panics on this thread print nothing: the replays fail on purpose. The
/// hook that checks it wraps the one before, once, and passes every other panic on.
struct QuietPanics(bool);

impl QuietPanics {
    fn enter() -> Self {
        static WRAPPED: std::sync::Once = std::sync::Once::new();
        WRAPPED.call_once(|| {
            let before = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !QUIET.with(Cell::get) {
                    before(info);
                }
            }));
        });
        Self(QUIET.with(|quiet| quiet.replace(true)))
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        QUIET.with(|quiet| quiet.set(self.0));
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::{ddmin, message_class};

    #[test]
    fn ddmin_finds_the_pair_that_fails() {
        let all: Vec<u32> = (0..40).collect();
        let kept = ddmin(all, 300, |set| {
            (set.contains(&7) && set.contains(&31)).then(|| set.to_vec())
        });
        assert_eq!(kept, [7, 31]);
    }

    #[test]
    fn ddmin_keeps_to_its_budget() {
        let mut calls = 0;
        let all: Vec<u32> = (0..64).collect();
        let kept = ddmin(all, 5, |set| {
            calls += 1;
            (set.len() > 60).then(|| set.to_vec())
        });
        assert!(calls <= 5, "{calls} calls");
        assert!(kept.len() > 60);
    }

    #[test]
    fn the_class_of_a_message_ignores_its_numbers() {
        assert_eq!(
            message_class("task 12 saw 3"),
            message_class("task 4 saw 150")
        );
        assert_ne!(message_class("saw 3"), message_class("ran out of 3 steps"));
    }
}
