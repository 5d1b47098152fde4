//! The worker pool: a work-stealing deque and a LIFO slot per worker, one global queue for
//! work from other threads, and the parking protocol.
//!
//! - **Where work goes.** A task woken on one of this pool's workers goes into that worker's
//!   LIFO slot: it runs next, on the warm cache, so a spawn followed by an await stays on one
//!   core and wakes nobody. The task it displaces, and a task that yielded, go to the back of
//!   the worker's deque (crossbeam-deque: pushing and popping cost the owner no lock, and
//!   other workers steal half of it at a time). Work from any other thread goes to the
//!   global queue.
//! - **Picking.** A worker takes its LIFO slot (at most [`LIFO_STREAK`] times in a row, so
//!   two tasks waking each other cannot starve the deque), then its deque, then a batch from
//!   the global queue, then steals from another worker, and parks when all are empty. Every
//!   [`GLOBAL_EVERY`] picks it takes from the global queue first, moving the LIFO slot's task
//!   to the deque where others can steal it, so the global queue is never starved.
//! - **Priorities.** A background task of the default priority (`Medium`) takes the path
//!   above; one of another priority waits in a lane of the global queue's lock instead: the
//!   high lane (`High` and `Realtime`, in the order queued) or the low lane (`Low`). What a
//!   `Medium` task pays for the lanes is one branch when it is queued and, per pick, one
//!   relaxed load of `lanes_queued` (written only by prioritized pushes and takes), which is
//!   0 while the lanes are empty. While they hold work a worker picks the high lane first,
//!   then its own and the global queue, then the low lane; but every [`MEDIUM_EVERY`]th pick
//!   its own and the global queue come first, and every [`LOW_EVERY`]th pick the low lane
//!   does. So however much `High` work arrives, a `Low` task waits at most `LOW_EVERY` picks
//!   once it is at the head of its lane, and `Medium` work gets at least one pick in
//!   `MEDIUM_EVERY`. A prioritized task woken on a worker goes to its lane too, not to the
//!   LIFO slot: the lanes are shared, and the slot would run it ahead of more urgent work.
//! - **The LIFO slot is not stolen**, as in tokio: the task in it runs as soon as the current
//!   poll ends.
//! - **A worker that blocks hands its role on**, as tokio's `block_in_place` does. A task
//!   that calls `block` parks its worker's thread, so `Scheduler::park` on a worker first
//!   takes the worker's whole role (its index, LIFO slot, deque and parker: [`Role`], which
//!   lives in a thread-local, not on the worker's stack, for this reason) and starts a new
//!   thread that carries on as that worker. The blocked thread finishes the task's poll as
//!   an ordinary thread and then exits. So the pool never runs short of workers, however
//!   many tasks block at once, and a pool of one worker can block on its own tasks.
//! - **Parking without lost wakeups.** Idle workers list themselves in `idle` under the
//!   global lock, then look at every queue once more, then park on their own
//!   `parking::Parker` (which keeps an unpark that comes before the park). A producer wakes
//!   one idle worker only when none is on its way (`waking == 0`); so a woken worker that
//!   sees more work than it takes wakes the next one. Pushes to the global queue decide
//!   under its lock. Pushes to a deque read two atomics instead: the `SeqCst` fences in
//!   [`Pool::notify`] and [`Worker::park`] make sure that either the producer sees the
//!   parking worker, or the parking worker's last look sees the work; and the fence at the
//!   end of `Worker::park`, where a woken worker publishes `waking - 1`, makes sure that a
//!   producer that skipped its wakeup (`waking > 0`) has its work seen by that worker's
//!   pass-on check. These fences are ours, not crossbeam-deque's internal ones, so the
//!   argument does not lean on how crossbeam implements `is_empty` or `steal`. Nobody
//!   spins.
//! - **Shutdown** takes the global queue and every deque (through their stealers, and the
//!   calling worker's own queues if `Drop` runs on a worker) and sets `shutdown` under the
//!   global lock. Each worker drops what it still holds when it exits; pushes after the
//!   shutdown drop their runnable (cancelling the task), on workers too.

