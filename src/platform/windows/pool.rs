//! Background work on the Windows thread pool: the callback environment and the private
//! pool it binds, our FIFO queue of runnables, one simple callback submitted per runnable
//! (a failed submission is adopted by a callback in flight, else retried), and the callback
//! that runs them. The runnables stay in our queue, not in the callbacks' contexts, so that
//! shutdown can take and cancel them.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::cell::Cell;
use core::ffi::c_void;
use core::mem;
use core::ptr;
use core::time::Duration;
use std::io;
use std::thread;

use windows_sys::Win32::System::Threading::{
    CloseThreadpool, CreateThreadpool, PTP_POOL, SetThreadpoolThreadMaximum,
    SetThreadpoolThreadMinimum, TP_CALLBACK_ENVIRON_V3, TP_CALLBACK_PRIORITY_NORMAL,
    TrySubmitThreadpoolCallback,
};

use super::Shared;
use super::unwind::{drop_guarded, no_unwind, run_guarded};
use crate::Runnable;

/// Our FIFO queue of background runnables and the callbacks counted against it.
pub(super) struct Pool {
    pub(super) queue: VecDeque<Runnable>,
    /// Submitted callbacks that have not started yet.
    pending: usize,
    /// Callbacks running runnables of ours.
    pub(super) running: usize,
    pub(super) shutdown: bool,
}

impl Pool {
    pub(super) fn new() -> Self {
        Self {
            queue: VecDeque::with_capacity(1024),
            pending: 0,
            running: 0,
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
}

/// The callback environment for [`max_threads`](super::WindowsDispatcherConfig::max_threads),
/// the private pool it binds (0 for the process-wide pool) and the pool's thread count.
pub(super) fn callback_env(
    max_threads: Option<usize>,
) -> io::Result<(CallbackEnv, PTP_POOL, usize)> {
    let mut env = TP_CALLBACK_ENVIRON_V3 {
        Version: 3,
        CallbackPriority: TP_CALLBACK_PRIORITY_NORMAL,
        Size: mem::size_of::<TP_CALLBACK_ENVIRON_V3>() as u32,
        ..TP_CALLBACK_ENVIRON_V3::default()
    };
    let (private_pool, threads) = match max_threads {
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
        let mut pool = self.pool.lock();
        if pool.shutdown {
            // Only a live dispatcher schedules, so this cannot happen; if it did, the task
            // is cancelled like every other one at shutdown.
            drop(pool);
            drop_guarded(runnable);
            return;
        }
        pool.queue.push_back(runnable);
        pool.pending += 1;
        drop(pool);
        self.submit();
    }

    /// Submits one callback, already counted in `pending`. See the implementation notes:
    /// on failure, an in-flight callback adopts the runnable, or we retry.
    fn submit(self: &Arc<Self>) {
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
