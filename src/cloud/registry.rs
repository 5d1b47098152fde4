//! The sessions of one context and the tasks linked to each, behind one lock.
//!
//! A session is **open** from `create_session` until `end_session`, then **ended**: only its
//! `wait_until` work (and what that work spawns) still runs in it. `wait_on_session` on an
//! ended session hands over its results and forgets it. A linked task's record is **running**
//! from the link until its future finishes (finished) or is dropped unfinished (cancelled);
//! a record without an id is being spawned right now, on another thread.

use ::core::fmt;
use ::core::num::NonZeroU64;
use ::core::panic::Location;
use ::core::sync::atomic::{AtomicU64, Ordering};
use ::core::task::Waker;
use ::core::time::Duration;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::core::{Instant, TaskId, TaskLabel};
use crate::sync::Mutex;

use super::config::AtSessionEnd;
use super::error::{LinkedTask, SessionError};

/// Identifies a session (a request) of one execution context. Sessions are numbered 1, 2,
/// 3, ... in creation order, so the same seed names the same sessions on every replay.
///
/// ```
/// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
///
/// TestScheduler::once(|test| async move {
///     let ctx = SimulatedExecutionContext::new(test);
///     let first = ctx.create_session();
///     assert_eq!(first.as_u64(), 1);
///     assert_eq!(first.to_string(), "session #1");
///     assert_ne!(ctx.create_session(), first);
/// });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(NonZeroU64);

impl SessionId {
    /// The session's number.
    ///
    /// ```
    /// use unified_scheduler::{SimulatedExecutionContext, TestScheduler};
    ///
    /// TestScheduler::once(|test| async move {
    ///     let ctx = SimulatedExecutionContext::new(test);
    ///     assert_eq!(ctx.create_session().as_u64(), 1);
    ///     assert_eq!(ctx.create_session().as_u64(), 2);
    /// });
    /// ```
    pub const fn as_u64(self) -> u64 {
        self.0.get()
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "session #{}", self.0)
    }
}

/// Whether a linked task may outlive its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// Spawned through the context: must end before the session does.
    Spawned,
    /// Handed to `wait_until`: may outlive it.
    WaitUntil,
}

/// Where a linked task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum End {
    Running,
    Finished,
    Cancelled,
}

/// What the registry knows of one linked task.
#[derive(Debug)]
struct Record {
    /// `None` only while it is being spawned.
    id: Option<TaskId>,
    label: Option<TaskLabel>,
    spawned_at: &'static Location<'static>,
    kind: Kind,
    end: End,
    /// The `wait_until` work's error, as text.
    failure: Option<String>,
    /// Set when the session cancels the task: its next poll drops the future.
    cancel: bool,
    /// Woken to get that poll promptly.
    waker: Option<Waker>,
}

impl Record {
    fn linked_task(&self) -> Option<LinkedTask> {
        Some(LinkedTask {
            id: self.id?,
            label: self.label,
            spawned_at: self.spawned_at,
        })
    }

    fn is_running(&self, kind: Kind) -> bool {
        self.kind == kind && self.end == End::Running
    }
}

#[derive(Debug, Default)]
struct Session {
    /// When `end_session` ran.
    ended_at: Option<Instant>,
    passes_through: bool,
    /// By link order: reports list tasks in the order they were spawned.
    tasks: BTreeMap<u64, Record>,
    next_link: u64,
    /// `wait_on_session` calls waiting for the `wait_until` work to end.
    waiters: Vec<Waker>,
    /// `wait_on_session` handed over the results of this ended session: it is gone for its
    /// users, and forgotten once none of its tasks runs (a cancelled one may still have to
    /// be polled once to stop).
    collected: bool,
}

impl Session {
    fn running(&self, kind: Kind) -> impl Iterator<Item = &Record> {
        self.tasks.values().filter(move |r| r.is_running(kind))
    }

    /// Flags every running task of `kind` for cancellation; returns them and their wakers.
    fn cancel_running(&mut self, kind: Kind, wakers: &mut Vec<Waker>) -> Vec<LinkedTask> {
        let mut cancelled = Vec::new();
        for record in self.tasks.values_mut().filter(|r| r.is_running(kind)) {
            record.cancel = true;
            wakers.extend(record.waker.take());
            cancelled.extend(record.linked_task());
        }
        cancelled
    }
}

#[derive(Debug, Default)]
struct Sessions {
    /// How many sessions were created: every id up to it exists or has been forgotten.
    created: u64,
    live: BTreeMap<SessionId, Session>,
}

