use ::core::future::Future;
use ::core::panic::Location;
use ::core::pin::Pin;
#[cfg(target_has_atomic = "64")]
use ::core::sync::atomic::AtomicU64;
use ::core::sync::atomic::{AtomicBool, Ordering};
use ::core::task::{Context, Poll};
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::core::metadata::{IdCounter, TaskId};
use crate::core::scheduler::Scheduler;
use crate::sync::Mutex;

/// How a task's future ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TaskEnd {
    /// The future returned a value. (The values are `EndGuard`'s codes, so that unpacking
    /// an end is a shift.)
    Completed = 0,
    /// The future was dropped before it finished.
    Cancelled = 1,
    /// The future panicked (the panic itself goes on to the task's awaiter; without `std`
    /// a panic aborts, so this never happens).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Panicked = 2,
}

/// How a `Task` handle gave up on its task before it finished.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum GaveUp {
    /// The `Task` was dropped (which cancels it).
    Dropped,
    /// `Task::cancel` was called.
    Cancelled,
}

/// What the log records about a task.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TaskEvent {
    /// Its future ended.
    Ended(TaskId, TaskEnd),
    /// Its handle gave up on it; the future ends (as `Cancelled`) when the scheduler next
    /// runs or drops its runnable.
    GaveUp(TaskId, GaveUp),
}

/// Where the guards of a scheduler's tasks record their ends.
#[derive(Default)]
pub(crate) struct EndLog {
    events: Mutex<Vec<TaskEvent>>,
    /// Whether `events` may hold something: lets the scheduler skip the lock when not.
    pending: AtomicBool,
    /// One end, packed as in `EndGuard`, or 0: an end that finds it free takes it, one
    /// atomic write in place of the lock of `events`. The scheduler empties it at every
    /// lock, and one task ends between two locks, so nearly every end takes it.
    #[cfg(target_has_atomic = "64")]
    last_end: AtomicU64,
    /// Wraps the waker each tracked task is polled with (the TestScheduler's
    /// `pending_traces`); `None`, the default, costs a poll one branch.
    #[cfg(feature = "std")]
    waker_hook: Option<Arc<dyn WakerHook>>,
}

/// Gives a tracked task's poll a waker of its own in place of the scheduler's: the
/// TestScheduler's `pending_traces` uses it to note where the task's waker is cloned.
#[cfg(feature = "std")]
pub(crate) trait WakerHook: Send + Sync {
    /// The waker task `task` is polled with, wrapping `waker`.
    fn wrap(&self, task: TaskId, waker: &::core::task::Waker) -> ::core::task::Waker;
}

impl EndLog {
    pub(crate) fn push(&self, event: TaskEvent) {
        self.events.lock().push(event);
        self.pending.store(true, Ordering::Release);
    }

    /// Whether something may have been recorded since the last drain.
    #[inline]
    pub(crate) fn has_events(&self) -> bool {
        self.pending.load(Ordering::Relaxed)
    }

    /// Moves the recorded events, oldest first, to the end of `into`.
    pub(crate) fn drain_into(&self, into: &mut Vec<TaskEvent>) {
        if self.pending.swap(false, Ordering::Acquire) {
            into.append(&mut self.events.lock());
        }
    }

    /// Records an end, packed as in `EndGuard`, in `last_end` if it is free; `false` if the
    /// caller must push it to `events`.
    #[inline]
    fn offer_end(&self, packed: u64) -> bool {
        #[cfg(target_has_atomic = "64")]
        return self
            .last_end
            .compare_exchange(0, packed, Ordering::Release, Ordering::Relaxed)
            .is_ok();
        #[cfg(not(target_has_atomic = "64"))]
        {
            let _ = packed;
            false
        }
    }

    /// Takes the end waiting in `last_end`, if any. The scheduler applies it after the
    /// events it drained: the order of two ends does not matter to it, and a task's
    /// `GaveUp` never follows its own end (a handle gives up only on an unfinished task).
    #[inline]
    pub(crate) fn take_last_end(&self) -> Option<(TaskId, TaskEnd)> {
        #[cfg(target_has_atomic = "64")]
        if self.last_end.load(Ordering::Relaxed) != 0 {
            return Some(unpack_end(self.last_end.swap(0, Ordering::Acquire)));
        }
        None
    }

    #[cfg(feature = "std")]
    fn address(&self) -> *const () {
        (self as *const Self).cast()
    }
}

