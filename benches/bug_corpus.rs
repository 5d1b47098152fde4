//! Issue 15's measurement: every bug of tests/bug_corpus/ under each schedule strategy, ours
//! and shuttle's, over the same number of seeds (`CORPUS_SEEDS`, default 1,000). Per bug
//! and per strategy it prints the detection rate and the first failing seed, then the time
//! per seed of each strategy. `cargo bench --bench bug_corpus` (add `CORPUS_SEEDS=50` for a
//! quick run; `CORPUS_ONLY=account,lazy01` for some bugs; `2>/dev/null` hides shuttle's report
//! of each failing seed). A new strategy of ours is one more `ours(...)` line in `columns`.

#[path = "../tests/bug_corpus/mod.rs"]
mod bug_corpus;
#[path = "common/shuttle_adapter.rs"]
mod shuttle_adapter;

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bug_corpus::{Bug, Variant};
use shuttle::scheduler::{PctScheduler, RandomScheduler};
use shuttle_adapter::ShuttleScheduler;
use unified_scheduler::{Scheduler, Strategy, TestScheduler, TestSchedulerConfig};

/// How one seed of one strategy ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Run {
    Passed,
    Failed,
    /// Shuttle's PCT failed in its calibration iteration (not the strategy's own
    /// schedule), so the measured iteration never ran: counted apart, not as found.
    FailedCalibrating,
}

/// One strategy: runs a bug's buggy variant with one seed.
struct Column {
    name: &'static str,
    run: Box<dyn Fn(Bug, u64) -> Run>,
}

/// The hook for issue 15's strategies: a column of ours, from the config of each seed.
fn ours(name: &'static str, config_for: impl Fn(u64) -> TestSchedulerConfig + 'static) -> Column {
    Column {
        name,
        run: Box::new(move |bug, seed| {
            match bug_corpus::ours::run_once(bug, Variant::Buggy, config_for(seed)) {
                Ok(()) => Run::Passed,
                Err(_) => Run::Failed,
            }
        }),
    }
}

/// A strategy of ours that takes the run's length (PCT's `k`) and steps per spawn site
/// (URW's estimates) from a first run: learned once per bug, from a recorded uniform run of
/// seed 0 (`TestSchedulerConfig::learn_from`), so each seed is one run of the strategy alone
/// and its failures are its own. (Without that, the runners learn from a uniform run of each
/// seed first, and that run's failures would count as the strategy's.)
fn learning(name: &'static str, strategy: Strategy) -> Column {
    let learned: RefCell<HashMap<&'static str, TestSchedulerConfig>> = RefCell::default();
    Column {
        name,
        run: Box::new(move |bug, seed| {
            let base = learned
                .borrow_mut()
                .entry(bug.name)
                .or_insert_with(|| learn(bug, strategy))
                .clone();
            match bug_corpus::ours::run_once(bug, Variant::Buggy, base.seed(seed)) {
                Ok(()) => Run::Passed,
                Err(_) => Run::Failed,
            }
        }),
    }
}

/// `strategy`'s config with what a recorded uniform run of `bug` at seed 0 teaches, whether
/// or not the bug showed in it (the body reports it as an `Err`; a deadlock panics with the
/// stuck report, after the steps that led there).
fn learn(bug: Bug, strategy: Strategy) -> TestSchedulerConfig {
    let first = Arc::new(TestScheduler::with_config(
        TestSchedulerConfig::new().seed(0).record_schedule(true),
    ));
    let scheduler: Arc<dyn Scheduler> = first.clone();
    let ran = catch_unwind(AssertUnwindSafe(|| {
        let _ = scheduler.block((bug.body)(scheduler.clone(), Variant::Buggy));
    }));
    if ran.is_ok() {
        first.run_until_parked();
    }
    TestSchedulerConfig::new()
        .strategy(strategy)
        .learn_from(&first)
}

/// A column of shuttle's, from its scheduler for one seed. `warm_up`: the scheduler's first
/// iteration is a calibration run (PCT's oldest-first run that bounds the steps; in shuttle
/// 0.9, URW's walk that counts the events), so each seed runs two iterations and the bug is
/// checked in the second only; a failure shuttle itself reports in the first (a deadlock of
/// its oldest-first run) is [`Run::FailedCalibrating`].
fn shuttle<S>(
    name: &'static str,
    warm_up: bool,
    scheduler_for: impl Fn(u64) -> S + 'static,
) -> Column
where
    S: shuttle::scheduler::Scheduler + 'static,
{
    Column {
        name,
        run: Box::new(move |bug, seed| run_under_shuttle(bug, scheduler_for(seed), warm_up)),
    }
}