/// A task's place in the registry: its session and its link number there.
#[derive(Clone, Copy, Debug)]
pub(super) struct LinkKey {
    pub(super) session: SessionId,
    seq: u64,
}

/// The sessions of one context.
#[derive(Debug)]
pub(super) struct Registry {
    /// Tells this context's entries in the thread's current-session stack from others'.
    key: u64,
    at_end: AtSessionEnd,
    sessions: Mutex<Sessions>,
}

static NEXT_REGISTRY: AtomicU64 = AtomicU64::new(1);

/// Wakes after the lock is released: no waker runs while the registry is locked.
fn wake_all(wakers: Vec<Waker>) {
    for waker in wakers {
        waker.wake();
    }
}

impl Registry {
    pub(super) fn new(at_end: AtSessionEnd) -> Self {
        Self {
            key: NEXT_REGISTRY.fetch_add(1, Ordering::Relaxed),
            at_end,
            sessions: Mutex::new(Sessions::default()),
        }
    }

    pub(super) fn key(&self) -> u64 {
        self.key
    }

    pub(super) fn create(&self) -> SessionId {
        let mut sessions = self.sessions.lock();
        sessions.created += 1;
        let id = SessionId(NonZeroU64::new(sessions.created).expect("counted from 1"));
        sessions.live.insert(id, Session::default());
        id
    }

    /// Runs `f` on a session its users may still name, or says why there is none.
    fn with<R>(&self, id: SessionId, f: impl FnOnce(&mut Session) -> R) -> Result<R, SessionError> {
        let mut sessions = self.sessions.lock();
        let created = sessions.created;
        match sessions.live.get_mut(&id) {
            Some(session) if !session.collected => Ok(f(session)),
            Some(_) => Err(SessionError::Ended(id)),
            None if id.as_u64() <= created => Err(SessionError::Ended(id)),
            None => Err(SessionError::Unknown(id)),
        }
    }

    /// `Ok` if `id` is a session that has not ended.
    pub(super) fn check_open(&self, id: SessionId) -> Result<(), SessionError> {
        self.with(id, |s| s.ended_at.is_none())?
            .then_some(())
            .ok_or(SessionError::Ended(id))
    }

    /// Links a task that is about to be spawned to `session` (open or ended).
    pub(super) fn link(
        &self,
        session: SessionId,
        kind: Kind,
        label: Option<TaskLabel>,
        spawned_at: &'static Location<'static>,
    ) -> Result<LinkKey, SessionError> {
        self.with(session, |s| {
            let seq = s.next_link;
            s.next_link += 1;
            s.tasks.insert(
                seq,
                Record {
                    id: None,
                    label,
                    spawned_at,
                    kind,
                    end: End::Running,
                    failure: None,
                    cancel: false,
                    waker: None,
                },
            );
            LinkKey { session, seq }
        })
    }

    /// Records the id the scheduler gave the linked task.
    pub(super) fn spawned(&self, key: LinkKey, id: TaskId) {
        self.with_record(key, |_, record| record.id = Some(id));
    }

    /// Runs `f` on a linked task's record and its session (collected or not); a collected
    /// session is forgotten once none of its tasks runs.
    fn with_record<R>(
        &self,
        key: LinkKey,
        f: impl FnOnce(&mut Session, &mut Record) -> R,
    ) -> Option<R> {
        let mut sessions = self.sessions.lock();
        let session = sessions.live.get_mut(&key.session)?;
        // Taken out and put back so `f` may see the session and the record at once.
        let mut record = session.tasks.remove(&key.seq)?;
        let result = f(session, &mut record);
        session.tasks.insert(key.seq, record);
        if session.collected && !session.tasks.values().any(|r| r.end == End::Running) {
            sessions.live.remove(&key.session);
        }
        Some(result)
    }

    /// Before each poll: whether the session cancelled the task (then the caller drops its
    /// future). Otherwise keeps the task's waker, so a cancellation can wake it.
    pub(super) fn should_stop(&self, key: LinkKey, waker: &Waker) -> bool {
        self.with_record(key, |_, record| {
            if record.cancel {
                return true;
            }
            match &record.waker {
                Some(kept) if kept.will_wake(waker) => {}
                _ => record.waker = Some(waker.clone()),
            }
            false
        })
        .unwrap_or(false)
    }

