//! The replay line: the command that runs the failing seed of the failing test and nothing
//! else, whatever the cargo target (lib, bin, example, integration test, bench, doc-test).
//!
//! The target is settled, in this order, by what `#[unified_scheduler::test]` captured at
//! expansion ([`TestSite`]: the crate name, `CARGO_BIN_NAME`, whether `CARGO_TARGET_TMPDIR`
//! was set), or else by the running binary (`current_exe()`: its name without the `-hash`,
//! its directory) checked against the package's files (`CARGO_MANIFEST_DIR`, which cargo sets
//! when it runs a test). Where that leaves more than one target, or none, the line says so
//! and runs the test binary itself instead, which is always right. The test's name comes
//! from the macro, else from libtest's name for the thread.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::panic::Location;
use std::path::{Path, PathBuf};

/// What `#[unified_scheduler::test]` knows, at expansion, about the test it wraps. Not
/// public API: only the macro builds it.
#[cfg(feature = "macros")]
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct TestSite {
    /// `CARGO_CRATE_NAME` of the crate being built.
    pub crate_name: &'static str,
    /// `CARGO_PKG_NAME`.
    pub package: &'static str,
    /// `CARGO_MANIFEST_DIR`.
    pub manifest_dir: &'static str,
    /// `CARGO_BIN_NAME`: set for bins and examples only.
    pub bin_name: Option<&'static str>,
    /// Whether `CARGO_TARGET_TMPDIR` was set: integration tests and benches only.
    pub integration: bool,
    /// `module_path!()` at the test.
    pub module_path: &'static str,
    /// The test function's name.
    pub name: &'static str,
    /// `file!()` at the test.
    pub file: &'static str,
}

/// Where a runner was called from.
#[derive(Clone, Copy)]
pub(super) enum Origin {
    /// A plain runner call (`many`, `run`, ...): its `#[track_caller]` site.
    Caller(&'static Location<'static>),
    /// A `#[unified_scheduler::test]`.
    #[cfg(feature = "macros")]
    Test(&'static TestSite),
}

/// The running binary, asked of the OS once per process (it does not change).
fn running_binary() -> Option<PathBuf> {
    static EXE: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    EXE.get_or_init(|| std::env::current_exe().ok()).clone()
}

/// The cargo target of a runner's call site, resolved once per process and site: it reads
/// the package's files, and a runner called once per seed (`try_run` in a loop) would read
/// a `Cargo.toml` and stat the package's folders for every seed (most of a short seed's
/// time). The binary, the environment and the files do not change while the process runs.
fn resolved_once(
    origin: Origin,
    resolve: impl FnOnce() -> Result<(Option<String>, Target), String>,
) -> Result<(Option<String>, Target), String> {
    type Resolved = (usize, Result<(Option<String>, Target), String>);
    /// More call sites than this are resolved each time (a program that makes runners
    /// from many sites keeps its memory).
    const SITES_AT_MOST: usize = 256;
    static RESOLVED: std::sync::Mutex<Vec<Resolved>> = std::sync::Mutex::new(Vec::new());
    let key = match origin {
        Origin::Caller(caller) => ::core::ptr::from_ref(caller) as usize,
        #[cfg(feature = "macros")]
        Origin::Test(site) => ::core::ptr::from_ref(site) as usize,
    };
    let lock = || {
        RESOLVED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some((_, cargo)) = lock().iter().find(|(site, _)| *site == key) {
        return cargo.clone();
    }
    let cargo = resolve();
    let mut resolved = lock();
    if resolved.len() < SITES_AT_MOST && !resolved.iter().any(|(site, _)| *site == key) {
        resolved.push((key, cargo.clone()));
    }
    cargo
}

/// A cargo target, as `cargo test` selects it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Lib,
    Bin(String),
    Example(String),
    Test(String),
    Bench(String),
    Doc,
}

/// The replay line of one run, resolved once and stamped with each seed.
#[derive(Debug)]
pub(super) struct Replay {
    /// `Ok((package flag, target))`, or why the cargo target is not known.
    cargo: Result<(Option<String>, Target), String>,
    /// The test's name for libtest's filter (`None`: a binary without a harness, or `main`).
    test: Option<String>,
    /// The test ran under `--ignored`/`--include-ignored`, so it may be `#[ignore]`d.
    include_ignored: bool,
    /// The running binary, when it is a test binary (or program) that outlives the run.
    exe: Option<PathBuf>,
    /// A program run by `cargo run` (no hash, no harness) rather than a test binary.
    program: bool,
}

impl Replay {
    pub(super) fn new(origin: Origin) -> Self {
        let exe = running_binary();
        let stem = exe.as_deref().and_then(exe_crate_name);
        let program = exe
            .as_deref()
            .is_some_and(|exe| stem.is_none() && !is_doc_test(exe));
        let in_examples = exe
            .as_deref()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .is_some_and(|dir| dir == "examples");
        let doc = exe.as_deref().is_some_and(is_doc_test);
        let (cargo, test) = match origin {
            #[cfg(feature = "macros")]
            Origin::Test(site) => (
                resolved_once(origin, || from_site(site, in_examples, doc)),
                Some(test_path(site)),
            ),
            Origin::Caller(caller) => {
                let test = std::thread::current()
                    .name()
                    .filter(|name| *name != "main")
                    .map(ToOwned::to_owned);
                let stem = stem.or_else(|| program.then(|| exe_file_stem(exe.as_deref())));
                let cargo = resolved_once(origin, || {
                    from_runtime(caller, stem, in_examples, doc, program)
                });
                (cargo, test)
            }
        };
        let include_ignored =
            std::env::args().any(|a| a == "--ignored" || a == "--include-ignored");
        Self {
            cargo,
            test,
            include_ignored,
            exe: exe.filter(|_| !doc),
            program,
        }
    }

