//! The way to the main thread: one queue of foreground runnables, pushed into from any
//! thread and drained on the main thread only, by the user's `calloop::EventLoop`
//! ([`ForegroundSource`], woken by a calloop `Ping`) or by `park` (and so `block`/
//! `run_until`) on the main thread. A `Ping`, unlike calloop's channel, is made fallibly,
//! so the dispatcher's constructor can return the error instead of panicking.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::io;

use calloop::ping::{Ping, PingError, PingSource, make_ping};
use calloop::{EventSource, Poll, PostAction, Readiness, Token, TokenFactory};

use crate::core::Runnable;
use crate::platform::main_thread::{MainThread, discard};
use crate::sync::Mutex;

/// The queue both sides share.
struct Queue {
    runnables: VecDeque<Runnable>,
    /// Wakes the user's event loop; `None` once the dispatcher is dropped.
    ping: Option<Ping>,
}

/// The sending side, shared with every task.
pub(super) struct Foreground {
    queue: Arc<Mutex<Queue>>,
    /// Woken when it is parked in `park`/`block`.
    pub(super) main: MainThread,
}

impl Foreground {
    /// A sender and its receiving queue; the calling thread is the main thread.
    pub(super) fn new() -> io::Result<(Self, MainQueue)> {
        let (ping, source) = make_ping()?;
        let queue = Arc::new(Mutex::new(Queue {
            runnables: VecDeque::new(),
            ping: Some(ping),
        }));
        let foreground = Self {
            queue: queue.clone(),
            main: MainThread::current(),
        };
        let main = MainQueue {
            queue,
            source: Arc::new(Mutex::new(SourceState {
                source,
                inserted: false,
            })),
        };
        Ok((foreground, main))
    }

    pub(super) fn send(&self, runnable: Runnable) {
        let mut queue = self.queue.lock();
        let Some(ping) = &queue.ping else {
            drop(queue);
            return discard([runnable]); // the dispatcher is gone
        };
        ping.ping();
        queue.runnables.push_back(runnable);
        drop(queue);
        self.main.unpark();
    }

    /// Stops sending: later `send`s cancel their task instead.
    pub(super) fn close(&self) {
        let ping = self.queue.lock().ping.take();
        drop(ping);
    }
}

/// The receiving end, used only on the main thread.
#[derive(Clone)]
pub(super) struct MainQueue {
    queue: Arc<Mutex<Queue>>,
    source: Arc<Mutex<SourceState>>,
}

struct SourceState {
    source: PingSource,
    /// Whether the source is registered with a user's `calloop::EventLoop`.
    inserted: bool,
}

impl MainQueue {
    pub(super) fn next(&self) -> Option<Runnable> {
        self.queue.lock().runnables.pop_front()
    }

    /// Runs the waiting runnables, up to `budget`; how many ran. The lock is not held while
    /// a task runs: it may block or spawn.
    pub(super) fn run(&self, budget: usize) -> usize {
        let mut ran = 0;
        while ran < budget {
            match self.next() {
                Some(runnable) => runnable.run(),
                None => break,
            };
            ran += 1;
        }
        ran
    }

    pub(super) fn drain(&self) -> Vec<Runnable> {
        self.queue.lock().runnables.drain(..).collect()
    }

    fn len(&self) -> usize {
        self.queue.lock().runnables.len()
    }
}

/// The event source `insert_into` registers: the foreground channel, run on dispatch.
pub(super) struct ForegroundSource {
    pub(super) main: MainQueue,
}

impl ForegroundSource {
    fn already_inserted() -> calloop::Error {
        calloop::Error::OtherError(
            "the LinuxDispatcher's foreground source is already in an event loop".into(),
        )
    }
}

impl EventSource for ForegroundSource {
    type Event = ();
    type Metadata = ();
    type Ret = ();
    type Error = PingError;

    fn process_events<C>(
        &mut self,
        readiness: Readiness,
        token: Token,
        _callback: C,
    ) -> Result<PostAction, Self::Error>
    where
        C: FnMut((), &mut ()),
    {
        // Take the ping first, then count: a runnable queued after the count pinged again
        // and runs on the loop's next dispatch, so other sources get their turn and no
        // runnable waits for a ping that was already taken.
        let action =
            self.main
                .source
                .lock()
                .source
                .process_events(readiness, token, |(), &mut ()| {})?;
        let queued = self.main.len();
        self.main.run(queued);
        Ok(action)
    }

    fn register(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        let mut state = self.main.source.lock();
        if state.inserted {
            return Err(Self::already_inserted());
        }
        state.source.register(poll, factory)?;
        state.inserted = true;
        Ok(())
    }

    fn reregister(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        self.main.source.lock().source.reregister(poll, factory)
    }

    fn unregister(&mut self, poll: &mut Poll) -> calloop::Result<()> {
        let mut state = self.main.source.lock();
        state.source.unregister(poll)?;
        state.inserted = false;
        Ok(())
    }
}
