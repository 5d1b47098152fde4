//! The current session: per thread and per task, like a task-local.
//!
//! Each thread keeps a stack of `(context, session)` entries. `with_session` and every poll
//! of a linked task push one and pop it on return, panics included, so the previous session
//! comes back; the innermost entry of a context is its current session. Keyed by context, so
//! two contexts used on one thread never see each other's sessions.

use ::core::cell::RefCell;
use ::core::future::Future;
use alloc::boxed::Box;
use alloc::vec::Vec;

use super::registry::SessionId;

std::thread_local! {
    static STACK: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
}

struct Entry {
    context: u64,
    session: Option<SessionId>,
    /// Pushed by `enter` (popped by its guard), not by `set` outside any scope.
    scoped: bool,
}

/// The current session of the context `key` on this thread.
pub(super) fn get(key: u64) -> Option<SessionId> {
    STACK
        .try_with(|stack| {
            let stack = stack.borrow();
            stack
                .iter()
                .rev()
                .find(|e| e.context == key)
                .and_then(|e| e.session)
        })
        .unwrap_or(None)
}

/// Makes `session` current for `key` until the innermost scope around the call ends (or for
/// the thread, outside any scope); returns the session it replaces.
pub(super) fn set(key: u64, session: Option<SessionId>) -> Option<SessionId> {
    STACK
        .try_with(|stack| {
            let mut stack = stack.borrow_mut();
            let Some(at) = stack.iter().rposition(|e| e.context == key) else {
                stack.extend(session.map(|session| Entry {
                    context: key,
                    session: Some(session),
                    scoped: false,
                }));
                return None;
            };
            let previous = ::core::mem::replace(&mut stack[at].session, session);
            // Nothing to remember: a thread keeps no entry for every context it once saw. Only
            // from the top, so the depths the guards of scopes above it recorded stay right.
            if session.is_none() && !stack[at].scoped && at + 1 == stack.len() {
                stack.pop();
            }
            previous
        })
        .unwrap_or(None)
}

/// While alive, `session` is the current session of `key` on this thread.
#[must_use = "the session is current only while the guard lives"]
pub(crate) struct Entered {
    depth: usize,
}

/// Makes `session` current for `key` until the returned guard drops.
pub(super) fn enter(key: u64, session: SessionId) -> Entered {
    let depth = STACK
        .try_with(|stack| {
            let mut stack = stack.borrow_mut();
            stack.push(Entry {
                context: key,
                session: Some(session),
                scoped: true,
            });
            stack.len() - 1
        })
        .unwrap_or(usize::MAX);
    Entered { depth }
}

impl Drop for Entered {
    fn drop(&mut self) {
        // Truncating (not popping) also removes what `set` pushed inside the scope.
        let _ = STACK.try_with(|stack| stack.borrow_mut().truncate(self.depth));
    }
}

/// `future`, with `session` current for `key` at every poll.
pub(super) fn scoped<F: Future>(
    key: u64,
    session: SessionId,
    future: F,
) -> impl Future<Output = F::Output> {
    let mut future = Box::pin(future);
    ::core::future::poll_fn(move |cx| {
        let _scope = enter(key, session);
        future.as_mut().poll(cx)
    })
}
