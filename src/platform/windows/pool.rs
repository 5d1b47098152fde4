//! Background work on the Windows thread pool: the callback environments (one per
//! `TP_CALLBACK_PRIORITY`) and the private pool they bind, our FIFO queues of runnables (one
//! per callback priority), one simple callback submitted per runnable at its priority (a
//! failed submission is adopted by a callback in flight, else retried), and the callbacks
//! that run them. The runnables stay in our queues, not in the callbacks' contexts, so that
//! shutdown can take and cancel them.
//!
//! **Priorities.** A task's [`Priority`] picks its callback priority: `Low` runs at
//! `TP_CALLBACK_PRIORITY_LOW`, `Medium` at `NORMAL`, `High` and `Realtime` at `HIGH`. The
//! pool runs a callback of a higher priority before one of a lower priority; a callback of
//! priority `c` takes the head of queue `c`, so the order the pool picks is the order the
//! runnables run in. (Its queue is empty only if a callback adopted the runnable its
//! submission was for: then it takes the head of the most urgent non-empty queue, as
//! adopting callbacks do.) Ordering beyond that, and starvation, are the pool's business.

use ::core::cell::Cell;
use ::core::ffi::c_void;
use ::core::mem;
use ::core::ptr;
use ::core::time::Duration;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use std::io;
use std::thread;

use windows_sys::Win32::System::Threading::{
    CloseThreadpool, CreateThreadpool, PTP_POOL, PTP_SIMPLE_CALLBACK, SetThreadpoolThreadMaximum,
    SetThreadpoolThreadMinimum, TP_CALLBACK_ENVIRON_V3, TP_CALLBACK_PRIORITY,
    TP_CALLBACK_PRIORITY_COUNT, TP_CALLBACK_PRIORITY_HIGH, TP_CALLBACK_PRIORITY_LOW,
    TP_CALLBACK_PRIORITY_NORMAL, TrySubmitThreadpoolCallback,
};

use super::Shared;
use crate::core::{Priority, Runnable};

/// How many callback priorities there are: the length of the per-priority arrays, which are
/// indexed by `TP_CALLBACK_PRIORITY` (`HIGH` 0, `NORMAL` 1, `LOW` 2).
const CLASSES: usize = TP_CALLBACK_PRIORITY_COUNT as usize;

/// The classes, most urgent first (the order adopting callbacks look at the queues in).
const MOST_URGENT_FIRST: [usize; CLASSES] = [
    TP_CALLBACK_PRIORITY_HIGH as usize,
    TP_CALLBACK_PRIORITY_NORMAL as usize,
    TP_CALLBACK_PRIORITY_LOW as usize,
];

/// The callback priority a background task of `priority` runs at.
fn callback_priority(priority: Priority) -> TP_CALLBACK_PRIORITY {
    match priority {
        Priority::Low => TP_CALLBACK_PRIORITY_LOW,
        Priority::Medium => TP_CALLBACK_PRIORITY_NORMAL,
        Priority::High | Priority::Realtime => TP_CALLBACK_PRIORITY_HIGH,
    }
}

/// The class (index of the per-priority arrays) of a background runnable.
pub(super) fn class_of(runnable: &Runnable) -> usize {
    callback_priority(runnable.metadata().priority) as usize
}

/// The callback submitted for a runnable of each class, by class.
const CALLBACKS: [PTP_SIMPLE_CALLBACK; CLASSES] = [
    Some(work_callback::<0>),
    Some(work_callback::<1>),
    Some(work_callback::<2>),
];
use crate::platform::unwind::{no_unwind, run_guarded};

/// Our FIFO queues of background runnables, one per class, and the callbacks counted
/// against them.
pub(super) struct Pool {
    /// By class: the runnables a callback of that priority was submitted for.
    queues: [VecDeque<Runnable>; CLASSES],
    /// Submitted callbacks (of any priority) that have not started yet.
    pending: usize,
    /// Callbacks counted in `pending` whose submission is still under way (the submitting
    /// thread has released the lock but not yet returned from the pool): `Drop` waits for
    /// them to be zero before it closes the private pool, which they submit to.
    pub(super) submitting: usize,
    /// Callbacks running runnables of ours.
    pub(super) running: usize,
    /// Callbacks whose task is blocked in `block`, each counted once: the private pool's
    /// thread limit is raised by this many, so blocked threads never starve the queue.
    blocked: usize,
    pub(super) shutdown: bool,
}