    /// The one line that replays `seed`; `strategy` is empty for the default strategy, or
    /// ` STRATEGY=...` (see `TestSchedulerConfig::strategy_env`).
    pub(super) fn command(&self, seed: u64, strategy: &str) -> String {
        let Ok((package, target)) = &self.cargo else {
            return self.direct(seed, strategy).unwrap_or_else(|| {
                format!(
                    "SEED={seed}{strategy} <the test binary, not found>{}",
                    self.filter("")
                )
            });
        };
        let package = package
            .as_ref()
            .map(|p| format!(" -p {}", shell_word(p)))
            .unwrap_or_default();
        let named = |flag: &str, name: &str| format!(" --{flag} {}", shell_word(name));
        let selection = match target {
            Target::Lib => String::from(" --lib"),
            Target::Bin(name) => named("bin", name),
            Target::Example(name) => named("example", name),
            Target::Test(name) => named("test", name),
            Target::Bench(name) => named("bench", name),
            Target::Doc => String::from(" --doc"),
        };
        let (verb, args) = if self.program {
            let args = program_args();
            (
                "run",
                if args.is_empty() {
                    args
                } else {
                    format!(" --{args}")
                },
            )
        } else if *target == Target::Doc {
            ("test", String::new())
        } else {
            ("test", self.filter(" --"))
        };
        format!("SEED={seed}{strategy} cargo {verb}{package}{selection}{args}")
    }

    /// The replay part of a failure report: the line, what it runs, and the direct line.
    pub(super) fn report(&self, seed: u64, strategy: &str) -> String {
        let command = self.command(seed, strategy);
        match &self.cargo {
            Ok((_, Target::Doc)) => format!(
                "Replay it with:\n    {command}\nThis is a doc-test, whose process has no test \
                 name: that line runs every doc-test with SEED={seed}{strategy}. To run this one alone, \
                 add `-- '<name>' --exact` with the name libtest prints for it \
                 (`---- <name> stdout ----`).\n"
            ),
            Ok(_) => match self.direct(seed, strategy) {
                Some(direct) => format!(
                    "Replay it with:\n    {command}\nor, without rebuilding (this binary, as \
                     built with this run's features):\n    {direct}\n"
                ),
                None => format!("Replay it with:\n    {command}\n"),
            },
            Err(why) => format!(
                "The cargo target of this test is not known here ({why}); replay it by \
                 running the test binary itself:\n    {command}\n"
            ),
        }
    }

    /// `SEED=n /abs/path/to/binary name --exact`: always right while the binary exists.
    fn direct(&self, seed: u64, strategy: &str) -> Option<String> {
        let exe = self.exe.as_ref()?.to_str()?;
        let args = if self.program {
            program_args()
        } else {
            self.filter("")
        };
        Some(format!("SEED={seed}{strategy} {}{args}", shell_word(exe)))
    }

