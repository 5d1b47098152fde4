//! A small bounded async channel (any number of senders, one receiver) for the `channels` and
//! `web_server` workloads of `benches/dispatchers.rs`. Every peer runs the same channel, so a
//! difference between peers is the executor's, not the channel's.
//!
//! One lock around a `VecDeque`, the receiver's waker and a line of waiting senders' wakers.
//! A receive wakes one waiting sender; a send wakes the receiver. Enough for the benches, not
//! a general channel: a send future dropped while it waits may leave its waker in line (the
//! workloads never drop one), so that wake goes to nobody.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use std::sync::Mutex;

struct State<T> {
    queue: VecDeque<T>,
    capacity: usize,
    /// The receiver, when it waits for a message.
    receiver: Option<Waker>,
    /// Senders waiting for room, first come first served.
    waiting_senders: VecDeque<Waker>,
    /// Live `Sender`s; at zero, `recv` returns `None` once the queue is empty.
    senders: usize,
    receiver_alive: bool,
}

type Shared<T> = Arc<Mutex<State<T>>>;

/// A channel holding at most `capacity` messages (at least 1).
pub(crate) fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Mutex::new(State {
        queue: VecDeque::with_capacity(capacity.max(1)),
        capacity: capacity.max(1),
        receiver: None,
        waiting_senders: VecDeque::new(),
        senders: 1,
        receiver_alive: true,
    }));
    (Sender(shared.clone()), Receiver(shared))
}

/// The sending side; clone it for more senders.
pub(crate) struct Sender<T>(Shared<T>);

/// The receiving side.
pub(crate) struct Receiver<T>(Shared<T>);

impl<T> Sender<T> {
    /// Waits for room and sends `value`; `Err(value)` once the receiver is gone.
    pub(crate) fn send(&self, value: T) -> Send<'_, T> {
        Send {
            shared: &self.0,
            value: Some(value),
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.0.lock().unwrap().senders += 1;
        Self(self.0.clone())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let receiver = {
            let mut state = self.0.lock().unwrap();
            state.senders -= 1;
            if state.senders == 0 {
                state.receiver.take()
            } else {
                None
            }
        };
        if let Some(waker) = receiver {
            waker.wake();
        }
    }
}

/// The future of [`Sender::send`].
pub(crate) struct Send<'a, T> {
    shared: &'a Shared<T>,
    value: Option<T>,
}

// The value is moved out by `Option::take`, never pinned.
impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let value = this.value.take().expect("`Send` polled after it finished");
        let mut state = this.shared.lock().unwrap();
        if !state.receiver_alive {
            return Poll::Ready(Err(value));
        }
        if state.queue.len() < state.capacity {
            state.queue.push_back(value);
            let receiver = state.receiver.take();
            drop(state);
            if let Some(waker) = receiver {
                waker.wake();
            }
            return Poll::Ready(Ok(()));
        }
        state.waiting_senders.push_back(cx.waker().clone());
        drop(state);
        this.value = Some(value);
        Poll::Pending
    }
}

impl<T> Receiver<T> {
    /// The next message, or `None` once every sender is gone and the queue is empty.
    pub(crate) fn recv(&self) -> Recv<'_, T> {
        Recv(&self.0)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let senders = {
            let mut state = self.0.lock().unwrap();
            state.receiver_alive = false;
            core::mem::take(&mut state.waiting_senders)
        };
        senders.into_iter().for_each(Waker::wake);
    }
}

/// The future of [`Receiver::recv`].
pub(crate) struct Recv<'a, T>(&'a Shared<T>);

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.0.lock().unwrap();
        if let Some(value) = state.queue.pop_front() {
            let sender = state.waiting_senders.pop_front();
            drop(state);
            if let Some(waker) = sender {
                waker.wake();
            }
            return Poll::Ready(Some(value));
        }
        if state.senders == 0 {
            return Poll::Ready(None);
        }
        match &mut state.receiver {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}
