//! The way to the main thread: a calloop channel, sent into from any thread and drained on
//! the main thread only, by the user's `calloop::EventLoop` ([`ForegroundSource`]) or by
//! `park` (and so `block`/`run_until`) on the main thread.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::sync::mpsc::SendError;
use std::thread::ThreadId;

use calloop::channel::{self, Channel, Sender};
use calloop::{EventSource, Poll, PostAction, Readiness, Token, TokenFactory};

use crate::core::current_thread_id;
use crate::sync::Mutex;
use crate::{Runnable, Unparker};

/// The sending side, shared with every task.
pub(super) struct Foreground {
    /// `None` once the dispatcher is dropped.
    sender: Mutex<Option<Sender<Runnable>>>,
    /// Wakes the main thread when it is parked in `park`/`block`.
    main_unparker: Unparker,
    pub(super) main_thread: ThreadId,
}

impl Foreground {
    /// A sender and its receiving queue; the calling thread is the main thread.
    pub(super) fn new(main_unparker: Unparker) -> (Self, MainQueue) {
        let (sender, channel) = channel::channel();
        let foreground = Self {
            sender: Mutex::new(Some(sender)),
            main_unparker,
            main_thread: current_thread_id(),
        };
        let main = MainQueue {
            state: Arc::new(Mutex::new(MainState {
                channel,
                pending: VecDeque::new(),
                inserted: false,
            })),
        };
        (foreground, main)
    }

    pub(super) fn send(&self, runnable: Runnable) {
        let sender = self.sender.lock();
        let unsent = match sender.as_ref() {
            Some(sender) => sender
                .send(runnable)
                .err()
                .map(|SendError(runnable)| runnable),
            None => Some(runnable),
        };
        drop(sender);
        match unsent {
            None => self.main_unparker.unpark(),
            // The dispatcher is gone: dropping cancels the task (off the main thread, its
            // `!Send` future is leaked inside it, never dropped there).
            Some(runnable) => drop(runnable),
        }
    }

    /// Stops sending: later `send`s cancel their task instead.
    pub(super) fn close(&self) {
        self.sender.lock().take();
    }
}

/// The receiving end, used only on the main thread.
#[derive(Clone)]
pub(super) struct MainQueue {
    state: Arc<Mutex<MainState>>,
}

struct MainState {
    channel: Channel<Runnable>,
    /// Received by the user's event loop, not yet run (FIFO before the channel).
    pending: VecDeque<Runnable>,
    /// Whether the channel is registered with a user's `calloop::EventLoop`.
    inserted: bool,
}

impl MainQueue {
    pub(super) fn next(&self) -> Option<Runnable> {
        let mut state = self.state.lock();
        match state.pending.pop_front() {
            Some(runnable) => Some(runnable),
            None => state.channel.try_recv().ok(),
        }
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
        let mut state = self.state.lock();
        let mut all: Vec<Runnable> = state.pending.drain(..).collect();
        while let Ok(runnable) = state.channel.try_recv() {
            all.push(runnable);
        }
        all
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
    type Error = channel::ChannelError;

    fn process_events<C>(
        &mut self,
        readiness: Readiness,
        token: Token,
        _callback: C,
    ) -> Result<PostAction, Self::Error>
    where
        C: FnMut((), &mut ()),
    {
        let (action, received) = {
            let mut state = self.main.state.lock();
            let MainState {
                channel, pending, ..
            } = &mut *state;
            let before = pending.len();
            let action = channel.process_events(readiness, token, |event, &mut ()| {
                if let channel::Event::Msg(runnable) = event {
                    pending.push_back(runnable);
                }
            })?;
            (action, pending.len() - before)
        };
        // Run what this dispatch received (and what was left from before, first). Newer
        // runnables pinged the loop and run on its next dispatch, so other sources get
        // their turn.
        self.main.run(received);
        Ok(action)
    }

    fn register(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        let mut state = self.main.state.lock();
        if state.inserted {
            return Err(Self::already_inserted());
        }
        state.channel.register(poll, factory)?;
        state.inserted = true;
        Ok(())
    }

    fn reregister(&mut self, poll: &mut Poll, factory: &mut TokenFactory) -> calloop::Result<()> {
        self.main.state.lock().channel.reregister(poll, factory)
    }

    fn unregister(&mut self, poll: &mut Poll) -> calloop::Result<()> {
        let mut state = self.main.state.lock();
        state.channel.unregister(poll)?;
        state.inserted = false;
        Ok(())
    }
}
