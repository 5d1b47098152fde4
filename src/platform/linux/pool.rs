//! The worker pool: one local queue per worker, a global queue for work from other threads,
//! stealing, and the parking protocol.
//!
//! - **Where work goes.** A task woken on one of this pool's workers goes to that worker's
//!   local queue: into its LIFO slot (it runs next, on the warm cache: a spawn followed by an
//!   await stays on one core), or at the back if the task yielded. Work from any other
//!   thread goes to the global queue.
//! - **Picking.** A worker takes its LIFO slot (at most [`LIFO_STREAK`] times in a row, so
//!   two tasks waking each other cannot starve the queue), then its queue, then a batch from
//!   the global queue (first, every [`GLOBAL_EVERY`] picks, so it is never starved), then
//!   half of another worker's queue (or its LIFO slot), and parks only when all are empty.
//! - **Parking without lost wakeups.** Idle workers list themselves in `idle` under the
//!   global lock and park on their own `parking::Parker` (which keeps an unpark that comes
//!   before the park). A producer wakes one idle worker only when none is on its way
//!   (`waking == 0`); a woken worker that finds more work than it takes wakes the next one.
//!   Global pushes decide under the global lock. Local pushes read two atomics instead of
//!   taking the lock; the `SeqCst` fences in [`Pool::notify`] and [`Pool::park`] make sure
//!   that either the producer sees the parking worker, or the parking worker, rescanning the
//!   queues after it listed itself, sees the work. A local queue's owner runs its work in
//!   any case; the wakeup only spreads it.
//! - **Blocking workers.** A worker about to block the thread (`Scheduler::park`, under
//!   `block`) first hands its local work to the global queue ([`Pool::hand_off_local`]), so
//!   the task it waits for cannot be stuck behind it.
//! - **Shutdown** takes every queue and sets `shutdown` under the global lock: a worker then
//!   finds either work from before the shutdown or the shutdown itself. Pushes after it drop
//!   their runnable (cancelling the task).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::cell::Cell;
use core::panic::AssertUnwindSafe;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::panic::catch_unwind;

use crate::Runnable;
use crate::sync::Mutex;

/// How many times in a row a worker may run its LIFO slot before it takes its queue's head.
const LIFO_STREAK: u32 = 3;

/// A worker looks at the global queue first once every this many picks.
const GLOBAL_EVERY: u32 = 61;

/// The most runnables a worker takes from the global queue at once.
const GLOBAL_BATCH: usize = 32;

std::thread_local! {
    /// The pool this thread is a worker of (its address) and the worker's index.
    static WORKER: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

pub(super) struct Pool {
    global: Mutex<Global>,
    locals: Box<[Padded<Mutex<Local>>]>,
    /// One per worker, by index.
    unparkers: Box<[parking::Unparker]>,
    /// `global.idle.len()` and `global.waking`, readable without the lock (written under it).
    idle_count: AtomicUsize,
    waking_count: AtomicUsize,
    shutdown: AtomicBool,
}

struct Global {
    queue: VecDeque<Runnable>,
    /// Indices of parked workers, most recently parked last.
    idle: Vec<usize>,
    /// Workers taken off `idle` and unparked that have not yet looked at the queues.
    waking: usize,
    shutdown: bool,
}

#[derive(Default)]
struct Local {
    /// The task to run next: the last one woken on this worker.
    lifo: Option<Runnable>,
    queue: VecDeque<Runnable>,
}

/// Keeps each worker's lock on its own cache lines, so workers do not slow each other down.
#[repr(align(128))]
struct Padded<T>(T);

/// What a worker finds when it looks for work.
pub(super) enum Next {
    Run(Runnable),
    Exit,
}

/// A worker's own state, kept on its stack.
pub(super) struct Worker<'a> {
    pool: &'a Pool,
    index: usize,
    parker: &'a parking::Parker,
    picks: u32,
    lifo_streak: u32,
    /// Reused buffer for a steal, so stealing does not allocate.
    stolen: Vec<Runnable>,
}

impl Pool {
    pub(super) fn new(unparkers: Box<[parking::Unparker]>) -> Self {
        let workers = unparkers.len();
        Self {
            global: Mutex::new(Global {
                queue: VecDeque::with_capacity(1024),
                idle: Vec::with_capacity(workers),
                waking: 0,
                shutdown: false,
            }),
            locals: (0..workers)
                .map(|_| Padded(Mutex::new(Local::default())))
                .collect(),
            unparkers,
            idle_count: AtomicUsize::new(0),
            waking_count: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
        }
    }

    pub(super) fn workers(&self) -> usize {
        self.unparkers.len()
    }