    /// libtest's arguments: ` name --exact`, ` --include-ignored`, after `prefix` (` --`).
    fn filter(&self, prefix: &str) -> String {
        let mut args = String::new();
        if let Some(test) = &self.test {
            args.push_str(&format!(" {} --exact", shell_word(test)));
        }
        if self.include_ignored {
            args.push_str(" --include-ignored");
        }
        if args.is_empty() {
            args
        } else {
            format!("{prefix}{args}")
        }
    }
}

/// The target from the macro's facts; only the bin/example split needs the running binary.
#[cfg(feature = "macros")]
fn from_site(
    site: &TestSite,
    in_examples: bool,
    doc: bool,
) -> Result<(Option<String>, Target), String> {
    let manifest = Path::new(site.manifest_dir);
    let first_segment = site.module_path.split("::").next().unwrap_or_default();
    let target = if doc || first_segment != site.crate_name {
        // rustdoc builds a doc-test as a crate of its own, under the package's crate name.
        Target::Doc
    } else if site.integration {
        let benches = after_dir(&site.file.replace('\\', "/"), "benches/").is_some();
        let dir = if benches { "benches" } else { "tests" };
        let name = find_target(manifest, dir, site.crate_name)
            .unwrap_or_else(|| hyphen_glob(site.crate_name));
        if benches {
            Target::Bench(name)
        } else {
            Target::Test(name)
        }
    } else if let Some(bin) = site.bin_name {
        if in_examples {
            Target::Example(bin.to_string())
        } else {
            Target::Bin(bin.to_string())
        }
    } else {
        Target::Lib
    };
    Ok((package_flag(manifest, site.package), target))
}

/// The target from the running binary and the package's files (a plain runner call).
fn from_runtime(
    caller: &Location<'_>,
    stem: Option<String>,
    in_examples: bool,
    doc: bool,
    program: bool,
) -> Result<(Option<String>, Target), String> {
    let (Some(manifest), Some(package)) = (
        std::env::var_os("CARGO_MANIFEST_DIR"),
        std::env::var("CARGO_PKG_NAME").ok(),
    ) else {
        return Err(String::from("the binary was not run by cargo"));
    };
    let manifest = PathBuf::from(manifest);
    let flag = package_flag(&manifest, &package);
    if doc {
        return Ok((flag, Target::Doc));
    }
    let Some(stem) = stem else {
        return Err(String::from("the running binary has no name"));
    };
    if in_examples {
        return match find_target(&manifest, "examples", &stem) {
            Some(name) => Ok((flag, Target::Example(name))),
            None => Err(format!("no example of package {package} builds `{stem}`")),
        };
    }
    let own = package.replace('-', "_") == stem;
    let mut found = Vec::new();
    if own && manifest.join("src/lib.rs").is_file() {
        found.push(Target::Lib);
    }
    if own && manifest.join("src/main.rs").is_file() {
        found.push(Target::Bin(package.clone()));
    }
    if let Some(name) = find_target(&manifest, "src/bin", &stem) {
        found.push(Target::Bin(name));
    }
    if let Some(name) = find_target(&manifest, "tests", &stem) {
        found.push(Target::Test(name));
    }
    if let Some(name) = find_target(&manifest, "benches", &stem) {
        found.push(Target::Bench(name));
    }
    if program {
        // `cargo run` runs binaries only; the rest are test binaries, with a hash.
        found.retain(|target| matches!(target, Target::Bin(_)));
    }
    if found.len() > 1 {
        // The lib and the main binary share a crate name: the runner's call site tells them
        // apart when it is one of the two crate roots, and nothing else does.
        let file = caller.file().replace('\\', "/");
        let root = |root: &str| file == root || file.ends_with(&format!("/{root}"));
        found.retain(|target| match target {
            Target::Lib => root("src/lib.rs"),
            Target::Bin(name) if *name == package => root("src/main.rs"),
            _ => true,
        });
    }
    match <[Target; 1]>::try_from(found) {
        Ok([target]) => Ok((flag, target)),
        Err(found) if !found.is_empty() => Err(format!(
            "several targets of package {package} build a binary named `{stem}`"
        )),
        Err(_) if own && manifest.join("src/lib.rs").is_file() => Err(format!(
            "the library and the binary of package {package} share the crate name `{stem}`, \
             and the runner was called from neither src/lib.rs nor src/main.rs; \
             #[unified_scheduler::test] knows which"
        )),
        Err(_) => Err(format!(
            "no target of package {package} builds a binary named `{stem}`"
        )),
    }
}

/// A program's own arguments, each after a space, quoted.
fn program_args() -> String {
    std::env::args()
        .skip(1)
        .map(|arg| format!(" {}", shell_word(&arg)))
        .collect()
}

/// The test's path as libtest prints it: `module_path!()` without the crate, then the name.
#[cfg(feature = "macros")]
fn test_path(site: &TestSite) -> String {
    match site.module_path.split_once("::") {
        Some((_crate, path)) => format!("{path}::{}", site.name),
        None => site.name.to_string(),
    }
}

/// `-p <package>` when the package is in a workspace with other members: a member's own
/// directory, or the workspace root with `members`. (A text check: enough to decide.)
fn package_flag(manifest: &Path, package: &str) -> Option<String> {
    let declares_workspace = |dir: &Path| {
        std::fs::read_to_string(dir.join("Cargo.toml"))
            .ok()
            .filter(|toml| toml.lines().any(|line| line.trim() == "[workspace]"))
    };
    let member = match declares_workspace(manifest) {
        Some(own) => own
            .lines()
            .any(|line| line.trim_start().starts_with("members")),
        None => manifest
            .ancestors()
            .skip(1)
            .any(|dir| declares_workspace(dir).is_some()),
    };
    member.then(|| package.to_string())
}

/// The target in `dir` (auto-discovered: `dir/name.rs` or `dir/name/main.rs`) whose crate
/// name is `crate_name`, trying the name as is and with `-` for every `_`.
fn find_target(manifest: &Path, dir: &str, crate_name: &str) -> Option<String> {
    let dir = manifest.join(dir);
    [crate_name.to_string(), crate_name.replace('_', "-")]
        .into_iter()
        .find(|name| {
            dir.join(format!("{name}.rs")).is_file() || dir.join(name).join("main.rs").is_file()
        })
}

/// A cargo glob that matches every target whose crate name is `crate_name` (`my_test` may
/// be the target `my-test`), when the files do not say which.
#[cfg(feature = "macros")]
fn hyphen_glob(crate_name: &str) -> String {
    crate_name.replace('_', "[-_]")
}

/// The crate name of a test binary: `deps/my_test-0123456789abcdef` gives `my_test`;
/// `None` for a name without cargo's hash (a program run by `cargo run`).
fn exe_crate_name(exe: &Path) -> Option<String> {
    let stem = exe.file_stem()?.to_str()?;
    let (name, hash) = stem.rsplit_once('-')?;
    (hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then(|| name.to_string())
}

fn exe_file_stem(exe: Option<&Path>) -> String {
    exe.and_then(Path::file_stem)
        .and_then(|stem| stem.to_str())
        .unwrap_or_default()
        .replace('-', "_")
}

/// rustdoc runs a doc-test as `rust_out` in a temporary directory it deletes afterwards
/// (a merged doc-test binary also gets `RUSTDOC_DOCTEST_RUN_NB_TEST`).
fn is_doc_test(exe: &Path) -> bool {
    std::env::var_os("RUSTDOC_DOCTEST_RUN_NB_TEST").is_some()
        || exe.file_stem().is_some_and(|stem| stem == "rust_out")
}

/// `word`, quoted for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=@%+,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The part of `file` after a `dir` component (`tests/`, `benches/`), if it has one.
#[cfg(feature = "macros")]
fn after_dir<'a>(file: &'a str, dir: &str) -> Option<&'a str> {
    if let Some(rest) = file.strip_prefix(dir) {
        return Some(rest);
    }
    file.find(&format!("/{dir}"))
        .map(|at| &file[at + 1 + dir.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_binary_name_loses_its_hash_and_a_program_has_none() {
        let crate_name = |p: &str| exe_crate_name(Path::new(p));
        assert_eq!(
            crate_name("/t/debug/deps/my_it-1469ec731b85984e").as_deref(),
            Some("my_it")
        );
        assert_eq!(crate_name("/t/debug/examples/find_the_race"), None);
        assert_eq!(crate_name("/t/debug/deps/a-b"), None);
    }

    #[test]
    fn words_are_quoted_only_when_a_shell_needs_it() {
        assert_eq!(shell_word("inner::it_t"), "inner::it_t");
        assert_eq!(shell_word("my[-_]test"), "'my[-_]test'");
        assert_eq!(
            shell_word("src/lib.rs - x (line 1)"),
            "'src/lib.rs - x (line 1)'"
        );
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads this checkout's manifests")]
    fn p_is_added_in_a_workspace_with_members_only() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        // The root declares `members`; a member finds the workspace above it; a fixture is a
        // workspace of one.
        assert_eq!(package_flag(root, "a").as_deref(), Some("a"));
        assert_eq!(
            package_flag(&root.join("macros"), "m").as_deref(),
            Some("m")
        );
        assert_eq!(
            package_flag(&root.join("tests/fixtures/replay-lib"), "l"),
            None
        );
    }

    #[cfg(feature = "macros")]
    #[test]
    fn the_macro_test_path_drops_the_crate_as_libtest_does() {
        let site = |module_path| TestSite {
            crate_name: "my_it",
            package: "p",
            manifest_dir: "/nowhere",
            bin_name: None,
            integration: true,
            module_path,
            name: "works",
            file: "tests/my-it.rs",
        };
        assert_eq!(test_path(&site("my_it")), "works");
        assert_eq!(
            test_path(&site("my_it::inner::deeper")),
            "inner::deeper::works"
        );
    }
}
