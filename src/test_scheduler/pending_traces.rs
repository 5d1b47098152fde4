//! `pending_traces` (the env var `PENDING_TRACES=1`): where each task's live waker clones
//! were made, so a stuck report can say what a pending task waits on.
//!
//! With the flag on, the scheduler's tracker polls every task with a waker of this module
//! (see `WakerHook` in `core::tracking`). The waker a poll gets is not recorded itself; each
//! clone of it is, with a backtrace captured at the clone, and forgotten again when the
//! clone is dropped or woken by value. What is left when the test gets stuck are the wakers
//! someone still holds: a channel, a lock's wait list, a struct that never wakes it. With
//! the flag off none of this exists; a poll costs one branch (`tracked.rs`).

use ::core::fmt::Write;
use ::core::task::{RawWaker, RawWakerVTable, Waker};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::backtrace::Backtrace;

use super::LiveTask;
use crate::core::TaskId;
use crate::core::tracking::WakerHook;
use crate::sync::Mutex;

/// The live waker clones of every task, by clone number.
#[derive(Default)]
pub(super) struct PendingTraces {
    clones: Mutex<Clones>,
}

#[derive(Default)]
struct Clones {
    next: u64,
    live: BTreeMap<u64, (TaskId, Backtrace)>,
}

impl PendingTraces {
    fn record(&self, task: TaskId, backtrace: Backtrace) -> u64 {
        let mut clones = self.clones.lock();
        let key = clones.next;
        clones.next += 1;
        clones.live.insert(key, (task, backtrace));
        key
    }

    fn forget(&self, key: u64) {
        // The backtrace is dropped outside the lock.
        let removed = self.clones.lock().live.remove(&key);
        drop(removed);
    }

    /// The waker of a future blocked in `block` (of the outermost one, the test body),
    /// wrapped like a task's so that its clones are recorded under [`BLOCKED_FUTURE`].
    pub(super) fn wrap_blocked(self: &Arc<Self>, waker: &Waker) -> Waker {
        Hook(self.clone()).wrap(BLOCKED_FUTURE, waker)
    }

    /// For the stuck report: for each live task, where its live waker clones were made.
    pub(super) fn describe(&self, live: &[LiveTask], report: &mut String) {
        let clones = self.clones.lock();
        let _ = write!(
            report,
            "\nwhere the live tasks' wakers were cloned (PENDING_TRACES):"
        );
        let blocked: Vec<String> = clones
            .live
            .values()
            .filter(|(id, _)| *id == BLOCKED_FUTURE)
            .map(|(_, backtrace)| clone_site(backtrace))
            .collect();
        if !blocked.is_empty() {
            let _ = write!(
                report,
                "\n  the future blocked in `block`: its waker was cloned at"
            );
            for site in blocked {
                let _ = write!(report, "\n    {site}");
            }
        }
        for task in live {
            let sites: Vec<String> = clones
                .live
                .values()
                .filter(|(id, _)| *id == task.id)
                .map(|(_, backtrace)| clone_site(backtrace))
                .collect();
            if sites.is_empty() {
                let _ = write!(
                    report,
                    "\n  {task}: no live clone of its waker, so nothing can wake it"
                );
                continue;
            }
            let _ = write!(report, "\n  {task}: its waker was cloned at");
            for site in sites {
                let _ = write!(report, "\n    {site}");
            }
        }
    }
}

/// The id the clones of a blocked future's waker are recorded under: no task has it (task
/// ids of a scheduler are counted from 1 and stay below 2^62).
const BLOCKED_FUTURE: TaskId = match TaskId::from_raw(u64::MAX) {
    Some(id) => id,
    None => unreachable!(),
};

/// Crates whose frames are never the answer to "who cloned the waker".
const SKIPPED: &[&str] = &[
    "unified_scheduler",
    "std",
    "core",
    "alloc",
    "async_task",
    "futures_lite",
];