impl Pool {
    pub(super) fn new() -> Self {
        Self {
            queues: [
                VecDeque::new(),
                VecDeque::with_capacity(1024), // NORMAL: the default priority's
                VecDeque::new(),
            ],
            pending: 0,
            submitting: 0,
            running: 0,
            blocked: 0,
            shutdown: false,
        }
    }

    /// How many runnables wait, in every queue.
    pub(super) fn len(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum()
    }

    /// Takes every queued runnable (shutdown), most urgent first.
    pub(super) fn take_all(&mut self) -> impl Iterator<Item = Runnable> + '_ {
        MOST_URGENT_FIRST
            .into_iter()
            .flat_map(|class| mem::take(&mut self.queues[class]))
    }

    /// The head of queue `class`, else the head of the most urgent non-empty queue.
    fn pop(&mut self, class: usize) -> Option<Runnable> {
        self.queues[class]
            .pop_front()
            .or_else(|| self.pop_most_urgent())
    }

    /// The head of the most urgent non-empty queue.
    fn pop_most_urgent(&mut self) -> Option<Runnable> {
        MOST_URGENT_FIRST
            .into_iter()
            .find_map(|class| self.queues[class].pop_front())
    }

    /// The class of the most urgent runnable waiting, `NORMAL`'s if none waits.
    fn most_urgent_class(&self) -> usize {
        MOST_URGENT_FIRST
            .into_iter()
            .find(|&class| !self.queues[class].is_empty())
            .unwrap_or(TP_CALLBACK_PRIORITY_NORMAL as usize)
    }
}

/// The `TP_CALLBACK_ENVIRON_V3`s, one per callback priority (by class), all binding the same
/// pool; shareable: they are only read (by the thread-pool calls that copy them), and their
/// pool handle stays valid while anything can still submit to it.
pub(super) struct CallbackEnvs([TP_CALLBACK_ENVIRON_V3; CLASSES]);

// SAFETY: the environments are plain data (handles and pointers that are all null except
// the pool handle); the Windows thread-pool functions only read them and may be called from
// any thread, so sharing a `&CallbackEnvs` across threads is sound.
unsafe impl Send for CallbackEnvs {}
// SAFETY: as above.
unsafe impl Sync for CallbackEnvs {}

impl CallbackEnvs {
    /// The environment of callback priority `class`.
    fn of(&self, class: usize) -> &TP_CALLBACK_ENVIRON_V3 {
        &self.0[class]
    }

    /// The environment of normal callback priority (timers use it).
    pub(super) fn normal(&self) -> &TP_CALLBACK_ENVIRON_V3 {
        self.of(TP_CALLBACK_PRIORITY_NORMAL as usize)
    }

    /// The private pool the environments bind, 0 for the process-wide pool.
    fn pool(&self) -> PTP_POOL {
        self.normal().Pool
    }
}

/// `SetThreadpoolCallbackPriority`, which `<threadpoolapiset.h>` defines inline (no DLL
/// exports it, so windows-sys has no binding): it sets the field of a V3 environment.
fn set_callback_priority(env: &mut TP_CALLBACK_ENVIRON_V3, priority: TP_CALLBACK_PRIORITY) {
    debug_assert!(
        env.Version >= 3,
        "callback priorities need a V3 environment"
    );
    env.CallbackPriority = priority;
}

std::thread_local! {
    /// The `Shared` whose runnables this pool thread is running right now (null if none),
    /// so `Drop` does not wait for its own callback.
    pub(super) static RUNNING_FOR: Cell<*const Shared> = const { Cell::new(ptr::null()) };
    /// Whether the task this pool thread runs is blocked in `block` (and so counted in
    /// `Pool::blocked`) until its poll returns.
    static BLOCKING: Cell<bool> = const { Cell::new(false) };
}

