//! A minimal async lock and a change notification, so that fixed variants can hold a critical section across an
//! `.await` and the deadlock bug has two locks to take. It uses no runtime of its own, so
//! it works under any `Scheduler` (and under shuttle through the adapter).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct State {
    locked: bool,
    waiters: Vec<Waker>,
}

/// An async mutual-exclusion lock with no data: shared state stays in `Shared` cells.
#[derive(Clone, Default)]
pub struct AsyncLock(Arc<Mutex<State>>);

impl AsyncLock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits until the lock is free, then holds it until the guard drops.
    pub fn lock(&self) -> Lock {
        Lock(self.clone())
    }
}

/// The future of [`AsyncLock::lock`].
pub struct Lock(AsyncLock);

impl Future for Lock {
    type Output = LockGuard;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard> {
        let mut state = (self.0).0.lock().unwrap();
        if state.locked {
            state.waiters.push(cx.waker().clone());
            Poll::Pending
        } else {
            state.locked = true;
            Poll::Ready(LockGuard(self.0.clone()))
        }
    }
}

/// Holds an [`AsyncLock`]; dropping it wakes every waiter, and one of them wins.
pub struct LockGuard(AsyncLock);

impl Drop for LockGuard {
    fn drop(&mut self) {
        let waiters = {
            let mut state = (self.0).0.lock().unwrap();
            state.locked = false;
            std::mem::take(&mut state.waiters)
        };
        // Wake outside the state lock: a wake may schedule (and, under shuttle, switch).
        for waker in waiters {
            waker.wake();
        }
    }
}

/// Wakes whoever waits for shared state to change: a wait without a spin.
#[derive(Clone, Default)]
pub struct Notify(Arc<Mutex<Vec<Waker>>>);

impl Notify {
    /// Wakes every waiter, which then checks its condition again.
    pub fn notify(&self) {
        let waiters = std::mem::take(&mut *self.0.lock().unwrap());
        for waker in waiters {
            waker.wake();
        }
    }

    /// Waits until `condition` holds, checking it again at each `notify`. Tasks interleave
    /// only at polls, so no notify falls between a check and its waker's registration.
    pub fn until<F: FnMut() -> bool>(&self, condition: F) -> Until<F> {
        Until(self.clone(), condition)
    }
}

/// The future of [`Notify::until`].
pub struct Until<F>(Notify, F);

impl<F: FnMut() -> bool + Unpin> Future for Until<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if (self.1)() {
            return Poll::Ready(());
        }
        (self.0).0.lock().unwrap().push(cx.waker().clone());
        Poll::Pending
    }
}