use ::core::cell::RefCell;
use ::core::mem;
use ::core::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crossbeam_deque::{Steal, Stealer};

use crate::core::{Priority, Runnable, Wake};
use crate::platform::unwind::run_guarded;
use crate::sync::Mutex;

/// How many times in a row a worker may run its LIFO slot before it takes its deque's head.
const LIFO_STREAK: u32 = 3;

/// A worker looks at the global queue first once every this many picks.
const GLOBAL_EVERY: u32 = 61;

/// The most runnables a worker takes from the global queue at once.
const GLOBAL_BATCH: usize = 32;

/// While the priority lanes hold work, a worker's own and the global queue (the `Medium`
/// work) come before the high lane once every this many picks.
const MEDIUM_EVERY: u32 = 4;

/// While the priority lanes hold work, the low lane comes first once every this many picks,
/// so a steady stream of more urgent work cannot starve `Low` tasks.
const LOW_EVERY: u32 = 16;

/// The index of the high lane (`High`, `Realtime`) in `Global::lanes`.
const HIGH_LANE: usize = 0;

/// The index of the low lane (`Low`) in `Global::lanes`.
const LOW_LANE: usize = 1;

/// The lane a background runnable of `priority` (not `Medium`) waits in.
fn lane_of(priority: Priority) -> usize {
    match priority {
        Priority::Low => LOW_LANE,
        Priority::Medium | Priority::High | Priority::Realtime => HIGH_LANE,
    }
}

/// A worker's deque.
pub(super) type Deque = crossbeam_deque::Worker<Runnable>;

std::thread_local! {
    /// The calling worker's role; `None` on other threads (and on a thread that handed its
    /// role on).
    static LOCAL: RefCell<Option<Role>> = const { RefCell::new(None) };
}

/// Everything that makes a thread worker `index` of a pool: its queues and its parker.
/// It can move to another thread (see the module notes).
pub(super) struct Role {
    /// The address of the pool this thread works for.
    pool: usize,
    index: usize,
    /// The task to run next: the last one woken on this worker.
    lifo: Option<Runnable>,
    deque: Deque,
    /// What this worker parks on; producers unpark `Pool::unparkers[index]`.
    parker: parking::Parker,
}

impl Role {
    /// The role of worker `index` of `pool`, owning `deque` and `parker`.
    pub(super) fn new(pool: &Pool, index: usize, deque: Deque, parker: parking::Parker) -> Self {
        Self {
            pool: pool.address(),
            index,
            lifo: None,
            deque,
            parker,
        }
    }

    pub(super) fn index(&self) -> usize {
        self.index
    }

    fn take_all(&mut self) -> Vec<Runnable> {
        let mut all: Vec<Runnable> = self.lifo.take().into_iter().collect();
        all.extend(::core::iter::from_fn(|| self.deque.pop()));
        all
    }
}

/// Runs `f` on the calling thread's queues if it is a worker of the pool at `pool`.
fn with_local<R>(pool: usize, f: impl FnOnce(&mut Role) -> R) -> Option<R> {
    LOCAL
        .try_with(|local| match local.try_borrow_mut() {
            Ok(mut local) => match local.as_mut() {
                Some(local) if local.pool == pool => Some(f(local)),
                _ => None,
            },
            // Borrowed further up this thread's stack: not reachable now.
            Err(_) => None,
        })
        // Fails only while this thread exits.
        .unwrap_or(None)
}

pub(super) struct Pool {
    global: Mutex<Global>,
    /// One per worker, by index.
    stealers: Box<[Stealer<Runnable>]>,
    unparkers: Box<[parking::Unparker]>,
    /// `global.idle.len()` and `global.waking`, readable without the lock (written under it).
    idle_count: AtomicUsize,
    waking_count: AtomicUsize,
    /// How many runnables wait in `global.lanes`, readable without the lock (written under
    /// it): 0 keeps the workers on the `Medium` path.
    lanes_queued: AtomicUsize,
    shutdown: AtomicBool,
}