/// The callback environments for [`worker_threads`](super::WindowsDispatcherConfig::worker_threads),
/// one per callback priority, the private pool they bind (0 for the process-wide pool) and
/// the pool's thread count.
pub(super) fn callback_envs(
    worker_threads: Option<usize>,
) -> io::Result<(CallbackEnvs, PTP_POOL, usize)> {
    let mut env = TP_CALLBACK_ENVIRON_V3 {
        Version: 3,
        CallbackPriority: TP_CALLBACK_PRIORITY_NORMAL,
        Size: mem::size_of::<TP_CALLBACK_ENVIRON_V3>() as u32,
        ..TP_CALLBACK_ENVIRON_V3::default()
    };
    let (private_pool, threads) = match worker_threads {
        None => (0, thread::available_parallelism().map_or(1, |n| n.get())),
        Some(max) => {
            let max = max.clamp(1, u32::MAX as usize);
            // SAFETY: the reserved argument must be null, and is.
            let pool = unsafe { CreateThreadpool(ptr::null()) };
            if pool == 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `pool` is a live pool we just created; minimum == maximum, so the
            // pool starts its threads now and never creates more on submission.
            let started = unsafe {
                SetThreadpoolThreadMaximum(pool, max as u32);
                SetThreadpoolThreadMinimum(pool, max as u32)
            };
            if started == 0 {
                let error = io::Error::last_os_error();
                // SAFETY: nothing was bound to the pool yet.
                unsafe { CloseThreadpool(pool) };
                return Err(error);
            }
            env.Pool = pool;
            (pool, max)
        }
    };
    let envs = [
        TP_CALLBACK_PRIORITY_HIGH,
        TP_CALLBACK_PRIORITY_NORMAL,
        TP_CALLBACK_PRIORITY_LOW,
    ]
    .map(|priority| {
        let mut env = env;
        set_callback_priority(&mut env, priority);
        env
    });
    debug_assert!(
        (0..CLASSES).all(|class| envs[class].CallbackPriority as usize == class),
        "the environments are indexed by their priority"
    );
    Ok((CallbackEnvs(envs), private_pool, threads))
}

impl Shared {
    /// Queues a background runnable and submits a callback at its priority for it.
    pub(super) fn push(self: &Arc<Self>, runnable: Runnable) {
        if let Some(class) = self.enqueue(runnable) {
            self.submit(class);
        }
    }

    /// Queues a background runnable and counts the callback it needs, without submitting
    /// it yet: the class to submit it at, or `None` if the pool is shut down (the task is
    /// cancelled instead).
    pub(super) fn enqueue(&self, runnable: Runnable) -> Option<usize> {
        let mut pool = self.pool.lock();
        if pool.shutdown {
            // A wake after shutdown (through the task queue): the task is cancelled like
            // every other one at shutdown.
            drop(pool);
            drop(runnable);
            return None;
        }
        let class = class_of(&runnable);
        pool.queues[class].push_back(runnable);
        pool.pending += 1;
        pool.submitting += 1;
        Some(class)
    }

    /// The task running on this pool thread is about to block in `block`: raise the private
    /// pool's thread limit by one for as long as it blocks, and submit one more callback so
    /// the pool starts a thread for the work that waits (Windows, and Wine, start threads on
    /// submission). On the process-wide pool the submission alone makes the system grow it.
    /// Nothing on other threads, and once per blocked task.
    pub(super) fn begin_blocking(self: &Arc<Self>) {
        let ours = RUNNING_FOR.with(|running| ptr::eq(running.get(), Arc::as_ptr(self)));
        if !ours || BLOCKING.with(|blocking| blocking.replace(true)) {
            return;
        }
        let mut pool = self.pool.lock();
        if pool.shutdown {
            return;
        }
        pool.blocked += 1;
        self.set_thread_limit(&pool);
        pool.pending += 1;
        pool.submitting += 1;
        // At the priority of the most urgent work that waits for the new thread.
        let class = pool.most_urgent_class();
        drop(pool);
        self.submit(class);
    }