    /// The index of the calling thread if it is one of this pool's workers.
    fn current_worker(&self) -> Option<usize> {
        let (pool, index) = WORKER.with(Cell::get);
        (pool == self as *const Self as usize).then_some(index)
    }

    /// Queues a background runnable; `yielded` puts it behind the worker's other work.
    pub(super) fn push(&self, runnable: Runnable, yielded: bool) {
        match self.current_worker() {
            Some(index) => self.push_local(index, runnable, yielded),
            None => self.push_global(core::iter::once(runnable)),
        }
    }

    fn push_local(&self, index: usize, runnable: Runnable, yielded: bool) {
        let mut local = self.locals[index].0.lock();
        let queued_behind = if yielded {
            local.queue.push_back(runnable);
            true
        } else if let Some(previous) = local.lifo.replace(runnable) {
            local.queue.push_back(previous);
            true
        } else {
            false
        };
        drop(local);
        // A lone task in the LIFO slot runs next on this worker: waking another one for it
        // would only move it to a cold core.
        if queued_behind {
            self.notify();
        }
    }

    /// Queues runnables from outside the pool and wakes a worker for them.
    pub(super) fn push_global(&self, runnables: impl IntoIterator<Item = Runnable>) {
        let mut global = self.global.lock();
        if global.shutdown {
            drop(global);
            runnables.into_iter().for_each(super::drop_guarded);
            return;
        }
        global.queue.extend(runnables);
        let wake = self.take_idle(&mut global);
        drop(global);
        self.unpark(wake);
    }

    /// Wakes an idle worker to take queued work, unless one is already on its way.
    fn notify(&self) {
        // Pairs with the fence in `park`: either this sees the worker listed as idle, or
        // that worker's rescan sees the work queued before this fence.
        fence(Ordering::SeqCst);
        if self.idle_count.load(Ordering::Relaxed) == 0
            || self.waking_count.load(Ordering::Relaxed) > 0
        {
            return;
        }
        let mut global = self.global.lock();
        let wake = self.take_idle(&mut global);
        drop(global);
        self.unpark(wake);
    }

    /// Takes one idle worker to unpark, unless another one is already waking up.
    fn take_idle(&self, global: &mut Global) -> Option<usize> {
        if global.waking > 0 {
            return None;
        }
        let worker = global.idle.pop()?;
        global.waking += 1;
        self.publish(global);
        Some(worker)
    }

    fn publish(&self, global: &Global) {
        self.idle_count.store(global.idle.len(), Ordering::Relaxed);
        self.waking_count.store(global.waking, Ordering::Relaxed);
    }

    fn unpark(&self, worker: Option<usize>) {
        if let Some(worker) = worker {
            self.unparkers[worker].unpark();
        }
    }

    /// Moves the calling worker's local work to the global queue (it is about to block its
    /// thread); does nothing on other threads.
    pub(super) fn hand_off_local(&self) {
        let Some(index) = self.current_worker() else {
            return;
        };
        let mut local = self.locals[index].0.lock();
        if local.lifo.is_none() && local.queue.is_empty() {
            return;
        }
        let mut work: Vec<Runnable> = local.lifo.take().into_iter().collect();
        work.extend(local.queue.drain(..));
        drop(local);
        self.push_global(work);
    }

    /// Stops the pool: takes every queued runnable and wakes every worker so it exits.
    pub(super) fn shut_down(&self) -> Vec<Runnable> {
        let mut taken: Vec<Runnable> = {
            let mut global = self.global.lock();
            global.shutdown = true;
            self.shutdown.store(true, Ordering::Release);
            global.queue.drain(..).collect()
        };
        for local in self.locals.iter() {
            let mut local = local.0.lock();
            taken.extend(local.lifo.take());
            taken.extend(local.queue.drain(..));
        }
        for unparker in self.unparkers.iter() {
            unparker.unpark();
        }
        taken
    }

    /// How many runnables are queued (for `Debug`), and how many workers are idle.
    pub(super) fn counts(&self) -> (usize, usize) {
        let (mut queued, idle) = {
            let global = self.global.lock();
            (global.queue.len(), global.idle.len())
        };
        for local in self.locals.iter() {
            let local = local.0.lock();
            queued += local.queue.len() + usize::from(local.lifo.is_some());
        }
        (queued, idle)
    }

    /// Whether any queue holds work, looked at after the caller listed itself as idle.
    fn has_work(&self) -> bool {
        !self.global.lock().queue.is_empty()
            || self.locals.iter().any(|local| {
                let local = local.0.lock();
                local.lifo.is_some() || !local.queue.is_empty()
            })
    }
}

