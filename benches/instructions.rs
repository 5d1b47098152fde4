//! Instruction counts of the single-threaded hot paths, under valgrind's callgrind: unlike
//! times, they repeat exactly on a loaded machine, so their ratios are the figures to quote
//! and to gate on (`ci/perf_gate.sh`). Criterion's times (`benches/spawn.rs`,
//! `benches/test_scheduler.rs`) show what cache misses add on top.
//!
//!   cargo bench --profile instructions --bench instructions             # the table
//!   cargo bench --profile instructions --bench instructions -- --gate   # fails past a ceiling
//!   cargo bench --profile instructions --bench instructions -- helper   # names with `helper`
//!
//! It needs valgrind. The `instructions` profile (Cargo.toml) is the bench profile with one
//! codegen unit, so that what LLVM inlines does not depend on how the binary's items hash
//! into units; a plain `cargo bench` builds this with the default sixteen, prints the table
//! with a note, and refuses `--gate`, whose ceilings are for the one-unit build.
//!
//! Each workload runs in a child process of this binary under callgrind, twice: once with
//! `LOW` repetitions and once with `HIGH`, after one warm-up repetition in both. The
//! difference of the two totals over `HIGH - LOW` repetitions is the cost of one repetition
//! with warm state and kept capacity, as in the criterion benches; start-up, the warm-up and
//! the process's own costs cancel out. Divided by the tasks, it is instructions per task.

extern crate alloc;

#[path = "common/floor.rs"]
mod floor;
#[path = "common/workloads.rs"]
mod workloads;

use std::process::{Command, ExitCode};

use floor::Floor;
use workloads::{Local, Queue, SpawnHelper, Test, Tokio, expected, test_fresh};

/// One line of the table: a name, its tasks per repetition, and its repetition counts.
struct Workload {
    name: &'static str,
    tasks: u64,
    low: u64,
    high: u64,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "floor_1",
        tasks: 1,
        low: 100,
        high: 1_100,
    },
    Workload {
        name: "spawn_helper_1",
        tasks: 1,
        low: 100,
        high: 1_100,
    },
    Workload {
        name: "floor_1000",
        tasks: 1_000,
        low: 2,
        high: 12,
    },
    Workload {
        name: "spawn_helper_1000",
        tasks: 1_000,
        low: 2,
        high: 12,
    },
    Workload {
        name: "queue_scheduler_1000",
        tasks: 1_000,
        low: 2,
        high: 12,
    },
    Workload {
        name: "test_scheduler_1000",
        tasks: 1_000,
        low: 2,
        high: 12,
    },
    Workload {
        name: "test_scheduler_100000",
        tasks: 100_000,
        low: 1,
        high: 2,
    },
    Workload {
        name: "test_scheduler_fresh_1000",
        tasks: 1_000,
        low: 2,
        high: 12,
    },
    Workload {
        name: "test_scheduler_fresh_100000",
        tasks: 100_000,
        low: 1,
        high: 2,
    },
    Workload {
        name: "test_scheduler_yields_1000x4",
        tasks: 1_000,
        low: 2,
        high: 12,
    },
    Workload {
        name: "test_scheduler_timers_1000",
        tasks: 1_000,
        low: 2,
        high: 12,
    },
    Workload {
        name: "test_scheduler_block_1000",
        tasks: 1_000,
        low: 2,
        high: 12,
    },
    Workload {
        name: "async_executor_local_1000",
        tasks: 1_000,
        low: 2,
        high: 12,
    },
    Workload {
        name: "tokio_current_thread_1000",
        tasks: 1_000,
        low: 2,
        high: 12,
    },
];

/// The ratios of instructions per task that the gate checks, in the one-unit build
/// (`--profile instructions`): `(numerator, denominator, target, ceiling)`. The target is
/// the issue's; the ceiling is where the gate fails, today's figure plus a margin where the
/// target does not hold yet, so that nothing gets worse while the work goes on
/// (BENCHMARKS.md has both). A ratio past its target but under its ceiling is printed as
/// `todo`.
const RATIOS: &[(&str, &str, f64, f64)] = &[
    ("spawn_helper_1", "floor_1", 1.2, 1.2),
    ("spawn_helper_1000", "floor_1000", 1.2, 1.26),
    ("test_scheduler_1000", "floor_1000", 2.0, 2.0),
    ("test_scheduler_1000", "async_executor_local_1000", 1.0, 1.2),
    ("test_scheduler_1000", "tokio_current_thread_1000", 1.0, 1.0),
    // Flat: the instructions of a step do not grow with the queue.
    ("test_scheduler_100000", "test_scheduler_1000", 1.15, 1.25),
    (
        "test_scheduler_fresh_100000",
        "test_scheduler_fresh_1000",
        1.15,
        1.25,
    ),
];