    /// After a runnable ran on this pool thread: if its task blocked, take back the thread
    /// it was lent.
    fn end_blocking(&self) {
        if !BLOCKING.with(|blocking| blocking.replace(false)) {
            return;
        }
        let mut pool = self.pool.lock();
        pool.blocked -= 1;
        if !pool.shutdown {
            self.set_thread_limit(&pool);
        }
    }

    /// Sets the private pool's maximum to its threads plus the blocked ones. Called under
    /// the pool lock, before shutdown, so the pool handle is open (`Drop` closes it only
    /// after every callback but its own caller's has stopped running).
    fn set_thread_limit(&self, pool: &Pool) {
        if self.envs.pool() == 0 {
            return; // the process-wide pool: the system sizes it
        }
        let max = (self.threads + pool.blocked).min(u32::MAX as usize) as u32;
        // SAFETY: the private pool is open (see above); raising or lowering the maximum of
        // a pool whose minimum stays below it is always allowed.
        unsafe { SetThreadpoolThreadMaximum(self.envs.pool(), max) };
    }

    /// Submits one callback of class `class`, already counted in `pending` and
    /// `submitting`. See the implementation notes: on failure, an in-flight callback adopts
    /// the runnable, or we retry.
    pub(super) fn submit(self: &Arc<Self>, class: usize) {
        self.try_submit(class);
        let mut pool = self.pool.lock();
        pool.submitting -= 1;
        if pool.shutdown && pool.submitting == 0 {
            self.pool_idle.notify_all(); // `Drop` may close the pool now
        }
    }

    fn try_submit(self: &Arc<Self>, class: usize) {
        loop {
            let context = Arc::into_raw(self.clone());
            // SAFETY: `work_callback` has the simple-callback signature; `context` is a
            // strong reference that the callback takes back; the environment is a valid V3
            // environment (with a valid callback priority) whose pool (if any) is open
            // while the dispatcher lives.
            let submitted = unsafe {
                TrySubmitThreadpoolCallback(
                    CALLBACKS[class],
                    context as *mut c_void,
                    self.envs.of(class),
                )
            };
            if submitted != 0 {
                return;
            }
            // SAFETY: the submission failed, so no callback owns `context`: take it back.
            drop(unsafe { Arc::from_raw(context) });
            let mut pool = self.pool.lock();
            // Another pending or running callback takes over our runnable.
            if pool.shutdown || pool.pending + pool.running > 1 {
                pool.pending -= 1;
                return;
            }
            drop(pool);
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// One submitted callback of class `class`: run one runnable (of its class if one
    /// waits), then any that no callback is coming for, most urgent first.
    fn work(&self, class: usize) {
        let mut pool = self.pool.lock();
        pool.pending -= 1;
        if pool.shutdown {
            return;
        }
        let Some(mut runnable) = pool.pop(class) else {
            return;
        };
        pool.running += 1;
        drop(pool);
        let previous = RUNNING_FOR.with(|running| running.replace(self as *const Shared));
        loop {
            run_guarded(runnable);
            self.end_blocking();
            let mut pool = self.pool.lock();
            if !pool.shutdown && pool.len() > pool.pending {
                if let Some(next) = pool.pop_most_urgent() {
                    runnable = next;
                    continue;
                }
            }
            pool.running -= 1;
            if pool.shutdown {
                self.pool_idle.notify_all();
            }
            break;
        }
        RUNNING_FOR.with(|running| running.set(previous));
    }
}

/// The simple callback submitted once per background runnable of class `CLASS`.
unsafe extern "system" fn work_callback<const CLASS: usize>(
    _instance: isize,
    context: *mut c_void,
) {
    no_unwind("thread-pool callback", || {
        // SAFETY: `context` is the strong reference `submit` leaked for this callback,
        // which runs once: we take it back exactly once.
        let shared = unsafe { Arc::from_raw(context as *const Shared) };
        shared.work(CLASS);
    });
}