struct Global {
    queue: VecDeque<Runnable>,
    /// The priority lanes, by [`HIGH_LANE`] and [`LOW_LANE`]: background runnables of a
    /// priority other than `Medium`, each lane in the order queued.
    lanes: [VecDeque<Runnable>; 2],
    /// Indices of parked workers, most recently parked last.
    idle: Vec<usize>,
    /// Workers taken off `idle` and unparked that have not yet looked at the queues.
    waking: usize,
    shutdown: bool,
}

/// A worker thread's loop state, kept on its stack (its role is in `LOCAL`).
pub(super) struct Worker<'a> {
    pool: &'a Pool,
    index: usize,
    picks: u32,
    lifo_streak: u32,
    /// Unparked by a producer (counted in `waking`) and not yet past its first pick.
    woken: bool,
}

impl Pool {
    /// A pool for one worker per deque; `unparkers` in the same order.
    pub(super) fn new(deques: &[Deque], unparkers: Box<[parking::Unparker]>) -> Self {
        Self {
            global: Mutex::new(Global {
                queue: VecDeque::with_capacity(1024),
                lanes: [VecDeque::new(), VecDeque::new()],
                idle: Vec::with_capacity(unparkers.len()),
                waking: 0,
                shutdown: false,
            }),
            stealers: deques.iter().map(Deque::stealer).collect(),
            unparkers,
            idle_count: AtomicUsize::new(0),
            waking_count: AtomicUsize::new(0),
            lanes_queued: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
        }
    }

    pub(super) fn workers(&self) -> usize {
        self.unparkers.len()
    }

    fn address(&self) -> usize {
        self as *const Self as usize
    }

    /// Queues a background runnable; a yield puts it behind the worker's other work. A
    /// runnable of a priority other than `Medium` goes to its lane.
    pub(super) fn push(&self, runnable: Runnable, wake: Wake) {
        if runnable.metadata().priority != Priority::Medium {
            return self.push_prioritized(::core::iter::once(runnable));
        }
        let mut runnable = Some(runnable);
        if self.shutdown.load(Ordering::Acquire) {
            // `push_global` cancels it.
            return self.push_global(runnable);
        }
        let queued_locally = with_local(self.address(), |local| {
            let mut for_deque = runnable.take();
            if wake == Wake::Woken {
                for_deque = mem::replace(&mut local.lifo, for_deque);
            }
            match for_deque {
                Some(runnable) => {
                    local.deque.push(runnable);
                    true // behind other work: worth a wakeup
                }
                None => false, // a lone task in the LIFO slot runs next, here
            }
        });
        match (queued_locally, runnable) {
            (_, Some(runnable)) => self.push_global(::core::iter::once(runnable)),
            (Some(true), None) => self.notify(),
            _ => {}
        }
    }

    /// Queues runnables on the global queue and wakes a worker for them.
    pub(super) fn push_global(&self, runnables: impl IntoIterator<Item = Runnable>) {
        let mut global = self.global.lock();
        if global.shutdown {
            drop(global);
            runnables.into_iter().for_each(drop);
            return;
        }
        global.queue.extend(runnables);
        let wake = if global.queue.is_empty() {
            None
        } else {
            self.take_idle(&mut global)
        };
        drop(global);
        self.unpark(wake);
    }

    /// Queues background runnables of any priority (fired timers): `Medium` ones on the
    /// global queue, the others in their lanes.
    pub(super) fn push_sorted(&self, runnables: Vec<Runnable>) {
        let (medium, prioritized): (Vec<Runnable>, Vec<Runnable>) = runnables
            .into_iter()
            .partition(|runnable| runnable.metadata().priority == Priority::Medium);
        if !medium.is_empty() {
            self.push_global(medium);
        }
        if !prioritized.is_empty() {
            self.push_prioritized(prioritized);
        }
    }