/// A tracking scheduler's numbering and end log; see the module docs. Only this crate can
/// make one, so only this crate's schedulers track tasks.
pub struct Tracker {
    ids: IdCounter,
    log: Arc<EndLog>,
}

impl Tracker {
    pub(crate) fn new() -> Self {
        Self {
            ids: IdCounter::new(),
            log: Arc::new(EndLog::default()),
        }
    }

    /// A tracker whose tasks are polled with the wakers `hook` makes.
    #[cfg(feature = "std")]
    pub(crate) fn with_waker_hook(hook: Arc<dyn WakerHook>) -> Self {
        Self {
            ids: IdCounter::new(),
            log: Arc::new(EndLog {
                waker_hook: Some(hook),
                ..EndLog::default()
            }),
        }
    }

    /// The id of the next task: 1, 2, 3, ... in spawn order.
    pub(crate) fn next_id(&self) -> TaskId {
        TaskId::counted(&self.ids)
    }

    pub(crate) fn log(&self) -> &Arc<EndLog> {
        &self.log
    }
}

impl ::core::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.debug_struct("Tracker").finish_non_exhaustive()
    }
}

/// Where a blocked future (or task) last awaited a `Task` that was not ready.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "std"), allow(dead_code))] // noted only with `std`
pub(crate) struct Await {
    pub(crate) at: &'static Location<'static>,
    pub(crate) on: TaskId,
}

#[cfg(feature = "std")]
mod slot {
    use ::core::cell::Cell;

    use super::{Await, EndLog};

    /// The blocked future the thread is polling for a tracking scheduler right now, and the
    /// last `Task` of that scheduler it awaited without result.
    #[derive(Copy, Clone)]
    struct Polling {
        log: *const (),
        awaited: Option<Await>,
    }

    std::thread_local! {
        static POLLING: Cell<Polling> = const {
            Cell::new(Polling { log: ::core::ptr::null(), awaited: None })
        };
    }

    /// Puts back what a `Cell` held when dropped, even on unwinding: nested polls (a block
    /// inside a block) save and restore, so each sees only its own.
    struct Restore<T: Copy + 'static>(&'static std::thread::LocalKey<Cell<T>>, T);

    impl<T: Copy + 'static> Drop for Restore<T> {
        fn drop(&mut self) {
            self.0.set(self.1);
        }
    }

    /// Runs `poll` (a poll of a blocked future) for the scheduler whose log is `log`; the
    /// last `Task` of that scheduler it awaited without result, if any.
    pub(crate) fn poll_collecting(log: &EndLog, poll: impl FnOnce()) -> Option<Await> {
        let outer = POLLING.replace(Polling {
            log: log.address(),
            awaited: None,
        });
        let restore = Restore(&POLLING, outer);
        poll();
        let awaited = POLLING.get().awaited;
        drop(restore);
        awaited
    }

    /// Notes that the blocked future polled for the scheduler whose log is `log` awaited a
    /// task and has to wait for it.
    pub(crate) fn note_await(log: &EndLog, awaited: Await) {
        let _ = POLLING.try_with(|polling| {
            let mut current = polling.get();
            if current.log == log.address() {
                current.awaited = Some(awaited);
                polling.set(current);
            }
        });
    }
}

#[cfg(feature = "std")]
use slot::note_await;
#[cfg(feature = "std")]
pub(crate) use slot::poll_collecting;

/// What a spawned task's handle keeps of its scheduler's tracking: the log to tell when it
/// gives up, if the scheduler tracks tasks.
pub(crate) struct Watch(Option<Arc<EndLog>>);

/// The id of a new task, and its watch: numbered by the scheduler's tracker if it has one.
#[inline]
pub(crate) fn register(scheduler: &dyn Scheduler) -> (TaskId, Watch) {
    match scheduler.tracker() {
        Some(tracker) => (tracker.next_id(), Watch(Some(tracker.log().clone()))),
        None => (TaskId::next_global(), Watch(None)),
    }
}

impl Watch {
    /// `future` wrapped to record its end, if the task is tracked; `Err(future)` unchanged if
    /// not. The spawn helpers spawn either: an untracked task must stay as small as in a
    /// build without the TestScheduler (24 more bytes took a trivial task out of malloc's
    /// fast bins: 697 to 876 instructions a spawn, measured with callgrind).
    #[inline]
    pub(crate) fn track<F: Future>(&self, future: F, id: TaskId) -> Result<Tracked<F>, F> {
        match &self.0 {
            Some(log) => Ok(Tracked {
                future,
                guard: EndGuard::new(log.clone(), id),
            }),
            None => Err(future),
        }
    }

