//! `Task<T>`: the handle to a spawned future's output.

use ::core::fmt;
use ::core::future::Future;
use ::core::panic::Location;
use ::core::pin::Pin;
use ::core::task::{Context, Poll};

use super::metadata::{TaskId, TaskMetadata};
use super::tracking::{GaveUp, Watch};

type RawTask<T> = async_task::FallibleTask<T, TaskMetadata>;

/// A spawned task: a future that resolves to the task's output.
///
/// Dropping a `Task` cancels it: its future is dropped without running further. Call
/// [`detach`](Task::detach) to let it run to completion unobserved instead (this is the
/// difference from `tokio::spawn`, whose handle detaches on drop). A panic inside the task
/// reaches whoever awaits the `Task` (with `std`).
///
/// ```
/// use std::sync::Arc;
/// use unified_scheduler::{QueueScheduler, Scheduler};
///
/// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
/// let task = scheduler.spawn(async { 1 + 1 });
/// assert_eq!(scheduler.block(task), 2);
/// ```
#[must_use = "dropping a Task cancels it; call `.detach()` to let it run in the background"]
pub struct Task<T>(Inner<T>);

// Two variants, so the tag lives in the raw task's null niche: a `Task<u64>` is 32 bytes,
// not 40 (a third variant needs a tag word; every spawn moves the handle a few times).
enum Inner<T> {
    /// Finished: the output, until taken (also what `detach` and `cancel` leave behind).
    Ready { id: TaskId, value: Option<T> },
    Spawned {
        task: RawTask<T>,
        id: TaskId,
        spawned_at: &'static Location<'static>,
        /// What a scheduler that tracks its tasks is told (nothing in production builds).
        watch: Watch,
    },
}

// The output is moved out, never pinned, so no pin projection reaches `T`.
impl<T> Unpin for Task<T> {}

impl<T> Task<T> {
    #[inline]
    pub(crate) fn spawned(task: async_task::Task<T, TaskMetadata>, watch: Watch) -> Self {
        let meta = *task.metadata();
        Self(Inner::Spawned {
            task: task.fallible(),
            id: meta.id,
            spawned_at: meta.spawned_at,
            watch,
        })
    }

    /// A task that is already finished with `value`; awaiting it yields `value` at once.
    ///
    /// It belongs to no scheduler: its id is one no scheduler hands out.
    ///
    /// ```
    /// use futures_lite::future::block_on;
    /// use unified_scheduler::Task;
    ///
    /// let task = Task::ready(5);
    /// assert!(task.is_finished());
    /// assert!(task.id().to_string().starts_with("#ready-"));
    /// assert_eq!(block_on(task), 5);
    /// ```
    pub fn ready(value: T) -> Self {
        Self(Inner::Ready {
            id: TaskId::next_ready(),
            value: Some(value),
        })
    }

    /// The task's id, as its scheduler knows it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let scheduler: Arc<dyn Scheduler> = Arc::new(QueueScheduler::new());
    /// let a = scheduler.spawn(async {});
    /// let b = scheduler.spawn(async {});
    /// assert_ne!(a.id(), b.id());
    /// ```
    pub fn id(&self) -> TaskId {
        match &self.0 {
            Inner::Ready { id, .. } | Inner::Spawned { id, .. } => *id,
        }
    }

