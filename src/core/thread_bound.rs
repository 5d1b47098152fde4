//! Keeps a `!Send` foreground future on the thread that spawned it.
//!
//! `spawn_foreground` hands its future to `async_task::Builder::spawn_unchecked`, which trusts
//! the caller to poll and drop a `!Send` future only on its own thread. `ThreadBound` is how
//! we keep that promise: every poll and the drop check the thread. A poll on the wrong thread
//! panics naming the task and where it was spawned; a drop there leaks the future with a
//! message on stderr. Never a data race.
//!
//! This is the crate's one rule for foreground work off its thread, cited by every backend:
//! a foreground *runnable* may be dropped anywhere (that cancels the task, and its awaiter
//! hears of it); only the future inside is leaked when the drop happens on another thread.
//! Nothing forgets a runnable.

use ::core::future::Future;
use ::core::mem::ManuallyDrop;
use ::core::pin::Pin;
use ::core::task::{Context, Poll};
use std::thread::{self, ThreadId};

use super::TaskMetadata;

/// The calling thread's id, cached: `thread::current()` clones an `Arc` on every call.
#[inline]
pub(crate) fn current_thread_id() -> ThreadId {
    std::thread_local! {
        // Const-initialized, filled on first use: a lazily initialized local would check its
        // registration on every call (this is on every TestScheduler wake).
        static ID: ::core::cell::Cell<Option<ThreadId>> = const { ::core::cell::Cell::new(None) };
    }
    // During thread-local destruction the cache is gone; ask the slow way.
    ID.try_with(|id| match id.get() {
        Some(known) => known,
        None => {
            let current = thread::current().id();
            id.set(Some(current));
            current
        }
    })
    .unwrap_or_else(|_| thread::current().id())
}

pub(crate) struct ThreadBound<F> {
    future: ManuallyDrop<F>,
    owner: ThreadId,
    task: TaskMetadata,
}

impl<F> ThreadBound<F> {
    pub(crate) fn new(future: F, task: TaskMetadata) -> Self {
        Self {
            future: ManuallyDrop::new(future),
            owner: current_thread_id(),
            task,
        }
    }

    fn misplaced(&self, what: &str) -> alloc::string::String {
        let here = thread::current();
        alloc::format!(
            "foreground {} was {what} on thread {:?} ({:?}), but it belongs to the thread \
             that spawned it ({:?}); a foreground task must stay on its main thread",
            self.task,
            here.name().unwrap_or("<unnamed>"),
            here.id(),
            self.owner,
        )
    }
}

impl<F: Future> Future for ThreadBound<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if current_thread_id() != self.owner {
            panic!("{}", self.misplaced("polled"));
        }
        // SAFETY: `future` is structurally pinned: we never move it out of `self`, and it is
        // dropped in place (in `Drop` below) or leaked, never moved after this pin.
        let future = unsafe { self.map_unchecked_mut(|this| &mut *this.future) };
        future.poll(cx)
    }
}

impl<F> Drop for ThreadBound<F> {
    fn drop(&mut self) {
        if current_thread_id() != self.owner {
            // Leak the future: running its destructor here would touch `!Send` state from
            // the wrong thread. We cannot panic either: async-task drops futures under an
            // abort-on-unwind guard, so a panic here would abort the process. Say so instead,
            // with a write that cannot panic (`eprintln!` panics if stderr is closed).
            use std::io::Write;
            let message = alloc::format!(
                "unified-scheduler: {}; its future is leaked (the task is cancelled)\n",
                self.misplaced("dropped")
            );
            let _ = std::io::stderr().write_all(message.as_bytes());
            return;
        }
        // SAFETY: we are on the owner thread, and `future` is dropped exactly once: here.
        unsafe { ManuallyDrop::drop(&mut self.future) }
    }
}
