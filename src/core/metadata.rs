//! Task identity: ids, labels and the metadata every runnable carries.

use ::core::fmt;
use ::core::num::{NonZeroU32, NonZeroU64};
use ::core::panic::Location;
#[cfg(target_has_atomic = "64")]
use ::core::sync::atomic::Ordering;

/// Identifies a task, unique among the tasks of the scheduler that spawned it.
///
/// Production schedulers draw ids from one process-wide pool (each thread takes a block of
/// them at a time, so spawning threads do not fight over one counter); the `TestScheduler`
/// numbers its tasks 1, 2, 3, ... in spawn order, so the ids in a failure message are the
/// same on every replay of a seed. A task made by [`Task::ready`](crate::Task::ready) belongs
/// to no scheduler: its id comes from a range no scheduler hands out, so no scheduler ever
/// mistakes it for one of its own. Ids are 64-bit on every target and never wrap into reuse.
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

/// The top bit marks the ids of ready tasks, which belong to no scheduler.
const READY_BIT: u64 = 1 << 63;

static NEXT_GLOBAL_ID: IdCounter = IdCounter::new();
static NEXT_READY_ID: IdCounter = IdCounter::new();
static NEXT_LABEL: IdCounter = IdCounter::new();

/// A counter of ids 1, 2, 3, ...: 64-bit everywhere, so it never wraps into reuse (a
/// 32-bit embedded target without 64-bit atomics counts under a lock instead).
pub(crate) struct IdCounter {
    #[cfg(target_has_atomic = "64")]
    next: ::core::sync::atomic::AtomicU64,
    #[cfg(not(target_has_atomic = "64"))]
    next: crate::sync::Mutex<u64>,
}

impl IdCounter {
    pub(crate) const fn new() -> Self {
        Self {
            #[cfg(target_has_atomic = "64")]
            next: ::core::sync::atomic::AtomicU64::new(1),
            #[cfg(not(target_has_atomic = "64"))]
            next: crate::sync::Mutex::new(1),
        }
    }

    /// The next number; never 0, and never past `READY_BIT` (2^63 ids would take a
    /// million years at a billion a second, so running out panics rather than wraps).
    pub(crate) fn next(&self) -> NonZeroU64 {
        self.take(1)
    }

