//! The replay line is right in every kind of cargo target. Each test runs a test of a
//! fixture crate (tests/fixtures/replay-crate, a lib, a bin of the same crate name, tests, an
//! example, a doc-test; tests/fixtures/replay-lib, a lib alone) that fails on seed 3, as a
//! user would (`cargo test ...`), takes the line its failure prints, runs that line, and
//! checks that it fails on the same seed with the same message, running exactly that one
//! test.
// The lines are POSIX shell lines (`SEED=3 STRATEGY=urw:from=0 cargo ...`: seed 3 is the
// portfolio's URW, which learned from seed 0), run here through `sh`.
#![cfg(unix)]

use std::path::PathBuf;
use std::process::Command;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/replay-crate");
const LIB_ONLY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/replay-lib");

/// The fixture's own target directory: cached across runs, and apart from the one the
/// outer `cargo test` holds locked.
fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("replay-fixture")
}

struct Run {
    success: bool,
    /// libtest's report: the tests run, and the captured output of those that failed.
    stdout: String,
    /// Both streams: what the test printed goes to either, as libtest captures it or not.
    all: String,
}

/// Runs `command` as a shell would, in `fixture`, with the cargo that runs this test.
fn shell(fixture: &str, command: &str) -> Run {
    let cargo_dir = PathBuf::from(env!("CARGO"));
    let path = std::env::join_paths(cargo_dir.parent().into_iter().map(PathBuf::from).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let output = Command::new("sh")
        .args(["-c", command])
        .current_dir(fixture)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("CARGO_NET_OFFLINE", "true")
        .env("RUST_BACKTRACE", "0")
        .env_remove("SEED")
        .env_remove("ITERATIONS")
        .env_remove("MAX_STEPS")
        .env_remove("CHECK_DETERMINISM")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let all = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr))
        // Older rustdocs (1.86, the MSRV job's) print a failed doc-test's stderr `Debug`-escaped.
        .replace("\\n", "\n");
    Run {
        success: output.status.success(),
        stdout,
        all,
    }
}

/// The line printed under "TestScheduler: seed 3 failed.", and the report around it.
fn printed_line(output: &str) -> (String, &str) {
    let at = output
        .find("TestScheduler: seed 3 failed.")
        .unwrap_or_else(|| panic!("no failure report for seed 3 in: {output}"));
    let report = &output[at..];
    let line = report
        .lines()
        .find_map(|line| line.strip_prefix("    SEED="))
        .unwrap_or_else(|| panic!("no replay line in: {report}"));
    (format!("SEED={line}"), report)
}

/// How many tests each libtest run of `stdout` ran, leaving out the runs of none.
fn tests_run(stdout: &str) -> Vec<usize> {
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix("running "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse().ok())
        .filter(|&n| n > 0)
        .collect()
}

/// Runs `command` (which fails on seed 3 with `message`) and then the line it prints, in
/// `fixture`; returns that line and the report around it.
fn replay_in(fixture: &str, command: &str, message: &str) -> (String, String) {
    let first = shell(fixture, command);
    assert!(!first.success, "{command} should fail: {}", first.all);
    assert!(first.all.contains(message), "{}", first.all);
    let (line, report) = printed_line(&first.all);
    let again = shell(fixture, &line);
    assert!(!again.success, "`{line}` should fail: {}", again.all);
    assert!(
        again.all.contains("running 1 seed(s) from 3"),
        "`{line}` runs seed 3 alone: {}",
        again.all
    );
    assert!(again.all.contains(message), "{}", again.all);
    assert!(
        again.all.contains("TestScheduler: seed 3 failed."),
        "{}",
        again.all
    );
    if !line.contains(" cargo run ") {
        assert_eq!(
            tests_run(&again.stdout),
            [1],
            "`{line}` must run the one test: {}",
            again.stdout
        );
        assert!(again.stdout.contains("1 failed"), "{}", again.stdout);
    }
    (line, report.to_string())
}

fn replay(command: &str, message: &str) -> (String, String) {
    replay_in(FIXTURE, command, message)
}

/// A replay that must name its cargo target: `expected` is the whole line.
fn replays_with(command: &str, message: &str, expected: &str) {
    let (line, _) = replay(command, message);
    assert_eq!(line, expected);
}

/// A replay that cannot know its cargo target: it says so and runs the binary itself.
fn replays_with_the_binary(command: &str, message: &str, binary: &str, test: &str) {
    let (line, report) = replay(command, message);
    assert!(report.contains("is not known here"), "{report}");
    let prefix = format!(
        "SEED=3 STRATEGY=urw:from=0 {}/debug/deps/{binary}-",
        target_dir().display()
    );
    assert!(line.starts_with(&prefix), "{line}");
    assert!(line.ends_with(&format!(" {test} --exact")), "{line}");
}