fn run_under_shuttle<S>(bug: Bug, scheduler: S, warm_up: bool) -> Run
where
    S: shuttle::scheduler::Scheduler + 'static,
{
    let mut config = shuttle::Config::new();
    config.failure_persistence = shuttle::FailurePersistence::None;
    let runner = shuttle::Runner::new(scheduler, config);
    let body = bug.body;
    // Counted as each iteration starts, so a failure is known to be the calibration's.
    let started = Arc::new(AtomicUsize::new(0));
    let iterations = started.clone();
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        runner.run(move || {
            let calibrating = warm_up && iterations.fetch_add(1, Ordering::Relaxed) == 0;
            let scheduler: Arc<dyn Scheduler> = Arc::new(ShuttleScheduler::default());
            let outcome = scheduler.block(body(scheduler.clone(), Variant::Buggy));
            if let (Err(message), false) = (outcome, calibrating) {
                panic!("{message}");
            }
        })
    }));
    match outcome {
        Ok(_) => Run::Passed,
        Err(_) if warm_up && started.load(Ordering::Relaxed) == 1 => Run::FailedCalibrating,
        Err(_) => Run::Failed,
    }
}

/// The table's columns. A strategy of issue 15 is one more line here, e.g.
/// `ours("ours: PCT d=3", |seed| TestSchedulerConfig::new().seed(seed)/* .strategy(..) */)`.
/// Shuttle's seeds are ours (`SHUTTLE_RANDOM_SEED`, if set, overrides them).
fn columns() -> Vec<Column> {
    vec![
        ours("ours: uniform walk", |seed| {
            TestSchedulerConfig::new()
                .seed(seed)
                .strategy(Strategy::UniformRandom)
        }),
        learning("ours: portfolio", Strategy::Portfolio),
        learning("ours: PCT d=1", Strategy::Pct { depth: 1 }),
        learning("ours: PCT d=2", Strategy::Pct { depth: 2 }),
        learning("ours: PCT d=3", Strategy::Pct { depth: 3 }),
        learning("ours: URW", Strategy::Urw),
        shuttle("shuttle: random", false, |seed| {
            RandomScheduler::new_from_seed(seed, 1)
        }),
        shuttle("shuttle: PCT d=2", true, |seed| {
            PctScheduler::new_from_seed(seed, 2, 2)
        }),
        shuttle("shuttle: PCT d=3", true, |seed| {
            PctScheduler::new_from_seed(seed, 3, 2)
        }),
    ]
}

/// How one column did on one bug.
struct Cell {
    failures: u64,
    calibration_failures: u64,
    first: Option<u64>,
    elapsed: Duration,
}

fn measure(column: &Column, bug: Bug, seeds: u64) -> Cell {
    let start = Instant::now();
    let mut cell = Cell {
        failures: 0,
        calibration_failures: 0,
        first: None,
        elapsed: Duration::ZERO,
    };
    for seed in 0..seeds {
        match (column.run)(bug, seed) {
            Run::Passed => {}
            Run::Failed => {
                cell.failures += 1;
                cell.first.get_or_insert(seed);
            }
            Run::FailedCalibrating => cell.calibration_failures += 1,
        }
    }
    cell.elapsed = start.elapsed();
    cell
}

fn main() {
    let seeds: u64 = std::env::var("CORPUS_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    // Thousands of expected panics (the bugs showing): keep their messages off the table.
    std::panic::set_hook(Box::new(|_| {}));
    let columns = columns();
    // `CORPUS_ONLY=account,lazy01` measures only those bugs.
    let only = std::env::var("CORPUS_ONLY").unwrap_or_default();
    let bugs: Vec<_> = bug_corpus::all()
        .into_iter()
        .filter(|bug| only.is_empty() || only.split(',').any(|name| name == bug.name))
        .collect();

    println!(
        "Bug corpus, {seeds} seeds per bug and strategy: detection rate (first failing seed)\n"
    );
    let header: Vec<_> = columns.iter().map(|c| c.name).collect();
    println!("| bug | {} |", header.join(" | "));
    println!("|---|{}", "---|".repeat(columns.len()));
    let mut totals = vec![(Duration::ZERO, 0u64, 0usize); columns.len()];
    for bug in &bugs {
        let cells: Vec<_> = columns
            .iter()
            .zip(&mut totals)
            .map(|(column, total)| {
                let cell = measure(column, *bug, seeds);
                total.0 += cell.elapsed;
                total.1 += seeds;
                total.2 += usize::from(cell.failures > 0);
                let first = cell.first.map_or("-".to_string(), |s| s.to_string());
                let rate = 100.0 * cell.failures as f64 / seeds as f64;
                match cell.calibration_failures {
                    0 => format!("{rate:.1}% ({first})"),
                    n => format!("{rate:.1}% ({first}), {n} failed calibrating"),
                }
            })
            .collect();
        println!("| {} | {} |", bug.name, cells.join(" | "));
    }
    let found: Vec<_> = totals
        .iter()
        .map(|t| format!("{}/{}", t.2, bugs.len()))
        .collect();
    println!("| **bugs found** | {} |", found.join(" | "));

    println!("\nTime per seed (mean over every bug's seeds)\n");
    println!("| strategy | time per seed |");
    println!("|---|---|");
    for (column, (elapsed, runs, _)) in columns.iter().zip(&totals) {
        let micros = elapsed.as_secs_f64() * 1e6 / *runs as f64;
        println!("| {} | {micros:.1} µs |", column.name);
    }
}
