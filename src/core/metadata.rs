//! Task identity: ids, labels and the metadata every runnable carries.

use core::fmt;
use core::num::NonZeroU64;
use core::panic::Location;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Identifies a task, unique among the tasks of the scheduler that spawned it.
///
/// Production schedulers draw ids from one process-wide counter; the `TestScheduler`
/// numbers its tasks 1, 2, 3, ... in spawn order, so the ids in a failure message are the
/// same on every replay of a seed.
///
/// ```
/// use unified_scheduler::TaskId;
///
/// let a = TaskId::from_raw(7).unwrap();
/// assert_eq!(a.as_u64(), 7);
/// assert_eq!(a.to_string(), "#7");
/// assert!(TaskId::from_raw(0).is_none());
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(NonZeroU64);

// `AtomicUsize`, not `AtomicU64`: 32-bit embedded targets have no 64-bit atomics.
static NEXT_GLOBAL_ID: AtomicUsize = AtomicUsize::new(1);
static NEXT_LABEL: AtomicUsize = AtomicUsize::new(1);

impl TaskId {
    /// Makes an id from its number; `None` for zero, which is never an id.
    ///
    /// ```
    /// use unified_scheduler::TaskId;
    /// assert_eq!(TaskId::from_raw(3).map(TaskId::as_u64), Some(3));
    /// ```
    pub const fn from_raw(id: u64) -> Option<Self> {
        match NonZeroU64::new(id) {
            Some(id) => Some(Self(id)),
            None => None,
        }
    }

    /// A fresh id from the process-wide counter, for schedulers that do not number their own
    /// tasks.
    ///
    /// ```
    /// use unified_scheduler::TaskId;
    /// assert_ne!(TaskId::next_global(), TaskId::next_global());
    /// ```
    pub fn next_global() -> Self {
        let id = NEXT_GLOBAL_ID.fetch_add(1, Ordering::Relaxed) as u64;
        // The counter starts at 1; on a 32-bit wrap it would pass through 0, so skip it.
        Self::from_raw(id).unwrap_or(Self(NonZeroU64::MIN))
    }

    /// The id as a number.
    ///
    /// ```
    /// use unified_scheduler::TaskId;
    /// assert_eq!(TaskId::from_raw(42).unwrap().as_u64(), 42);
    /// ```
    pub const fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A cheap, `Copy` tag for a group of tasks, e.g. "all the tasks of the indexer".
///
/// Every `TaskLabel::new()` is different from every other. Production schedulers may ignore
/// labels; the `TestScheduler` can deprioritize a label so its tasks run only when nothing
/// else can, which is how a test provokes "the slow path finished last".
///
/// ```
/// use unified_scheduler::TaskLabel;
///
/// let indexer = TaskLabel::new();
/// let copy = indexer;
/// assert_eq!(indexer, copy);
/// assert_ne!(indexer, TaskLabel::new());
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskLabel(NonZeroU64);

impl TaskLabel {
    /// A new label, distinct from every other label in the process.
    ///
    /// ```
    /// use unified_scheduler::TaskLabel;
    /// assert_ne!(TaskLabel::new(), TaskLabel::new());
    /// ```
    #[allow(clippy::new_without_default)] // a default label would not be unique
    pub fn new() -> Self {
        let n = NEXT_LABEL.fetch_add(1, Ordering::Relaxed) as u64;
        Self(NonZeroU64::new(n).unwrap_or(NonZeroU64::MIN))
    }

    /// The label as a number, for messages.
    ///
    /// ```
    /// use unified_scheduler::TaskLabel;
    /// assert!(TaskLabel::new().as_u64() > 0);
    /// ```
    pub const fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for TaskLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "label {}", self.0)
    }
}

/// What every [`Runnable`](crate::Runnable) carries: who it is and where it was spawned.
///
/// Schedulers read it with `runnable.metadata()`, e.g. to name a task in a message.
///
/// ```
/// use unified_scheduler::{TaskId, TaskMetadata};
///
/// let meta = TaskMetadata::here(TaskId::from_raw(5).unwrap(), None);
/// assert!(meta.to_string().starts_with("task #5 spawned at "));
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskMetadata {
    /// The task's id.
    pub id: TaskId,
    /// The label it was spawned with, if any.
    pub label: Option<TaskLabel>,
    /// Where it was spawned (the caller of `spawn`, via `#[track_caller]`).
    pub spawned_at: &'static Location<'static>,
    /// Whether it must run on the main thread.
    pub foreground: bool,
}

impl TaskMetadata {
    /// Metadata for a task spawned by the caller of this function.
    ///
    /// ```
    /// use unified_scheduler::{TaskId, TaskMetadata};
    ///
    /// let meta = TaskMetadata::here(TaskId::from_raw(1).unwrap(), None);
    /// assert_eq!(meta.spawned_at.line(), line!() - 1);
    /// ```
    #[track_caller]
    pub fn here(id: TaskId, label: Option<TaskLabel>) -> Self {
        Self::new(id, label, Location::caller(), false)
    }

    /// Metadata from all its parts.
    ///
    /// ```
    /// use core::panic::Location;
    /// use unified_scheduler::{TaskId, TaskLabel, TaskMetadata};
    ///
    /// let label = TaskLabel::new();
    /// let meta = TaskMetadata::new(TaskId::from_raw(2).unwrap(), Some(label), Location::caller(), true);
    /// assert_eq!(meta.label, Some(label));
    /// assert!(meta.foreground);
    /// ```
    pub const fn new(
        id: TaskId,
        label: Option<TaskLabel>,
        spawned_at: &'static Location<'static>,
        foreground: bool,
    ) -> Self {
        Self {
            id,
            label,
            spawned_at,
            foreground,
        }
    }
}

impl fmt::Display for TaskMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(label) = self.label {
            write!(f, " ({label})")?;
        }
        if self.foreground {
            f.write_str(" [foreground]")?;
        }
        write!(f, " spawned at {}", self.spawned_at)
    }
}