    /// Queues runnables of priorities other than `Medium` in their lanes and wakes a worker
    /// for them.
    fn push_prioritized(&self, runnables: impl IntoIterator<Item = Runnable>) {
        let mut global = self.global.lock();
        if global.shutdown {
            drop(global);
            runnables.into_iter().for_each(drop);
            return;
        }
        for runnable in runnables {
            global.lanes[lane_of(runnable.metadata().priority)].push_back(runnable);
        }
        self.publish_lanes(&global);
        let wake = self.take_idle(&mut global);
        drop(global);
        self.unpark(wake);
    }

    /// Publishes how many runnables wait in the lanes; called under the global lock.
    fn publish_lanes(&self, global: &Global) {
        let queued = global.lanes.iter().map(VecDeque::len).sum();
        self.lanes_queued.store(queued, Ordering::Relaxed);
    }

    /// Wakes an idle worker to steal work just queued on a deque, unless one is on its way.
    fn notify(&self) {
        // Pairs with the fence in `Worker::park`: either this sees the worker listed as idle,
        // or that worker's last look sees the work pushed before this fence.
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
        if global.waking > 0 || global.shutdown {
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

    /// Takes the calling worker's role, to hand it to another thread (this one is about to
    /// block); `None` on other threads.
    pub(super) fn take_role(&self) -> Option<Role> {
        LOCAL
            .try_with(|local| {
                let mut local = local.try_borrow_mut().ok()?;
                match local.as_ref() {
                    Some(role) if role.pool == self.address() => local.take(),
                    _ => None,
                }
            })
            .ok()
            .flatten()
    }

    /// Makes the calling thread worker of `role` again, after a hand-off could not happen.
    /// It is about to block, so its queued tasks move to the global queue, where the other
    /// workers find them.
    pub(super) fn put_back(&self, mut role: Role) {
        let work = role.take_all();
        LOCAL.with(|local| *local.borrow_mut() = Some(role));
        if !work.is_empty() {
            self.push_global(work);
        }
    }

    /// Whether the pool is shut down.
    pub(super) fn is_shut_down(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Stops the pool: takes the global queue and what can be stolen from the deques, and
    /// wakes every worker so it exits (dropping what it still holds).
    pub(super) fn shut_down(&self) -> Vec<Runnable> {
        let mut taken: Vec<Runnable> = {
            let mut global = self.global.lock();
            global.shutdown = true;
            self.shutdown.store(true, Ordering::Release);
            let mut taken: Vec<Runnable> = global.queue.drain(..).collect();
            for lane in &mut global.lanes {
                taken.extend(lane.drain(..));
            }
            self.publish_lanes(&global);
            taken
        };
        // On a worker (the dispatcher dropped from a task), its LIFO slot too.
        taken.extend(
            with_local(self.address(), Role::take_all)
                .into_iter()
                .flatten(),
        );
        for stealer in self.stealers.iter() {
            loop {
                match stealer.steal() {
                    Steal::Success(runnable) => taken.push(runnable),
                    Steal::Retry => continue,
                    Steal::Empty => break,
                }
            }
        }
        for unparker in self.unparkers.iter() {
            unparker.unpark();
        }
        taken
    }

    /// How many runnables wait in the global queue and the deques, and how many workers are
    /// idle.
    pub(super) fn counts(&self) -> (usize, usize) {
        let (global, idle) = {
            let global = self.global.lock();
            let lanes: usize = global.lanes.iter().map(VecDeque::len).sum();
            (global.queue.len() + lanes, global.idle.len())
        };
        let deques: usize = self.stealers.iter().map(Stealer::len).sum();
        (global + deques, idle)
    }

    /// Whether any shared queue holds work.
    fn has_work(&self) -> bool {
        self.global.lock().has_work() || self.stealers.iter().any(|s| !s.is_empty())
    }
}

impl Global {
    /// Whether the global queue or a lane holds work.
    fn has_work(&self) -> bool {
        !self.queue.is_empty() || self.lanes.iter().any(|lane| !lane.is_empty())
    }
}

impl<'a> Worker<'a> {
    /// Makes the calling thread the worker of `role` in `pool`.
    pub(super) fn enter(pool: &'a Pool, role: Role) -> Self {
        let index = role.index;
        LOCAL.with(|local| *local.borrow_mut() = Some(role));
        Self {
            pool,
            index,
            picks: 0,
            lifo_streak: 0,
            woken: false,
        }
    }

    /// Runs work until the pool shuts down, then drops the work left on this worker; or
    /// until this thread hands its role on (it blocked in a task), then returns.
    pub(super) fn run(mut self) {
        while let Some(runnable) = self.next() {
            run_guarded(runnable);
        }
        let left = LOCAL.with(|local| local.borrow_mut().take().map(|mut l| l.take_all()));
        // Outside the borrow: dropping a task may wake others, which come back to `push`.
        drop(left);
    }

    /// Whether this thread still holds its worker's role.
    fn holds_role(&self) -> bool {
        with_local(self.pool.address(), |_| ()).is_some()
    }

    /// Runs `f` on this worker's own queues.
    fn local<R>(&self, f: impl FnOnce(&mut Role) -> R) -> R {
        with_local(self.pool.address(), f).expect("a worker's queues live as long as its loop")
    }

    /// The next runnable, parking while there is none; `None` once the pool shuts down.
    fn next(&mut self) -> Option<Runnable> {
        loop {
            if self.pool.shutdown.load(Ordering::Acquire) || !self.holds_role() {
                return None;
            }
            self.picks = self.picks.wrapping_add(1);
            let found = if self.pool.lanes_queued.load(Ordering::Relaxed) == 0 {
                self.take_medium()
            } else {
                self.take_by_priority()
            };
            if let Some(runnable) = found.or_else(|| self.steal()) {
                if mem::take(&mut self.woken) && self.pool.has_work() {
                    // Producers left this wakeup to us (they skip notifying while a worker
                    // is waking): pass it on if there is more than we take.
                    self.pool.notify();
                }
                return Some(runnable);
            }
            if self.park() {
                return None;
            }
        }
    }

    /// Takes `Medium` work: the local queues, then the global queue; every `GLOBAL_EVERY`
    /// picks the global queue first.
    fn take_medium(&mut self) -> Option<Runnable> {
        if self.picks % GLOBAL_EVERY == 0 {
            // The LIFO slot's task goes where others can steal it: the task taken from
            // the global queue instead may hold this thread for a while.
            self.demote_lifo(true);
            self.take_global().or_else(|| self.take_local())
        } else {
            self.take_local().or_else(|| self.take_global())
        }
    }

    /// Takes work while the lanes hold some: the high lane, `Medium` work, the low lane, in
    /// that order, except that every `MEDIUM_EVERY` picks `Medium` work comes first and
    /// every `LOW_EVERY` picks the low lane does (see the module notes).
    fn take_by_priority(&mut self) -> Option<Runnable> {
        if self.picks % LOW_EVERY == 0 {
            self.take_lane(LOW_LANE)
                .or_else(|| self.take_lane(HIGH_LANE))
                .or_else(|| self.take_medium())
        } else if self.picks % MEDIUM_EVERY == 0 {
            self.take_medium()
                .or_else(|| self.take_lane(HIGH_LANE))
                .or_else(|| self.take_lane(LOW_LANE))
        } else {
            self.take_lane(HIGH_LANE)
                .or_else(|| self.take_medium())
                .or_else(|| self.take_lane(LOW_LANE))
        }
    }

    /// Takes the head of lane `lane`, passing the wakeup on if more work waits there.
    fn take_lane(&mut self, lane: usize) -> Option<Runnable> {
        let mut global = self.pool.global.lock();
        let first = global.lanes[lane].pop_front()?;
        self.pool.publish_lanes(&global);
        let wake = if global.has_work() {
            self.pool.take_idle(&mut global)
        } else {
            None
        };
        drop(global);
        self.pool.unpark(wake);
        Some(first)
    }

    /// Moves the LIFO slot's task to the back of the deque, and wakes a worker for it unless
    /// it is about to run here anyway (`behind_others` says whether it waits).
    fn demote_lifo(&mut self, behind_others: bool) {
        self.lifo_streak = 0;
        let waits = self.local(|local| match local.lifo.take() {
            Some(runnable) => {
                let waits = behind_others || !local.deque.is_empty();
                local.deque.push(runnable);
                waits
            }
            None => false,
        });
        if waits {
            self.pool.notify();
        }
    }

    /// Takes the LIFO slot (at most `LIFO_STREAK` times in a row) or the head of the deque.
    fn take_local(&mut self) -> Option<Runnable> {
        if self.lifo_streak >= LIFO_STREAK {
            self.demote_lifo(false);
        }
        let streak = &mut self.lifo_streak;
        with_local(self.pool.address(), |local| match local.lifo.take() {
            Some(runnable) => {
                *streak += 1;
                Some(runnable)
            }
            None => {
                *streak = 0;
                local.deque.pop()
            }
        })
        .flatten()
    }

    /// Takes a batch from the global queue: one to run, the rest onto the deque.
    fn take_global(&mut self) -> Option<Runnable> {
        let mut global = self.pool.global.lock();
        let len = global.queue.len();
        let share = (len / self.pool.workers() + 1).min(GLOBAL_BATCH).min(len);
        let mut batch = global.queue.drain(..share);
        let first = batch.next()?;
        let more_here = batch.len() > 0;
        if more_here {
            self.local(|local| batch.for_each(|runnable| local.deque.push(runnable)));
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

    /// Steals about half of another worker's deque: one to run, the rest onto ours.
    fn steal(&mut self) -> Option<Runnable> {
        let workers = self.pool.workers();
        for offset in 1..workers {
            let victim = &self.pool.stealers[(self.index + offset) % workers];
            let stolen = loop {
                let attempt = self.local(|local| victim.steal_batch_and_pop(&local.deque));
                match attempt {
                    Steal::Success(runnable) => break Some(runnable),
                    Steal::Empty => break None,
                    Steal::Retry => continue,
                }
            };
            if let Some(runnable) = stolen {
                if !self.local(|local| local.deque.is_empty()) {
                    self.pool.notify(); // more than we take: pass the wakeup on
                }
                return Some(runnable);
            }
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
            if global.has_work() {
                return false;
            }
            global.idle.push(self.index);
            pool.publish(&global);
        }
        // Pairs with the fence in `Pool::notify`: see the module notes.
        fence(Ordering::SeqCst);
        if !pool.has_work() {
            self.local(|role| role.parker.park());
        }
        let mut global = pool.global.lock();
        match global.idle.iter().position(|&worker| worker == self.index) {
            // Found work before parking, unparked by shutdown, or spuriously: still listed.
            Some(at) => {
                global.idle.swap_remove(at);
            }
            // Taken off `idle` by a producer, which counted us as waking.
            None => {
                global.waking -= 1;
                self.woken = true;
            }
        }
        pool.publish(&global);
        let shutdown = global.shutdown;
        drop(global);
        // Pairs with the fence in `Pool::notify`, for the third pairing of the module notes:
        // a producer that saw `waking > 0` skipped its wakeup, trusting this worker to pass
        // it on; either it saw the `waking` just published, or the `has_work` this worker
        // reads next (in `next`) sees what that producer pushed.
        fence(Ordering::SeqCst);
        shutdown
    }
}