    /// Whether the task has finished (its output is ready, or it was cancelled).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let queue = Arc::new(QueueScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = queue.clone();
    /// let task = scheduler.spawn(async {});
    /// assert!(!task.is_finished());
    /// queue.run_all();
    /// assert!(task.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        match &self.0 {
            Inner::Ready { .. } => true,
            Inner::Spawned { task, .. } => task.is_finished(),
        }
    }

    /// Lets the task run to completion with nobody awaiting it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let queue = Arc::new(QueueScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = queue.clone();
    /// let ran = Arc::new(AtomicBool::new(false));
    /// let flag = ran.clone();
    /// scheduler.spawn(async move { flag.store(true, Ordering::SeqCst) }).detach();
    /// queue.run_all();
    /// assert!(ran.load(Ordering::SeqCst));
    /// ```
    pub fn detach(mut self) {
        if let Inner::Spawned { task, .. } = self.take_apart() {
            task.detach();
        }
    }

    /// Cancels the task and waits until its future is dropped; `Some(output)` if it had
    /// already finished.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let queue = Arc::new(QueueScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = queue.clone();
    /// let task = scheduler.spawn(std::future::pending::<()>());
    /// queue.run_all();
    /// assert_eq!(scheduler.block(task.cancel()), None);
    /// ```
    pub async fn cancel(mut self) -> Option<T> {
        self.tell_scheduler(GaveUp::Cancelled);
        match self.take_apart() {
            Inner::Ready { value, .. } => value,
            Inner::Spawned { task, .. } => task.cancel().await,
        }
    }

    /// The task's state, leaving a finished one with no output behind, for the drop.
    fn take_apart(&mut self) -> Inner<T> {
        let id = self.id();
        ::core::mem::replace(&mut self.0, Inner::Ready { id, value: None })
    }

    /// Turns the task into one whose output is `None` if it was cancelled (for instance
    /// because its scheduler was dropped) instead of panicking.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use unified_scheduler::{QueueScheduler, Scheduler};
    ///
    /// let queue = Arc::new(QueueScheduler::new());
    /// let scheduler: Arc<dyn Scheduler> = queue.clone();
    /// let task = scheduler.spawn(async { 3 }).fallible();
    /// queue.clear(); // drops the queued runnable: the task is cancelled
    /// assert_eq!(scheduler.block(task), None);
    /// ```
    pub fn fallible(self) -> FallibleTask<T> {
        FallibleTask(self)
    }

    /// Tells a tracking scheduler that this handle gives up on its unfinished task, once.
    #[inline]
    fn tell_scheduler(&mut self, how: GaveUp) {
        if let Inner::Spawned {
            task, id, watch, ..
        } = &mut self.0
        {
            watch.gave_up(*id, how, || task.is_finished());
        }
    }

    #[track_caller]
    #[inline]
    fn poll_output(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match &mut self.0 {
            Inner::Ready { value, .. } => Poll::Ready(value.take()),
            Inner::Spawned {
                task, id, watch, ..
            } => {
                let poll = Pin::new(task).poll(cx);
                if poll.is_pending() {
                    watch.note_pending(*id); // where the caller waits, for a stuck report
                }
                poll
            }
        }
    }
}

impl<T> Drop for Task<T> {
    #[inline]
    fn drop(&mut self) {
        self.tell_scheduler(GaveUp::Dropped);
    }
}

impl<T> Future for Task<T> {
    type Output = T;

    #[track_caller]
    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.poll_output(cx) {
            Poll::Ready(Some(value)) => Poll::Ready(value),
            Poll::Ready(None) => self.no_output(),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Task<T> {
    /// The panic of a poll that found no output: out of line and cold, so that `poll`
    /// stays small enough to inline into its caller.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn no_output(&self) -> ! {
        match &self.0 {
            Inner::Spawned { id, spawned_at, .. } => panic!(
                "task {id} spawned at {spawned_at} was cancelled before it finished \
                 (its scheduler dropped it, e.g. at shutdown), or was polled after it \
                 completed; await `.fallible()` to get `None` instead of this panic"
            ),
            _ => panic!("task {} was polled after it completed", self.id()),
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Task");
        d.field("id", &self.id());
        if let Inner::Spawned { spawned_at, .. } = &self.0 {
            d.field("spawned_at", spawned_at);
        }
        d.field("finished", &self.is_finished()).finish()
    }
}

/// A [`Task`] whose output is `None` when the task was cancelled; from [`Task::fallible`].
///
/// ```
/// use futures_lite::future::block_on;
/// use unified_scheduler::Task;
///
/// assert_eq!(block_on(Task::ready(1).fallible()), Some(1));
/// ```
#[must_use = "dropping a FallibleTask cancels it; call `.detach()` to let it run"]
pub struct FallibleTask<T>(Task<T>);

impl<T> FallibleTask<T> {
    /// The task's id.
    ///
    /// ```
    /// use unified_scheduler::Task;
    /// let task = Task::ready(());
    /// let id = task.id();
    /// assert_eq!(task.fallible().id(), id);
    /// ```
    pub fn id(&self) -> TaskId {
        self.0.id()
    }

    /// Lets the task run to completion with nobody awaiting it.
    ///
    /// ```
    /// use unified_scheduler::Task;
    /// Task::ready(()).fallible().detach();
    /// ```
    pub fn detach(self) {
        self.0.detach()
    }

    /// Whether the task has finished or was cancelled.
    ///
    /// ```
    /// use unified_scheduler::Task;
    /// assert!(Task::ready(()).fallible().is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}

impl<T> Future for FallibleTask<T> {
    type Output = Option<T>;

    #[track_caller]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.0.poll_output(cx)
    }
}

impl<T> fmt::Debug for FallibleTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FallibleTask").field(&self.0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Task;

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_task_handle_needs_no_tag_word() {
        // The raw task's null niche holds the variant; a third variant would add 8 bytes.
        assert_eq!(::core::mem::size_of::<Task<u64>>(), 32);
        assert_eq!(::core::mem::size_of::<Task<()>>(), 32);
    }
}