/// The first frame of `backtrace` outside this crate, the standard library, async-task and
/// futures-lite, as `symbol at file:line:column`; the whole backtrace if there is none (no
/// debug info, say).
fn clone_site(backtrace: &Backtrace) -> String {
    let text = alloc::format!("{backtrace}");
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((_, symbol)) = line.trim_start().split_once(": ") else {
            continue;
        };
        let location = lines
            .peek()
            .and_then(|next| next.trim_start().strip_prefix("at "))
            .map(String::from);
        if location.is_some() {
            lines.next();
        }
        if is_skipped(symbol, location.as_deref()) {
            continue;
        }
        return match location {
            Some(location) => {
                // Relative to the package, as the report's other locations are.
                let location = location.strip_prefix("./").unwrap_or(&location);
                alloc::format!("{location} (in {symbol})")
            }
            None => String::from(symbol),
        };
    }
    alloc::format!("(no frame outside the scheduler; the whole backtrace)\n{text}")
}

/// Whether a frame belongs to a skipped crate: by the first path segment of its symbol
/// (`<unified_scheduler::Task<T> as core::future::Future>::poll` belongs to this crate), or,
/// for a generic impl such as `<&mut F as core::future::Future>::poll`, by its file.
fn is_skipped(symbol: &str, location: Option<&str>) -> bool {
    let path = symbol.trim_start_matches(['<', '&', '*', '(', '[']);
    let path = path
        .strip_prefix("mut ")
        .or_else(|| path.strip_prefix("const "))
        .or_else(|| path.strip_prefix("dyn "))
        .unwrap_or(path);
    if path.starts_with("__rust") || path.starts_with("rust_") {
        return true;
    }
    let end = path
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(path.len());
    let (first, rest) = path.split_at(end);
    if rest.starts_with("::") {
        // A path: its first segment is a crate.
        return SKIPPED.contains(&first);
    }
    // A bare name: an inlined frame in a build with line tables only, which name no
    // crate. Then the file tells.
    location.is_none_or(|file| {
        is_own_source(file)
            || file.contains("/rustc/")
            || file.contains("/library/")
            || file.contains("/async-task-")
            || file.contains("/futures-lite-")
    })
}

/// Whether `file` (a backtrace location, `file:line:column`) is in this crate's `src/`:
/// the directory this file's own path (as rustc was given it: `src/...` when this crate is
/// the package under test, absolute when it is a dependency) starts with.
fn is_own_source(file: &str) -> bool {
    let this = file!().replace('\\', "/");
    let root = this
        .strip_suffix("test_scheduler/pending_traces.rs")
        .unwrap_or(&this);
    let file = file.replace('\\', "/");
    file.strip_prefix("./").unwrap_or(&file).starts_with(root)
}

/// Wraps the waker of every poll; the `WakerHook` the tracker is built with.
pub(super) struct Hook(pub(super) Arc<PendingTraces>);

impl WakerHook for Hook {
    fn wrap(&self, task: TaskId, waker: &Waker) -> Waker {
        TracedWaker {
            inner: waker.clone(),
            task,
            traces: self.0.clone(),
            key: None,
        }
        .into_waker()
    }
}

/// A waker that wakes `inner`; a clone (`key` set) is recorded until dropped or woken.
struct TracedWaker {
    inner: Waker,
    task: TaskId,
    traces: Arc<PendingTraces>,
    key: Option<u64>,
}

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

impl TracedWaker {
    fn into_waker(self) -> Waker {
        let raw = RawWaker::new(Box::into_raw(Box::new(self)).cast(), &VTABLE);
        // SAFETY: `data` is a `Box<TracedWaker>` owned by this waker, and the vtable's
        // functions below follow the `RawWaker` contract: `clone` makes a new box, `wake` and
        // `drop_waker` free this one, `wake_by_ref` only borrows it. `TracedWaker` is `Send +
        // Sync` (a `Waker`, an id, an `Arc` of a lock), so any thread may use the waker.
        unsafe { Waker::from_raw(raw) }
    }
}

impl Drop for TracedWaker {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.traces.forget(key);
        }
    }
}

