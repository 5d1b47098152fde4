//! What a strategy learns from an earlier run of the same test: its number of choice points
//! (PCT's `k`) and, per spawn site, how many steps a task from there takes (URW's estimates).

use ::core::panic::Location;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use super::{TestScheduler, TestSchedulerConfig};
use crate::core::TaskId;

/// A spawn site, as a key: file, line, column.
pub(super) type Site = (&'static str, u32, u32);

pub(super) fn site(at: &'static Location<'static>) -> Site {
    (at.file(), at.line(), at.column())
}

/// Steps per task by spawn site, averaged over the tasks of each site (rounded up).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SiteSteps {
    sites: BTreeMap<Site, u64>,
    /// What a task of a site not seen weighs: the average over every task seen, or 1.
    unknown: u64,
}

impl SiteSteps {
    pub(super) fn estimate(&self, site: &Site) -> u64 {
        self.sites.get(site).copied().unwrap_or(self.unknown)
    }
}

impl TestSchedulerConfig {
    /// Takes what [`Strategy::Pct`](crate::Strategy::Pct) and
    /// [`Strategy::Urw`](crate::Strategy::Urw) learn from an earlier run of the same test:
    /// its number of choice points, picks among two or more runnables
    /// ([`steps_hint`](Self::steps_hint)), and, when that run kept its whole
    /// schedule ([`record_schedule`](Self::record_schedule)), the steps per task of each
    /// spawn site. The runners do this themselves, once per run, from the uniform walk of
    /// the run's first seed.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{Scheduler, Strategy, TestScheduler, TestSchedulerConfig};
    ///
    /// let workload = |config: TestSchedulerConfig| {
    ///     let test = Arc::new(TestScheduler::with_config(config));
    ///     let scheduler: Arc<dyn Scheduler> = test.clone();
    ///     for _ in 0..3 {
    ///         scheduler
    ///             .spawn(async { futures_lite::future::yield_now().await })
    ///             .detach();
    ///     }
    ///     test.run_until_parked();
    ///     test
    /// };
    /// let first = workload(TestSchedulerConfig::new().seed(5).record_schedule(true));
    /// let config = TestSchedulerConfig::new()
    ///     .seed(5)
    ///     .strategy(Strategy::Urw)
    ///     .learn_from(&first);
    /// // 6 steps, of which the last (one task left) was no choice.
    /// assert!(matches!(config.steps_hint, Some(1..=5)));
    /// assert_eq!(workload(config).steps(), 6);
    /// ```
    #[must_use]
    pub fn learn_from(mut self, run: &TestScheduler) -> Self {
        let steps = run.steps();
        self.steps_hint = Some(run.lock().choice_points.max(1));
        self.learn_seed = Some(run.seed());
        let schedule = run.recent_schedule();
        if schedule.len() as u64 == steps {
            let mut per_task: BTreeMap<TaskId, (Site, u64)> = BTreeMap::new();
            for step in &schedule {
                per_task
                    .entry(step.task.id)
                    .or_insert((site(step.task.spawned_at), 0))
                    .1 += 1;
            }
            let mut sums: BTreeMap<Site, (u64, u64)> = BTreeMap::new();
            for (site, steps) in per_task.values() {
                let sum = sums.entry(*site).or_insert((0, 0));
                sum.0 += steps;
                sum.1 += 1;
            }
            let tasks = per_task.len() as u64;
            self.site_steps = Some(Arc::new(SiteSteps {
                sites: sums
                    .into_iter()
                    .map(|(site, (steps, tasks))| (site, steps.div_ceil(tasks)))
                    .collect(),
                unknown: steps.div_ceil(tasks.max(1)).max(1),
            }));
        }
        self
    }
}