    /// Tells the scheduler, once, that the handle of task `id` gives up on it unfinished.
    #[inline]
    pub(crate) fn gave_up(&mut self, id: TaskId, how: GaveUp, finished: impl FnOnce() -> bool) {
        if self.0.is_none() {
            return; // untracked: the common case, with nothing to write
        }
        if let Some(log) = self.0.take() {
            if !finished() {
                log.push(TaskEvent::GaveUp(id, how));
            }
        }
    }

    /// Notes where the caller awaits task `on` without result, for the stuck report.
    #[track_caller]
    #[inline]
    pub(crate) fn note_pending(&self, on: TaskId) {
        #[cfg(feature = "std")]
        if let Some(log) = &self.0 {
            let at = Location::caller();
            note_await(log, Await { at, on });
        }
        #[cfg(not(feature = "std"))]
        let _ = on;
    }
}

/// Records how a tracked task's future ended when it is dropped: in its log's slot if
/// free, else in the log. Nothing else runs here (see the module docs).
struct EndGuard {
    log: Arc<EndLog>,
    /// The task's id in the low bits, how it ended in the top two: 16 bytes for the guard,
    /// not 24, so that a trivial tracked task stays within malloc's fast bins (120 bytes,
    /// not 136, with the 24-byte `TaskMetadata`: 1,498 to 1,369 instructions a task of
    /// `benches/instructions.rs`).
    id_and_end: u64,
}

/// Where `EndGuard::id_and_end` keeps the end. Tracked ids are counted from 1 and stay far
/// below 2^62 (a billion a second for 146 years).
const END_SHIFT: u32 = 62;
const ID_MASK: u64 = (1 << END_SHIFT) - 1;

impl EndGuard {
    #[inline]
    fn new(log: Arc<EndLog>, id: TaskId) -> Self {
        assert!(
            id.as_u64() <= ID_MASK,
            "task id {id} is too large to track (ids of one TestScheduler stay below 2^62)"
        );
        let mut guard = Self {
            log,
            id_and_end: id.as_u64(),
        };
        guard.set_end(TaskEnd::Cancelled);
        guard
    }

    #[inline]
    fn set_end(&mut self, end: TaskEnd) {
        let code = match end {
            TaskEnd::Completed => 0,
            TaskEnd::Cancelled => 1,
            TaskEnd::Panicked => 2,
        };
        self.id_and_end = (self.id_and_end & ID_MASK) | (code << END_SHIFT);
    }
}

/// The id and end an `EndGuard` packed in its `id_and_end`.
fn unpack_end(packed: u64) -> (TaskId, TaskEnd) {
    let id = TaskId::from_raw(packed & ID_MASK).expect("a tracked id is never 0");
    let end = match packed >> END_SHIFT {
        0 => TaskEnd::Completed,
        1 => TaskEnd::Cancelled,
        _ => TaskEnd::Panicked,
    };
    (id, end)
}

impl Drop for EndGuard {
    #[inline]
    fn drop(&mut self) {
        // Never 0: the id is not.
        if !self.log.offer_end(self.id_and_end) {
            let (id, end) = unpack_end(self.id_and_end);
            self.log.push(TaskEvent::Ended(id, end));
        }
    }
}

pub(crate) struct Tracked<F> {
    future: F,
    guard: EndGuard,
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: `future` is pinned structurally: it is never moved out of `Tracked`, and
        // is dropped in place with it; `guard` is never pinned (it is `Unpin` and only
        // written through `&mut`).
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: see above; `this.future` lives as long as the pinned `Tracked`.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        let guard = &mut this.guard;
        #[cfg(feature = "std")]
        let hook = guard.log.waker_hook.as_deref();
        #[cfg(feature = "std")]
        let packed = guard.id_and_end; // unpacked only for a hook
        #[cfg(feature = "std")]
        let poll = match std::panic::catch_unwind(::core::panic::AssertUnwindSafe(|| match hook {
            None => future.poll(cx),
            Some(hook) => {
                let id = unpack_end(packed).0;
                future.poll(&mut Context::from_waker(&hook.wrap(id, cx.waker())))
            }
        })) {
            Ok(poll) => poll,
            Err(panic) => {
                guard.set_end(TaskEnd::Panicked);
                std::panic::resume_unwind(panic)
            }
        };
        #[cfg(not(feature = "std"))]
        let poll = future.poll(cx);
        if poll.is_ready() {
            guard.set_end(TaskEnd::Completed);
        }
        poll
    }
}