// Every `data` below comes from `Box::into_raw` of a `TracedWaker` in `into_waker`, and is
// owned by the one waker that holds it.
unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: the waker being cloned owns the box and is alive during this call.
    let this = unsafe { &*data.cast::<TracedWaker>() };
    let key = this.traces.record(this.task, Backtrace::force_capture());
    let copy = TracedWaker {
        inner: this.inner.clone(),
        task: this.task,
        traces: this.traces.clone(),
        key: Some(key),
    };
    RawWaker::new(Box::into_raw(Box::new(copy)).cast(), &VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: takes back the box this waker owned; the waker is not used again.
    let this = unsafe { Box::from_raw(data.cast_mut().cast::<TracedWaker>()) };
    // Forgotten first (by the drop), then woken: a wake that runs the task at once finds
    // the record gone.
    let inner = this.inner.clone();
    drop(this);
    inner.wake();
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker owns the box for as long as this borrow of it lasts.
    let this = unsafe { &*data.cast::<TracedWaker>() };
    this.inner.wake_by_ref();
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: takes back the box this waker owned; the waker is not used again.
    drop(unsafe { Box::from_raw(data.cast_mut().cast::<TracedWaker>()) });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The waker's vtable (the unsafe part, run by miri in CI): every clone is recorded,
    /// and forgotten when dropped or woken by value; a wake reaches the inner waker.
    #[test]
    fn clones_are_recorded_until_dropped_or_woken_and_wakes_reach_the_inner_waker() {
        struct Count(core::sync::atomic::AtomicUsize);
        impl alloc::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            }
        }
        let count = Arc::new(Count(core::sync::atomic::AtomicUsize::new(0)));
        let inner = Waker::from(count.clone());
        let traces = Arc::new(PendingTraces::default());
        let live = || traces.clones.lock().live.len();
        let waker = Hook(traces.clone()).wrap(TaskId::from_raw(7).unwrap(), &inner);
        assert_eq!(live(), 0, "the poll's own waker is not a clone");
        let first = waker.clone();
        let second = first.clone();
        assert_eq!(live(), 2);
        second.wake_by_ref();
        assert_eq!(live(), 2, "a wake by reference keeps the clone");
        second.wake();
        assert_eq!(live(), 1, "a wake by value consumes the clone");
        drop(first);
        assert_eq!(live(), 0);
        waker.wake_by_ref();
        drop(waker);
        assert_eq!(count.0.load(core::sync::atomic::Ordering::Relaxed), 3);
    }

    #[test]
    fn frames_of_the_scheduler_and_std_are_skipped_and_a_test_is_not() {
        assert!(is_skipped(
            "<unified_scheduler::core::task::Task<T> as core::future::future::Future>::poll",
            Some("./src/core/task.rs:10:5"),
        ));
        assert!(is_skipped(
            "<&mut F as core::future::future::Future>::poll",
            Some("/rustc/abc/library/core/src/future/future.rs:124:9"),
        ));
        assert!(is_skipped("async_task::raw::RawTask<F,T,S,M>::run", None));
        assert!(is_skipped("__rustc::rust_begin_unwind", None));
        assert!(!is_skipped(
            "my_tests::stuck::{{closure}}",
            Some("./tests/my_tests.rs:12:9"),
        ));
        assert!(!is_skipped(
            "<my_tests::Stash as core::future::future::Future>::poll",
            Some("./tests/my_tests.rs:30:9"),
        ));
    }

    /// With line tables only (`debug = "line-tables-only"`), inlined frames carry a bare
    /// name and no crate: the file tells.
    #[test]
    fn bare_names_are_judged_by_their_file() {
        let own = file!().replace('\\', "/");
        assert!(is_skipped("clone", Some(&alloc::format!("./{own}:229:45"))));
        assert!(is_skipped(
            "poll",
            Some("/rustc/abc/library/core/src/future/future.rs:1:1")
        ));
        assert!(!is_skipped("stuck", Some("./tests/my_tests.rs:12:9")));
        assert!(!is_skipped("helper", Some("/home/me/app/src/lib.rs:3:9")));
    }
}