impl<'a> Worker<'a> {
    /// Registers the calling thread as worker `index` of `pool`.
    pub(super) fn enter(pool: &'a Pool, index: usize, parker: &'a parking::Parker) -> Self {
        WORKER.with(|worker| worker.set((pool as *const Pool as usize, index)));
        Self {
            pool,
            index,
            parker,
            picks: 0,
            lifo_streak: 0,
            stolen: Vec::new(),
        }
    }

    /// Runs work until the pool shuts down.
    pub(super) fn run(mut self) {
        while let Next::Run(runnable) = self.next() {
            let _ = catch_unwind(AssertUnwindSafe(|| runnable.run()));
        }
        // Work queued here by the last task, after `shut_down` took the queues.
        let mut local = self.pool.locals[self.index].0.lock();
        let mut left: Vec<Runnable> = local.lifo.take().into_iter().collect();
        left.extend(local.queue.drain(..));
        drop(local);
        left.into_iter().for_each(super::drop_guarded);
    }

    fn next(&mut self) -> Next {
        loop {
            if self.pool.shutdown.load(Ordering::Acquire) {
                return Next::Exit;
            }
            self.picks = self.picks.wrapping_add(1);
            let found = if self.picks % GLOBAL_EVERY == 0 {
                self.take_global().or_else(|| self.take_local())
            } else {
                self.take_local().or_else(|| self.take_global())
            };
            if let Some(runnable) = found.or_else(|| self.steal()) {
                return Next::Run(runnable);
            }
            if self.park() {
                return Next::Exit;
            }
        }
    }

    fn take_local(&mut self) -> Option<Runnable> {
        let mut local = self.pool.locals[self.index].0.lock();
        if let Some(runnable) = local.lifo.take() {
            if self.lifo_streak < LIFO_STREAK {
                self.lifo_streak += 1;
                return Some(runnable);
            }
            local.queue.push_back(runnable);
        }
        self.lifo_streak = 0;
        local.queue.pop_front()
    }

    /// Takes a batch from the global queue: one to run, the rest into the local queue.
    fn take_global(&mut self) -> Option<Runnable> {
        let mut global = self.pool.global.lock();
        let len = global.queue.len();
        let share = (len / self.pool.workers() + 1).min(GLOBAL_BATCH).min(len);
        let mut batch = global.queue.drain(..share);
        let first = batch.next()?;
        let more_here = batch.len() > 0;
        if more_here {
            self.pool.locals[self.index].0.lock().queue.extend(batch);
        } else {
            drop(batch);
        }
        // More work than this worker takes: pass the wakeup on.
        let wake = if more_here || !global.queue.is_empty() {
            self.pool.take_idle(&mut global)
        } else {
            None
        };
        drop(global);
        self.pool.unpark(wake);
        Some(first)
    }

    /// Takes half of another worker's queue (or its LIFO slot if the queue is empty).
    fn steal(&mut self) -> Option<Runnable> {
        let workers = self.pool.workers();
        for offset in 1..workers {
            let victim = &self.pool.locals[(self.index + offset) % workers].0;
            let first = {
                let mut victim = victim.lock();
                match victim.queue.pop_front() {
                    Some(first) => {
                        let more = victim.queue.len() / 2;
                        self.stolen.extend(victim.queue.drain(..more));
                        Some(first)
                    }
                    None => victim.lifo.take(),
                }
            };
            let Some(first) = first else { continue };
            if !self.stolen.is_empty() {
                let mut local = self.pool.locals[self.index].0.lock();
                local.queue.extend(self.stolen.drain(..));
                drop(local);
                self.pool.notify();
            }
            return Some(first);
        }
        None
    }

    /// Parks until woken; `true` if the pool shut down.
    fn park(&mut self) -> bool {
        let pool = self.pool;
        {
            let mut global = pool.global.lock();
            if global.shutdown {
                return true;
            }
            if !global.queue.is_empty() {
                return false;
            }
            global.idle.push(self.index);
            pool.publish(&global);
        }
        // Pairs with the fence in `notify`: see the module notes.
        fence(Ordering::SeqCst);
        if !pool.has_work() {
            self.parker.park();
        }
        let mut global = pool.global.lock();
        match global.idle.iter().position(|&worker| worker == self.index) {
            // Found work before parking, unparked by shutdown, or spuriously: still listed.
            Some(at) => {
                global.idle.swap_remove(at);
            }
            // Taken off `idle` by a producer, which counted us as waking.
            None => global.waking -= 1,
        }
        pool.publish(&global);
        let shutdown = global.shutdown;
        drop(global);
        // Our `waking` is gone: look at every queue again before parking (pairs with
        // `notify`, like the fence above).
        fence(Ordering::SeqCst);
        shutdown
    }
}