    /// The linked task's future finished or was dropped; `failure` is the error of a
    /// `wait_until` work. The last `wait_until` work of an ended session ending also ends
    /// what is left of the session, as the Workers runtime does.
    pub(super) fn ended(&self, key: LinkKey, end: End, failure: Option<String>) {
        let mut wakers = Vec::new();
        self.with_record(key, |session, record| {
            if record.end != End::Running {
                return; // a handle's cancellation was recorded first
            }
            record.end = end;
            record.failure = failure;
            record.waker = None;
            if record.kind == Kind::WaitUntil {
                wakers.append(&mut session.waiters);
                let last = !session.running(Kind::WaitUntil).any(|_| true);
                if last
                    && session.ended_at.is_some()
                    && self.at_end == AtSessionEnd::CancelUncovered
                {
                    session.cancel_running(Kind::Spawned, &mut wakers);
                }
            }
        });
        wake_all(wakers);
    }

    /// Ends the session; cancels the tasks `wait_until` does not cover if the context says
    /// so, and returns them.
    pub(super) fn end(&self, id: SessionId, now: Instant) -> Result<Vec<LinkedTask>, SessionError> {
        let mut wakers = Vec::new();
        let cancelled = self.with(id, |session| {
            if session.ended_at.is_some() {
                return Err(SessionError::Ended(id));
            }
            session.ended_at = Some(now);
            Ok(match self.at_end {
                AtSessionEnd::CancelUncovered => session.cancel_running(Kind::Spawned, &mut wakers),
                AtSessionEnd::LetRun => Vec::new(),
            })
        })?;
        wake_all(wakers);
        cancelled
    }

    /// The running tasks that `wait_until` does not cover, if the session is open.
    pub(super) fn leaked(&self, id: SessionId) -> Result<Vec<LinkedTask>, SessionError> {
        self.check_open(id)?;
        self.with(id, |s| {
            s.running(Kind::Spawned)
                .filter_map(Record::linked_task)
                .collect()
        })
    }

    pub(super) fn pass_through(&self, id: SessionId) -> Result<(), SessionError> {
        self.with(id, |s| s.passes_through = true)
    }

    pub(super) fn passes_through(&self, id: SessionId) -> Result<bool, SessionError> {
        self.with(id, |s| s.passes_through)
    }

    /// When the session ended, if it has.
    pub(super) fn ended_at(&self, id: SessionId) -> Result<Option<Instant>, SessionError> {
        self.with(id, |s| s.ended_at)
    }

    /// Whether no `wait_until` work of the session is running; if some is, `waker` is woken
    /// when any of it ends.
    pub(super) fn work_settled(&self, id: SessionId, waker: &Waker) -> Result<bool, SessionError> {
        self.with(id, |s| {
            if s.running(Kind::WaitUntil).any(|_| true) {
                if !s.waiters.iter().any(|w| w.will_wake(waker)) {
                    s.waiters.push(waker.clone());
                }
                false
            } else {
                true
            }
        })
    }

    /// After `wait_on_session`: the failures of the session's `wait_until` work, and the work
    /// still running (`abandon`: cancelled and reported). An ended session is then forgotten.
    pub(super) fn collect(
        &self,
        id: SessionId,
        abandon: Option<Duration>,
    ) -> Result<(), SessionError> {
        let mut wakers = Vec::new();
        let errors = self.with(id, |session| {
            let mut errors: Vec<SessionError> = session
                .tasks
                .values()
                .filter(|r| r.kind == Kind::WaitUntil)
                .filter_map(|r| {
                    Some(SessionError::WorkFailed {
                        session: id,
                        task: r.linked_task()?,
                        message: r.failure.clone()?,
                    })
                })
                .collect();
            if let Some(limit) = abandon {
                let tasks = session.cancel_running(Kind::WaitUntil, &mut wakers);
                if !tasks.is_empty() {
                    errors.push(SessionError::WorkAbandoned {
                        session: id,
                        limit,
                        tasks,
                    });
                }
            }
            errors
        })?;
        let mut sessions = self.sessions.lock();
        if let Some(session) = sessions.live.get_mut(&id) {
            if session.ended_at.is_some() {
                session.collected = true;
                if !session.tasks.values().any(|r| r.end == End::Running) {
                    sessions.live.remove(&id);
                }
            }
        }
        drop(sessions);
        wake_all(wakers);
        SessionError::aggregate(errors)
    }

    /// A handle gave up on its unfinished task (dropped or cancelled it): it will never be
    /// polled again, so it no longer counts as running.
    pub(super) fn handle_cancelled(&self, key: LinkKey) {
        self.ended(key, End::Cancelled, None);
    }
}
