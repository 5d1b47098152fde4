//! The wrapper around a linked task's future: it keeps the task's session current while it
//! is polled, records how the task ends, and stops it when the session cancels it.

use ::core::future::Future;
use ::core::pin::Pin;
use ::core::task::{Context, Poll};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;

use super::current;
use super::registry::{End, LinkKey, Registry};

/// The error text of a finished future's output, if it is an error worth reporting.
pub(super) type FailureOf<T> = fn(&T) -> Option<String>;

/// A linked task's future. Its output is `None` when its session cancelled it.
///
/// The future is boxed, so the wrapper is `Unpin` and needs no pin projection (a session
/// task is not the hot path: one more allocation buys no `unsafe`).
pub(super) struct Linked<F: Future> {
    future: Option<Pin<Box<F>>>,
    registry: Arc<Registry>,
    key: LinkKey,
    failure_of: FailureOf<F::Output>,
}

impl<F: Future> Linked<F> {
    pub(super) fn new(
        future: F,
        registry: Arc<Registry>,
        key: LinkKey,
        failure_of: FailureOf<F::Output>,
    ) -> Self {
        Self {
            future: Some(Box::pin(future)),
            registry,
            key,
            failure_of,
        }
    }

    /// Drops the future inside its session (its destructor may spawn), then records `end`.
    fn finish(&mut self, end: End, failure: Option<String>) {
        if let Some(future) = self.future.take() {
            let _scope = current::enter(self.registry.key(), self.key.session);
            drop(future);
        }
        self.registry.ended(self.key, end, failure);
    }
}

impl<F: Future> Future for Linked<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.future.is_none() {
            return Poll::Ready(None); // async-task never polls a finished future again
        }
        if this.registry.should_stop(this.key, cx.waker()) {
            this.finish(End::Cancelled, None);
            return Poll::Ready(None);
        }
        let polled = {
            let _scope = current::enter(this.registry.key(), this.key.session);
            this.future.as_mut().map(|future| future.as_mut().poll(cx))
        };
        match polled {
            Some(Poll::Ready(output)) => {
                let failure = (this.failure_of)(&output);
                this.finish(End::Finished, failure);
                Poll::Ready(Some(output))
            }
            _ => Poll::Pending,
        }
    }
}

impl<F: Future> Drop for Linked<F> {
    fn drop(&mut self) {
        if self.future.is_some() {
            self.finish(End::Cancelled, None);
        }
    }
}