#[test]
fn a_lib_unit_test_calling_the_runner() {
    replays_with(
        "cargo test --lib -- tests::direct --exact",
        "lib direct: seed 3 fails",
        "SEED=3 STRATEGY=urw:from=0 cargo test --lib -- tests::direct --exact",
    );
}

#[test]
fn a_lib_unit_test_through_a_helper_in_src_where_the_bin_shares_the_crate_name() {
    replays_with_the_binary(
        "cargo test --lib -- tests::via_helper --exact",
        "lib via helper: seed 3 fails",
        "replay_crate",
        "tests::via_helper",
    );
}

#[test]
fn a_lib_unit_test_through_a_helper_in_src_of_a_lib_only_package() {
    let (line, _) = replay_in(
        LIB_ONLY,
        "cargo test --lib -- tests::via_helper --exact",
        "lib-only via helper: seed 3 fails",
    );
    assert_eq!(
        line,
        "SEED=3 STRATEGY=urw:from=0 cargo test --lib -- tests::via_helper --exact"
    );
}

#[test]
fn a_lib_unit_test_by_the_macro_in_a_helper_module() {
    replays_with(
        "cargo test --lib -- helper::tests::by_macro --exact",
        "lib macro: seed 3 fails",
        "SEED=3 STRATEGY=urw:from=0 cargo test --lib -- helper::tests::by_macro --exact",
    );
}

#[test]
fn a_bin_unit_test_calling_the_runner() {
    replays_with(
        "cargo test --bin replay-crate -- tests::direct --exact",
        "bin direct: seed 3 fails",
        "SEED=3 STRATEGY=urw:from=0 cargo test --bin replay-crate -- tests::direct --exact",
    );
}

#[test]
fn a_bin_unit_test_through_the_libs_helper() {
    replays_with_the_binary(
        "cargo test --bin replay-crate -- tests::via_helper --exact",
        "bin via helper: seed 3 fails",
        "replay_crate",
        "tests::via_helper",
    );
}

#[test]
fn a_bin_unit_test_by_the_macro() {
    replays_with(
        "cargo test --bin replay-crate -- tests::by_macro --exact",
        "bin macro: seed 3 fails",
        "SEED=3 STRATEGY=urw:from=0 cargo test --bin replay-crate -- tests::by_macro --exact",
    );
}

#[test]
fn an_integration_test_through_tests_common() {
    replays_with(
        "cargo test --test it -- via_common --exact",
        "it via common: seed 3 fails",
        "SEED=3 STRATEGY=urw:from=0 cargo test --test it -- via_common --exact",
    );
}

#[test]
fn an_integration_test_through_the_libs_helper() {
    replays_with(
        "cargo test --test it -- via_lib_helper --exact",
        "it via lib helper: seed 3 fails",
        "SEED=3 STRATEGY=urw:from=0 cargo test --test it -- via_lib_helper --exact",
    );
}

#[test]
fn an_integration_test_by_the_macro_in_a_module() {
    replays_with(
        "cargo test --test it -- inner::by_macro --exact",
        "it macro: seed 3 fails",
        "SEED=3 STRATEGY=urw:from=0 cargo test --test it -- inner::by_macro --exact",
    );
}

#[test]
fn an_example_unit_test_calling_the_runner() {
    replays_with(
        "cargo test --example ex -- tests::direct --exact",
        "example direct: seed 3 fails",
        "SEED=3 STRATEGY=urw:from=0 cargo test --example ex -- tests::direct --exact",
    );
}

#[test]
fn an_example_unit_test_by_the_macro() {
    replays_with(
        "cargo test --example ex -- tests::by_macro --exact",
        "example macro: seed 3 fails",
        "SEED=3 STRATEGY=urw:from=0 cargo test --example ex -- tests::by_macro --exact",
    );
}

#[test]
fn an_example_run_by_cargo_run() {
    replays_with(
        "cargo run --example ex",
        "example main: seed 3 fails",
        "SEED=3 STRATEGY=urw:from=0 cargo run --example ex",
    );
}

#[test]
fn a_doc_test_says_the_line_runs_every_doc_test() {
    // The fixture has one doc-test, so the line runs exactly it; the report says why a
    // package with more would need the name libtest prints.
    let (line, report) = replay("cargo test --doc", "doc-test: seed 3 fails");
    assert_eq!(line, "SEED=3 STRATEGY=urw:from=0 cargo test --doc");
    assert!(
        report.contains("runs every doc-test with SEED=3 STRATEGY=urw:from=0"),
        "{report}"
    );
}
