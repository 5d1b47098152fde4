//! Time ratios measured in pairs, so that they hold whatever else the machine is doing
//! (issue 17).
//!
//! Criterion times one line for seconds, then the next: the ratio of two lines spans
//! whatever changed in between (the other core's load, the host's clock), and on this
//! shared machine the same binary's ratio moved by up to 0.6 from one run to the next. Here
//! each round times every line once, back to back, starting at a line that rotates from
//! round to round, and each ratio is taken within one round, so that its two sides share
//! the machine's state. The table gives each ratio's median over the rounds and the 10th
//! and 90th percentiles around it. The workloads are criterion's and callgrind's
//! (`common/workloads.rs`); instruction counts stay the gated figures (`benches/instructions.rs`).
//!
//!   cargo bench --bench paired            # 200 rounds, about half a minute
//!   cargo bench --bench paired -- 50      # another number of rounds

extern crate alloc;

#[path = "common/floor.rs"]
mod floor;
#[path = "common/workloads.rs"]
mod workloads;

use std::hint::black_box;
use std::time::Instant;

use floor::Floor;
use workloads::{Local, SpawnHelper, Test, Tokio, expected, test_fresh};

/// One timed line: its name, the tasks one call of `run` spawns and runs, and how many
/// calls one round times (enough for the clock's resolution not to count).
struct Line {
    name: &'static str,
    tasks: u64,
    calls: u32,
    run: Box<dyn FnMut(u64) -> u64>,
}

impl Line {
    fn new(
        name: &'static str,
        tasks: u64,
        calls: u32,
        run: impl FnMut(u64) -> u64 + 'static,
    ) -> Self {
        let run = Box::new(run);
        Self {
            name,
            tasks,
            calls,
            run,
        }
    }

    /// One call, its sum checked.
    fn call(&mut self) {
        let sum = (self.run)(black_box(self.tasks));
        assert_eq!(sum, expected(self.tasks), "{}: a wrong sum", self.name);
    }

    /// Nanoseconds a task, over this round's calls. One untimed call first: the line before
    /// may have left the allocator work to do at the next allocation (glibc consolidates
    /// its fast bins, a hundred thousand chunks after a large run), which is that line's
    /// cost, not this one's.
    fn time_a_task(&mut self) -> f64 {
        self.call();
        let start = Instant::now();
        for _ in 0..self.calls {
            self.call();
        }
        start.elapsed().as_nanos() as f64 / (self.tasks * u64::from(self.calls)) as f64
    }
}

/// The ratios the issue sets targets for: numerator, denominator, target.
const RATIOS: &[(&str, &str, f64)] = &[
    ("spawn_helper_1", "floor_1", 1.2),
    ("spawn_helper_1000", "floor_1000", 1.2),
    ("test_scheduler_1000", "floor_1000", 2.0),
    ("test_scheduler_1000", "async_executor_local_1000", 1.0),
    ("test_scheduler_1000", "tokio_current_thread_1000", 1.0),
    ("floor_100000", "floor_1000", 2.0),
    ("test_scheduler_100000", "test_scheduler_1000", 2.0),
    (
        "test_scheduler_fresh_100000",
        "test_scheduler_fresh_1000",
        2.0,
    ),
];

const WARM_UP_ROUNDS: usize = 10;

fn lines() -> Vec<Line> {
    let mut floor_1 = Floor::default();
    let mut helper_1 = SpawnHelper::new();
    let mut floor_1000 = Floor::default();
    let mut floor_100000 = Floor::default();
    let mut helper_1000 = SpawnHelper::new();
    let mut test_1000 = Test::new();
    let mut test_100000 = Test::new();
    let mut local = Local::new();
    let mut tokio = Tokio::new();
    vec![
        Line::new("floor_1", 1, 2_000, move |n| floor_1.spawn_run(n)),
        Line::new("spawn_helper_1", 1, 2_000, move |n| helper_1.spawn_run(n)),
        Line::new("floor_1000", 1_000, 4, move |n| floor_1000.spawn_run(n)),
        Line::new("floor_100000", 100_000, 1, move |n| {
            floor_100000.spawn_run(n)
        }),
        Line::new("spawn_helper_1000", 1_000, 4, move |n| {
            helper_1000.spawn_run(n)
        }),
        Line::new("test_scheduler_1000", 1_000, 4, move |n| {
            test_1000.spawn_run(n)
        }),
        Line::new("test_scheduler_100000", 100_000, 1, move |n| {
            test_100000.spawn_run(n)
        }),
        Line::new("test_scheduler_fresh_1000", 1_000, 4, test_fresh),
        Line::new("test_scheduler_fresh_100000", 100_000, 1, test_fresh),
        Line::new("async_executor_local_1000", 1_000, 4, move |n| {
            local.spawn_run(n)
        }),
        Line::new("tokio_current_thread_1000", 1_000, 4, move |n| {
            tokio.spawn_run(n)
        }),
    ]
}

/// The `q`-quantile of sorted `values` (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let rounds: usize = match std::env::args().skip(1).find(|a| !a.starts_with("--")) {
        Some(arg) => arg
            .parse()
            .unwrap_or_else(|_| panic!("the argument is a number of rounds, not {arg:?}")),
        None => 200,
    };
    assert!(rounds > 0, "at least one round");
    let mut lines = lines();
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); lines.len()];
    for round in 0..WARM_UP_ROUNDS + rounds {
        for k in 0..lines.len() {
            let i = (round + k) % lines.len();
            let ns = lines[i].time_a_task();
            if round >= WARM_UP_ROUNDS {
                times[i].push(ns);
            }
        }
    }
    let index = |name: &str| lines.iter().position(|l| l.name == name).expect("a line");

    println!("{rounds} rounds, each line once a round\n");
    println!("{:<30} {:>12} {:>18}", "line", "ns/task", "p10-p90");
    for (line, samples) in lines.iter().zip(&times) {
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        let (p10, median, p90) = (
            quantile(&sorted, 0.1),
            quantile(&sorted, 0.5),
            quantile(&sorted, 0.9),
        );
        println!(
            "{:<30} {median:>12.1} {:>18}",
            line.name,
            format!("{p10:.1}-{p90:.1}")
        );
    }
    println!(
        "\n{:<58} {:>7} {:>15} {:>7}",
        "ratio, within each round", "median", "p10-p90", "target"
    );
    for &(num, den, target) in RATIOS {
        let (a, b) = (&times[index(num)], &times[index(den)]);
        let mut ratios: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
        ratios.sort_by(f64::total_cmp);
        let median = quantile(&ratios, 0.5);
        let spread = format!(
            "{:.3}-{:.3}",
            quantile(&ratios, 0.1),
            quantile(&ratios, 0.9)
        );
        let verdict = if median <= target { "" } else { "  over" };
        println!(
            "{:<58} {median:>7.3} {spread:>15} {target:>7.2}{verdict}",
            format!("{num} / {den}")
        );
    }
}