    /// The first of `count` consecutive numbers, all of them the caller's.
    fn take(&self, count: u64) -> NonZeroU64 {
        #[cfg(target_has_atomic = "64")]
        let n = self.next.fetch_add(count, Ordering::Relaxed);
        #[cfg(not(target_has_atomic = "64"))]
        let n = {
            let mut next = self.next.lock();
            let n = *next;
            *next += count;
            n
        };
        match NonZeroU64::new(n) {
            Some(n) if n.get().saturating_add(count) <= READY_BIT => n,
            _ => panic!("unified-scheduler ran out of task ids after 2^63 of them"),
        }
    }
}

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
    #[inline]
    pub fn next_global() -> Self {
        #[cfg(feature = "std")]
        {
            Self(global_block::next())
        }
        #[cfg(not(feature = "std"))]
        {
            Self::counted(&NEXT_GLOBAL_ID)
        }
    }

    /// The id a scheduler's own counter handed out.
    #[cfg_attr(
        all(feature = "std", not(feature = "test-scheduler")),
        allow(dead_code) // std draws global ids in blocks; only a tracker counts one by one
    )]
    pub(crate) fn counted(counter: &IdCounter) -> Self {
        Self(counter.next())
    }

    /// A fresh id for a task that is ready from the start and belongs to no scheduler.
    pub(crate) fn next_ready() -> Self {
        Self(NEXT_READY_ID.next() | READY_BIT)
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

/// Global ids a block at a time per thread: a spawn then writes no cache line that other
/// spawning threads write too (a process-wide `fetch_add` per spawn would).
#[cfg(feature = "std")]
mod global_block {
    use ::core::cell::Cell;
    use ::core::num::NonZeroU64;

    use super::NEXT_GLOBAL_ID;

    /// How many ids a thread takes at once.
    const BLOCK: u64 = 1024;

    std::thread_local! {
        /// The thread's next id and the end of its block (`next == end`: take a new block).
        static BLOCK_LEFT: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
    }

    #[inline]
    pub(super) fn next() -> NonZeroU64 {
        BLOCK_LEFT
            .try_with(|left| {
                let (next, end) = left.get();
                match NonZeroU64::new(next) {
                    Some(id) if next < end => {
                        left.set((next + 1, end));
                        id
                    }
                    _ => first_of_new_block(left),
                }
            })
            // A thread being torn down has no locals left: take one id on its own.
            .unwrap_or_else(|_| NEXT_GLOBAL_ID.next())
    }

    /// Takes the thread's next block of ids; the first of them, for the caller.
    #[cold]
    fn first_of_new_block(left: &Cell<(u64, u64)>) -> NonZeroU64 {
        let start = NEXT_GLOBAL_ID.take(BLOCK);
        left.set((start.get() + 1, start.get() + BLOCK));
        start
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.get() {
            n if n & READY_BIT != 0 => write!(f, "#ready-{}", n & !READY_BIT),
            n => write!(f, "#{n}"),
        }
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
pub struct TaskLabel(NonZeroU32);

impl TaskLabel {
    /// A new label, distinct from every other label in the process.
    ///
    /// ```
    /// use unified_scheduler::TaskLabel;
    /// assert_ne!(TaskLabel::new(), TaskLabel::new());
    /// ```
    #[allow(clippy::new_without_default)] // a default label would not be unique
    #[must_use = "a label does nothing until tasks are spawned with it"]
    pub fn new() -> Self {
        // 32 bits: with the task's other small fields the metadata is 24 bytes, not 32, and
        // a trivial tracked task fits malloc's fast bins (see `TaskMetadata`).
        let n = NEXT_LABEL.next().get();
        let n = u32::try_from(n).ok().and_then(NonZeroU32::new);
        Self(n.expect(
            "more than 4 billion TaskLabels made: make a label once per kind of task (a \
             `static` or a field), not once per task",
        ))
    }

    /// The label as a number, for messages.
    ///
    /// ```
    /// use unified_scheduler::TaskLabel;
    /// assert!(TaskLabel::new().as_u64() > 0);
    /// ```
    pub const fn as_u64(self) -> u64 {
        self.0.get() as u64
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
    /// How urgent it is ([`Priority::Medium`] unless spawned with
    /// [`spawn_with_priority`](crate::Scheduler#method.spawn_with_priority)): every backend
    /// reads it to order its queues.
    pub priority: Priority,
    /// The `TestScheduler` session (foreground executor) a foreground task belongs to;
    /// 0 is the main session. Fits in the padding after `foreground`: the metadata stays
    /// 24 bytes.
    pub(crate) session: u16,
}

/// How urgent a task is, carried in its [`TaskMetadata`] so that every backend sees it:
/// the `TestScheduler` picks higher ones more often (by weight: a low task spawned first
/// still usually runs after a high one, but not always), the Linux pool runs higher ones
/// first without starving lower ones, Windows maps it to `TP_CALLBACK_PRIORITY`, GCD to a
/// QoS class. A label names a group of tasks; a priority orders them.
///
/// ```
/// use unified_scheduler::Priority;
///
/// assert_eq!(Priority::default(), Priority::Medium);
/// assert!(Priority::Realtime > Priority::High && Priority::High > Priority::Low);
/// ```
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Work nobody waits for (indexing, prefetching, cleanup).
    Low,
    /// The default.
    #[default]
    Medium,
    /// Work a user waits for.
    High,
    /// Latency-critical work (audio): the highest class every backend has.
    Realtime,
}

impl Priority {
    /// The `TestScheduler`'s weight for a task of this priority when it picks the next
    /// runnable: the chance a task is picked is its weight over the sum of the weights of
    /// all runnable tasks.
    ///
    /// ```
    /// use unified_scheduler::Priority;
    /// assert!(Priority::High.weight() > Priority::Medium.weight());
    /// ```
    pub const fn weight(self) -> usize {
        match self {
            Priority::Low => 1,
            Priority::Medium => 3,
            Priority::High => 9,
            Priority::Realtime => 27,
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Realtime => "realtime",
        })
    }
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
        Self::new(id, label, Location::caller())
    }

    /// Metadata of a background task from all its parts.
    ///
    /// ```
    /// use core::panic::Location;
    /// use unified_scheduler::{TaskId, TaskLabel, TaskMetadata};
    ///
    /// let label = TaskLabel::new();
    /// let meta = TaskMetadata::new(TaskId::from_raw(2).unwrap(), Some(label), Location::caller());
    /// assert_eq!(meta.label, Some(label));
    /// assert!(!meta.foreground);
    /// ```
    pub const fn new(
        id: TaskId,
        label: Option<TaskLabel>,
        spawned_at: &'static Location<'static>,
    ) -> Self {
        Self {
            id,
            label,
            spawned_at,
            foreground: false,
            priority: Priority::Medium,
            session: 0,
        }
    }

    /// The same metadata with `priority`.
    ///
    /// ```
    /// use unified_scheduler::{Priority, TaskId, TaskMetadata};
    ///
    /// let meta = TaskMetadata::here(TaskId::from_raw(4).unwrap(), None);
    /// assert_eq!(meta.priority, Priority::Medium);
    /// assert_eq!(meta.with_priority(Priority::High).priority, Priority::High);
    /// ```
    #[must_use]
    pub const fn with_priority(self, priority: Priority) -> Self {
        Self { priority, ..self }
    }

    /// The same metadata in a `TestScheduler` session.
    pub(crate) const fn in_session(self, session: u16) -> Self {
        Self { session, ..self }
    }

    /// The same metadata for a task that must run on the main thread.
    ///
    /// ```
    /// use unified_scheduler::{TaskId, TaskMetadata};
    ///
    /// let meta = TaskMetadata::here(TaskId::from_raw(3).unwrap(), None).for_main_thread();
    /// assert!(meta.foreground);
    /// ```
    #[must_use]
    pub const fn for_main_thread(self) -> Self {
        Self {
            foreground: true,
            ..self
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
