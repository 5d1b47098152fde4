//! A corpus of small async programs, each with a concurrency bug that shows only under some
//! interleavings (issue 15). Each bug is written once against `Arc<dyn Scheduler>`, so the
//! same body runs under the `TestScheduler` (tests/bug_corpus.rs) and under other tools
//! (benches/bug_corpus.rs). Shared with `#[path = "..."] mod bug_corpus;`.
//!
//! Every bug has a `Fixed` variant: the same program with the race closed, which must never
//! fail. `yield_now` is the one interleaving point.
#![allow(dead_code, unreachable_pub)]

mod async_bugs;
mod lock;
mod ordering;
pub mod ours;
mod pct_depth;
mod sctbench;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use unified_scheduler::Scheduler;

pub use lock::{AsyncLock, LockGuard, Notify};

/// What a bug body ends with: `Err` names the bug when it showed.
pub type Outcome = Result<(), String>;
/// A bug body's future; not `Send`, since every tool runs it on the thread that blocks.
pub type BugFuture = Pin<Box<dyn Future<Output = Outcome>>>;

/// The program with its race (`Buggy`) or with the race closed (`Fixed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    Buggy,
    Fixed,
}

impl Variant {
    /// The fix of most bugs: the critical section under one lock. `Buggy` takes none.
    pub async fn guard(self, lock: &AsyncLock) -> Option<LockGuard> {
        match self {
            Variant::Buggy => None,
            Variant::Fixed => Some(lock.lock().await),
        }
    }
}

/// One bug of the corpus.
#[derive(Clone, Copy)]
pub struct Bug {
    pub name: &'static str,
    /// Where the bug's shape comes from.
    pub source: &'static str,
    pub body: fn(Arc<dyn Scheduler>, Variant) -> BugFuture,
}

/// Every bug, in the order the tables list them.
pub fn all() -> Vec<Bug> {
    let mut bugs = Vec::new();
    bugs.extend(sctbench::bugs());
    bugs.extend(pct_depth::bugs());
    bugs.extend(ordering::bugs());
    bugs.extend(async_bugs::bugs());
    bugs
}

/// The bug called `name`; panics if there is none, so a renamed bug fails its test.
pub fn named(name: &str) -> Bug {
    all()
        .into_iter()
        .find(|bug| bug.name == name)
        .unwrap_or_else(|| panic!("no bug named {name}"))
}

/// Plain shared state: locked only between interleaving points, never across one.
pub type Shared<T> = Arc<Mutex<T>>;

pub fn shared<T>(value: T) -> Shared<T> {
    Arc::new(Mutex::new(value))
}

pub fn read<T: Clone>(cell: &Shared<T>) -> T {
    cell.lock().unwrap().clone()
}

pub fn write<T>(cell: &Shared<T>, value: T) {
    *cell.lock().unwrap() = value;
}
