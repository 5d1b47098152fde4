//! Background work on the Windows thread pool: the callback environment and the private
//! pool it binds, our FIFO queue of runnables, one simple callback submitted per runnable
//! (a failed submission is adopted by a callback in flight, else retried), and the callback
//! that runs them. The runnables stay in our queue, not in the callbacks' contexts, so that
//! shutdown can take and cancel them.

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
    CloseThreadpool, CreateThreadpool, PTP_POOL, SetThreadpoolThreadMaximum,
    SetThreadpoolThreadMinimum, TP_CALLBACK_ENVIRON_V3, TP_CALLBACK_PRIORITY_NORMAL,
    TrySubmitThreadpoolCallback,
};

use super::Shared;
use crate::core::Runnable;
use crate::platform::unwind::{no_unwind, run_guarded};

/// Our FIFO queue of background runnables and the callbacks counted against it.
pub(super) struct Pool {
    pub(super) queue: VecDeque<Runnable>,
    /// Submitted callbacks that have not started yet.
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
            queue: VecDeque::with_capacity(1024),
            pending: 0,
            submitting: 0,
            running: 0,
            blocked: 0,
            shutdown: false,
        }
    }
}

/// A `TP_CALLBACK_ENVIRON_V3`, shareable: it is only read (by the thread-pool calls that
/// copy it), and its pool handle stays valid while anything can still submit to it.
pub(super) struct CallbackEnv(pub(super) TP_CALLBACK_ENVIRON_V3);

// SAFETY: the environment is plain data (handles and pointers that are all null except the
// pool handle); the Windows thread-pool functions only read it and may be called from any
// thread, so sharing a `&CallbackEnv` across threads is sound.
unsafe impl Send for CallbackEnv {}
// SAFETY: as above.
unsafe impl Sync for CallbackEnv {}

std::thread_local! {
    /// The `Shared` whose runnables this pool thread is running right now (null if none),
    /// so `Drop` does not wait for its own callback.
    pub(super) static RUNNING_FOR: Cell<*const Shared> = const { Cell::new(ptr::null()) };
    /// Whether the task this pool thread runs is blocked in `block` (and so counted in
    /// `Pool::blocked`) until its poll returns.
    static BLOCKING: Cell<bool> = const { Cell::new(false) };
}

/// The callback environment for [`worker_threads`](super::WindowsDispatcherConfig::worker_threads),
/// the private pool it binds (0 for the process-wide pool) and the pool's thread count.
pub(super) fn callback_env(
    worker_threads: Option<usize>,
) -> io::Result<(CallbackEnv, PTP_POOL, usize)> {
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
    Ok((CallbackEnv(env), private_pool, threads))
}

impl Shared {
    /// Queues a background runnable and submits a callback for it.
    pub(super) fn push(self: &Arc<Self>, runnable: Runnable) {
        if self.enqueue(runnable) {
            self.submit();
        }
    }

    /// Queues a background runnable and counts the callback it needs, without submitting
    /// it yet; `false` if the pool is shut down (the task is cancelled instead).
    pub(super) fn enqueue(&self, runnable: Runnable) -> bool {
        let mut pool = self.pool.lock();
        if pool.shutdown {
            // A wake after shutdown (through the task queue): the task is cancelled like
            // every other one at shutdown.
            drop(pool);
            drop(runnable);
            return false;
        }
        pool.queue.push_back(runnable);
        pool.pending += 1;
        pool.submitting += 1;
        true
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
        drop(pool);
        self.submit();
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
        if self.env.0.Pool == 0 {
            return; // the process-wide pool: the system sizes it
        }
        let max = (self.threads + pool.blocked).min(u32::MAX as usize) as u32;
        // SAFETY: the private pool is open (see above); raising or lowering the maximum of
        // a pool whose minimum stays below it is always allowed.
        unsafe { SetThreadpoolThreadMaximum(self.env.0.Pool, max) };
    }

    /// Submits one callback, already counted in `pending` and `submitting`. See the
    /// implementation notes: on failure, an in-flight callback adopts the runnable, or we
    /// retry.
    pub(super) fn submit(self: &Arc<Self>) {
        self.try_submit();
        let mut pool = self.pool.lock();
        pool.submitting -= 1;
        if pool.shutdown && pool.submitting == 0 {
            self.pool_idle.notify_all(); // `Drop` may close the pool now
        }
    }

    fn try_submit(self: &Arc<Self>) {
        loop {
            let context = Arc::into_raw(self.clone());
            // SAFETY: `work_callback` has the simple-callback signature; `context` is a
            // strong reference that the callback takes back; the environment is a valid V3
            // environment whose pool (if any) is open while the dispatcher lives.
            let submitted = unsafe {
                TrySubmitThreadpoolCallback(
                    Some(work_callback),
                    context as *mut c_void,
                    &self.env.0,
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

    /// One submitted callback: run one runnable, then any that no callback is coming for.
    fn work(&self) {
        let mut pool = self.pool.lock();
        pool.pending -= 1;
        if pool.shutdown {
            return;
        }
        let Some(mut runnable) = pool.queue.pop_front() else {
            return;
        };
        pool.running += 1;
        drop(pool);
        let previous = RUNNING_FOR.with(|running| running.replace(self as *const Shared));
        loop {
            run_guarded(runnable);
            self.end_blocking();
            let mut pool = self.pool.lock();
            if !pool.shutdown && pool.queue.len() > pool.pending {
                if let Some(next) = pool.queue.pop_front() {
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

/// The simple callback submitted once per background runnable.
unsafe extern "system" fn work_callback(_instance: isize, context: *mut c_void) {
    no_unwind("thread-pool callback", || {
        // SAFETY: `context` is the strong reference `submit` leaked for this callback,
        // which runs once: we take it back exactly once.
        let shared = unsafe { Arc::from_raw(context as *const Shared) };
        shared.work();
    });
}