/// Runs `name` once to warm up, then `reps` more times, checking every sum.
fn run_workload(name: &str, reps: u64) {
    let mut floor = Floor::default();
    let mut helper = SpawnHelper::new();
    let mut queue = Queue::new();
    let mut test = Test::new();
    let mut local = Local::new();
    let mut tokio = Tokio::new();
    for _ in 0..=reps {
        let (sum, n) = match name {
            "floor_1" => (floor.spawn_run(1), 1),
            "spawn_helper_1" => (helper.spawn_run(1), 1),
            "floor_1000" => (floor.spawn_run(1_000), 1_000),
            "spawn_helper_1000" => (helper.spawn_run(1_000), 1_000),
            "queue_scheduler_1000" => (queue.spawn_run(1_000), 1_000),
            "test_scheduler_1000" => (test.spawn_run(1_000), 1_000),
            "test_scheduler_100000" => (test.spawn_run(100_000), 100_000),
            "test_scheduler_fresh_1000" => (test_fresh(1_000), 1_000),
            "test_scheduler_fresh_100000" => (test_fresh(100_000), 100_000),
            "test_scheduler_yields_1000x4" => (test.yields(1_000, 4), 1_000),
            "test_scheduler_timers_1000" => (test.timers(1_000), 1_000),
            "test_scheduler_block_1000" => (test.block(1_000), 1_000),
            "async_executor_local_1000" => (local.spawn_run(1_000), 1_000),
            "tokio_current_thread_1000" => (tokio.spawn_run(1_000), 1_000),
            other => {
                panic!("no workload named {other:?}; see WORKLOADS in benches/instructions.rs")
            }
        };
        assert_eq!(sum, expected(n), "{name}: the tasks' outputs do not add up");
    }
}

/// Whether this binary was built with `--profile instructions`: Cargo puts it in
/// `target/[<triple>/]instructions/deps/`.
fn built_with_instructions_profile() -> bool {
    std::env::current_exe().is_ok_and(|exe| {
        exe.parent()
            .and_then(|deps| deps.parent())
            .and_then(|profile| profile.file_name())
            .is_some_and(|name| name == "instructions")
    })
}

/// The instructions callgrind counted for `name` with `reps` repetitions.
fn count(name: &str, reps: u64) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("no path to this binary: {e}"))?;
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(&exe)
        .args(["--run", name, &reps.to_string()])
        .output()
        .map_err(|e| {
            format!("could not run valgrind ({e}); install it (apt install valgrind) or run ci/perf_gate.sh")
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("{name} under callgrind failed:\n{stderr}"));
    }
    stderr
        .lines()
        .find_map(|line| line.split("Collected : ").nth(1))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| format!("no `Collected :` line from callgrind for {name}:\n{stderr}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, name, reps] = args.as_slice() {
        if flag == "--run" {
            run_workload(name, reps.parse().expect("--run <workload> <repetitions>"));
            return ExitCode::SUCCESS;
        }
    }
    let gate = args.iter().any(|a| a == "--gate");
    if !built_with_instructions_profile() {
        let how = "cargo bench --profile instructions --bench instructions";
        if gate {
            eprintln!(
                "perf gate: this binary was not built with the `instructions` profile (one \
                 codegen unit), which the ceilings are set for; run `{how} -- --gate`"
            );
            return ExitCode::FAILURE;
        }
        println!("(not the gate's build, whose figures differ: `{how}` is)\n");
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        // A plain `cargo bench` still runs the criterion benches on a machine without it.
        eprintln!("benches/instructions.rs needs valgrind (apt install valgrind); skipped");
        return if gate {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    let only: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let mut per_task = Vec::new();
    println!("{:<30} {:>14}", "workload", "instr/task");
    for w in WORKLOADS {
        if !only.is_empty() && !only.iter().any(|o| w.name.contains(o.as_str())) {
            continue;
        }
        let counts = count(w.name, w.low).and_then(|low| Ok((low, count(w.name, w.high)?)));
        let (low, high) = match counts {
            Ok(counts) => counts,
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let each = high.saturating_sub(low) as f64 / ((w.high - w.low) * w.tasks) as f64;
        println!("{:<30} {:>14.1}", w.name, each);
        per_task.push((w.name, each));
    }
    let of = |name: &str| per_task.iter().find(|(n, _)| *n == name).map(|(_, c)| *c);
    let (mut over, mut todo) = (0, 0);
    println!(
        "\n{:<58} {:>7} {:>7} {:>8}",
        "ratio (instructions per task)", "ratio", "target", "ceiling"
    );
    for &(num, den, target, ceiling) in RATIOS {
        let (Some(a), Some(b)) = (of(num), of(den)) else {
            continue;
        };
        let ratio = a / b;
        let verdict = if ratio <= target {
            "ok"
        } else if ratio <= ceiling {
            todo += 1;
            "todo"
        } else {
            over += 1;
            "OVER"
        };
        let name = format!("{num} / {den}");
        println!("{name:<58} {ratio:>7.3} {target:>7.2} {ceiling:>8.2} {verdict}");
    }
    if todo > 0 {
        println!("{todo} ratio(s) past their target, under their ceiling (todo)");
    }
    if gate && over > 0 {
        eprintln!("perf gate: {over} instruction ratio(s) past their ceiling (OVER, above)");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
