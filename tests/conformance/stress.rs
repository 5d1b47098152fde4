//! Reliability stress properties: many spawners, wake storms, many timers, shutdown with
//! everything in flight. Re-exported by the suite, so `conformance::suite!` stamps them like
//! any other property; sizes are arguments (a backend picks what it can run in reasonable
//! time) and are scaled down under miri by [`scaled`].

use std::future::poll_fn;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::task::{Poll, Waker};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use unified_scheduler::{Scheduler, Task};

use super::{Factory, block_within_limit, scaled};
use crate::common::{Counter, DropCounter, Gate, LIMIT, wait};

/// `4 * per_thread` tasks spawned from 4 threads at once all complete, each exactly once.
pub fn many_tasks_from_four_threads_run_exactly_once(make: Factory<'_>, per_thread: usize) {
    let per_thread = scaled(per_thread);
    let total = 4 * per_thread;
    let s = make();
    let ran: Arc<Vec<AtomicBool>> = Arc::new((0..total).map(|_| AtomicBool::new(false)).collect());
    let count = Arc::new(AtomicUsize::new(0));
    let twice = Arc::new(AtomicUsize::new(0));
    let all_done = Gate::new();
    let start = Arc::new(Barrier::new(4));
    let spawners: Vec<_> = (0..4)
        .map(|t| {
            let (s, ran, count, twice) = (s.clone(), ran.clone(), count.clone(), twice.clone());
            let (all_done, start) = (all_done.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                for i in t * per_thread..(t + 1) * per_thread {
                    let (ran, count, twice) = (ran.clone(), count.clone(), twice.clone());
                    let all_done = all_done.clone();
                    s.spawn(async move {
                        if ran[i].swap(true, Ordering::Relaxed) {
                            twice.fetch_add(1, Ordering::Relaxed);
                        }
                        if count.fetch_add(1, Ordering::AcqRel) + 1 == total {
                            all_done.open();
                        }
                    })
                    .detach();
                }
            })
        })
        .collect();
    for spawner in spawners {
        spawner.join().unwrap();
    }
    block_within_limit(&s, all_done.wait(), "not every task ran");
    assert_eq!(count.load(Ordering::Acquire), total);
    assert_eq!(twice.load(Ordering::Relaxed), 0);
    assert!(ran.iter().all(|r| r.load(Ordering::Relaxed)));
}

/// A task woken from another thread while it is still running (between its handshake and
/// its return of `Pending`) never loses the wakeup. One wake per round: a lost one hangs the
/// round, which the bounded wait turns into a failure. The main thread blocks on the task
/// meanwhile (a single-threaded scheduler runs it there).
pub fn wake_storm_while_running(make: Factory<'_>) {
    let s = make();
    for _ in 0..scaled(20) {
        let rounds = scaled(1_000);
        let shared = Arc::new((Mutex::new((0usize, 0usize, None::<Waker>)), Condvar::new()));
        let task_side = shared.clone();
        let task = s.spawn(poll_fn(move |cx| {
            let (lock, cv) = &*task_side;
            let mut state = lock.lock().unwrap();
            let (asked, acked, waker) = &mut *state;
            *acked = *asked;
            if *acked == rounds {
                return Poll::Ready(());
            }
            *waker = Some(cx.waker().clone());
            cv.notify_all();
            Poll::Pending
        }));
        let waker_thread = thread::spawn(move || {
            let (lock, cv) = &*shared;
            for round in 1..=rounds {
                let mut state = lock.lock().unwrap();
                let deadline = Instant::now() + LIMIT;
                // Wait for the previous round's acknowledgement (and a registered waker).
                while state.1 != round - 1 || state.2.is_none() {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(round);
                    }
                    state = cv.wait_timeout(state, left).unwrap().0;
                }
                state.0 = round;
                let waker = state.2.take().unwrap();
                drop(state);
                waker.wake();
            }
            Ok(())
        });
        let finished = s.block_with_timeout(LIMIT, task).is_ok();
        if let Err(round) = waker_thread.join().unwrap() {
            panic!("lost wakeup in round {round}");
        }
        assert!(finished, "lost the last wakeup");
    }
}

/// A task woken by many threads at once, while queued or running, sees the final state.
pub fn wake_storm_while_queued(make: Factory<'_>) {
    let s = make();
    let wakers = 4;
    for _ in 0..scaled(300) {
        let counter = Arc::new(AtomicUsize::new(0));
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let polls = Arc::new(AtomicUsize::new(0));
        let per = 50;
        let (c, sl, p) = (counter.clone(), slot.clone(), polls.clone());
        let task = s.spawn(poll_fn(move |cx| {
            p.fetch_add(1, Ordering::Relaxed);
            *sl.lock().unwrap() = Some(cx.waker().clone());
            if c.load(Ordering::SeqCst) == wakers * per {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }));
        let start = Arc::new(Barrier::new(wakers));
        let threads: Vec<_> = (0..wakers)
            .map(|_| {
                let (counter, slot, start) = (counter.clone(), slot.clone(), start.clone());
                thread::spawn(move || {
                    start.wait();
                    for _ in 0..per {
                        counter.fetch_add(1, Ordering::SeqCst);
                        let waker = slot.lock().unwrap().clone();
                        if let Some(waker) = waker {
                            waker.wake();
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        // Every increment is followed by a wake of a waker registered before it, or the
        // task had not polled yet; either way the task must see the final count.
        assert!(s.block_with_timeout(LIMIT, task).is_ok(), "lost wakeup");
        // Wakes coalesce, and a task runs once per wake at most: more polls than wakes
        // (plus the first) would mean a runnable ran twice.
        let polls = polls.load(Ordering::Relaxed);
        assert!(
            polls <= 1 + wakers * per,
            "{polls} polls for {} wakes",
            wakers * per
        );
    }
}

/// Wakers used after their task was cancelled (and after the dispatcher is gone) do no
/// harm, and every future is dropped exactly once.
pub fn wake_storm_after_cancellation(make: Factory<'_>) {
    for _ in 0..scaled(50) {
        let s = make();
        let dropped = DropCounter::new();
        let n = 20;
        let slots: Vec<Arc<Mutex<Option<Waker>>>> =
            (0..n).map(|_| Arc::new(Mutex::new(None))).collect();
        let registered = Counter::new();
        let tasks: Vec<Task<()>> = slots
            .iter()
            .map(|slot| {
                let (slot, guard, registered) = (slot.clone(), dropped.guard(), registered.clone());
                s.spawn(poll_fn(move |cx| {
                    let _ = &guard;
                    if slot.lock().unwrap().replace(cx.waker().clone()).is_none() {
                        registered.add(1);
                    }
                    Poll::Pending
                }))
            })
            .collect();
        block_within_limit(&s, registered.reached(n), "a task was never polled");
        let wakers: Vec<Waker> = slots
            .iter()
            .map(|slot| slot.lock().unwrap().clone().unwrap())
            .collect();
        let stormer = {
            let wakers = wakers.clone();
            thread::spawn(move || {
                for _ in 0..100 {
                    for waker in &wakers {
                        waker.wake_by_ref();
                    }
                }
            })
        };
        drop(tasks); // cancel while the storm goes on
        stormer.join().unwrap();
        drop(s);
        for waker in &wakers {
            waker.wake_by_ref(); // after the dispatcher is gone
        }
        drop(slots);
        drop(wakers);
        wait(dropped.reached(n));
        assert_eq!(dropped.count(), n, "a future was dropped twice");
    }
}

/// `n` timers with random deadlines (up to 100 ms): all fire, none early.
pub fn random_timers_all_fire_none_early(make: Factory<'_>, n: usize) {
    let s = make();
    let n = scaled(n);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let early = Arc::new(AtomicUsize::new(0));
    let fired = Arc::new(AtomicUsize::new(0));
    let all = Gate::new();
    for _ in 0..n {
        let delay = Duration::from_micros(next() % 100_000);
        let deadline = s.now() + delay;
        let timer = s.timer(delay);
        let (early, fired, all, clock) = (early.clone(), fired.clone(), all.clone(), s.clone());
        s.spawn(async move {
            timer.await;
            if clock.now() < deadline {
                early.fetch_add(1, Ordering::Relaxed);
            }
            if fired.fetch_add(1, Ordering::AcqRel) + 1 == n {
                all.open();
            }
        })
        .detach();
    }
    block_within_limit(&s, all.wait(), "not every timer fired");
    assert_eq!(fired.load(Ordering::Acquire), n);
    assert_eq!(early.load(Ordering::Relaxed), 0);
}

/// How the timer-waiting tasks of [`shutdown_drops_every_future`] await their timer.
// A test binary uses one of the two.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug)]
pub enum TimerAwait {
    /// `timer.fallible().await`: shutdown cancelling the timer while the task runs ends the
    /// task quietly, and awaiting any handle must not panic.
    Fallible,
    /// `timer.await`: a task that was being polled while `Drop` cancelled its timer sees the
    /// timer's `Task` cancelled and panics, as awaiting a cancelled `Task` does; that panic
    /// reaches the awaiter, which lets it pass. Either way the future must be dropped.
    Plain,
}

/// Shutdown with every kind of background work in flight: running, queued, waiting on a
/// wake, waiting on a timer. Every future is dropped: none leaks. `rounds` fresh
/// dispatchers, `tasks` tasks each.
///
/// Foreground work is left out on purpose: with tasks waking each other, the last strong
/// reference may be the one a waker holds for an instant on a worker, and then `Drop` runs
/// there and must leak the queued foreground runnables (see
/// `drop_off_main_thread_leaks_foreground_work`).
pub fn shutdown_drops_every_future(
    make: Factory<'_>,
    rounds: usize,
    tasks: usize,
    timers: TimerAwait,
) {
    for _ in 0..scaled(rounds) {
        let s = make();
        let dropped = DropCounter::new();
        let gate = Gate::new();
        let mut spawned = 0;
        let mut handles = Vec::new();
        for i in 0..scaled(tasks) {
            let guard = dropped.guard();
            let gate = gate.clone();
            let task = match i % 4 {
                0 => s.spawn(async move {
                    let _guard = guard;
                    gate.wait().await;
                }),
                1 => s.spawn(async move {
                    let _guard = guard;
                    loop {
                        futures_lite::future::yield_now().await; // always running or queued
                    }
                }),
                2 => {
                    let timer = s.timer(Duration::from_secs(3600));
                    s.spawn(async move {
                        let _guard = guard;
                        match timers {
                            // Shutdown may cancel the timer while this task runs: not a
                            // failure.
                            TimerAwait::Fallible => {
                                let _ = timer.fallible().await;
                            }
                            TimerAwait::Plain => timer.await,
                        }
                    })
                }
                _ => {
                    let deadline = Instant::now() + Duration::from_millis(1); // real time
                    s.spawn(async move {
                        let _guard = guard;
                        while Instant::now() < deadline {
                            futures_lite::future::yield_now().await;
                        }
                        gate.wait().await;
                    })
                }
            };
            spawned += 1;
            handles.push(task.fallible());
        }
        // Let some of it start, then drop the dispatcher from the main thread.
        let _ = s.block_with_timeout(Duration::from_millis(1), std::future::pending::<()>());
        drop(s);
        gate.open();
        for handle in handles {
            match timers {
                TimerAwait::Fallible => {
                    let _ = wait(handle);
                }
                // See `TimerAwait::Plain`; the drops are checked below.
                TimerAwait::Plain => {
                    let _ = catch_unwind(AssertUnwindSafe(|| wait(handle)));
                }
            }
        }
        wait(dropped.reached(spawned));
        assert_eq!(dropped.count(), spawned);
    }
}

/// What one of two tasks meeting on two threads saw: its thread, when it started (since
/// its round began), and whether its sibling arrived in time.
// Read only through `Debug`, in the failure message.
#[allow(dead_code)]
#[derive(Debug)]
struct Meeting {
    thread: ThreadId,
    started: Duration,
    met: bool,
}

/// Spins on the calling thread until `arrived` reaches 2 (or half of [`LIMIT`] passes, so
/// that a failed round still ends, and says what it saw, within the test's own wait): the
/// task that calls it holds its worker until a second task, on another worker, arrives.
fn meet_on_two_threads(arrived: &AtomicUsize, round_began: Instant) -> Meeting {
    let started = round_began.elapsed();
    arrived.fetch_add(1, Ordering::SeqCst);
    let deadline = Instant::now() + LIMIT / 2;
    let mut met = true;
    while arrived.load(Ordering::SeqCst) < 2 {
        if Instant::now() > deadline {
            met = false;
            break;
        }
        thread::yield_now();
    }
    Meeting {
        thread: thread::current().id(),
        started,
        met,
    }
}

/// Work a task queues on its own worker reaches an idle worker: two tasks spawned from one
/// task, each of which holds its thread until the other runs, both finish. (Needs two
/// workers; looped, since a lost wakeup shows up only in some interleavings.)
pub fn local_work_reaches_idle_workers(make: Factory<'_>) {
    let scheduler = make();
    assert!(scheduler.num_cpus() >= 2, "this property needs two workers");
    for round in 0..scaled(200) {
        let inner = scheduler.clone();
        let outer = scheduler.spawn(async move {
            let (arrived, began) = (Arc::new(AtomicUsize::new(0)), Instant::now());
            let tasks: Vec<Task<Meeting>> = (0..2)
                .map(|_| {
                    let arrived = arrived.clone();
                    inner.spawn(async move { meet_on_two_threads(&arrived, began) })
                })
                .collect();
            let mut meetings = Vec::new();
            for task in tasks {
                meetings.push(task.await);
            }
            meetings
        });
        let meetings = wait(outer);
        assert!(
            meetings.iter().all(|meeting| meeting.met),
            "round {round}: a task waited {:?} for its sibling to run on another worker: \
             {meetings:?}",
            LIMIT / 2
        );
    }
}

/// A task that blocks its worker thread on a task it just spawned does not deadlock: the
/// worker's queued work goes to the other workers while it blocks (a single-threaded
/// scheduler runs it in the nested block). (Looped.)
pub fn block_inside_a_task_on_its_own_spawn(make: Factory<'_>) {
    let scheduler = make();
    for round in 0..scaled(200) {
        let inner = scheduler.clone();
        let outer = scheduler.spawn(async move {
            // Alone in its worker's queue: nothing else would wake another worker for it.
            let child = inner.spawn(async { 42 });
            inner.block_with_timeout(LIMIT, child).ok()
        });
        assert_eq!(
            block_within_limit(&scheduler, outer, "the outer task never finished"),
            Some(42),
            "round {round}: a task blocking its worker on its own spawns hung"
        );
    }
}

/// Two tasks that take turns forever, each waking the other from inside its poll.
struct PingPong {
    state: Mutex<PingPongState>,
}

#[derive(Default)]
struct PingPongState {
    turn: usize,
    wakers: [Option<Waker>; 2],
    stop: bool,
}

impl PingPong {
    /// Side `me` of the game: on its turn it hands the turn over and wakes the other side.
    async fn play(self: Arc<Self>, me: usize) {
        poll_fn(|cx| {
            let mut state = self.state.lock().unwrap();
            if state.stop {
                return Poll::Ready(());
            }
            if state.turn == me {
                state.turn = 1 - me;
                if let Some(other) = state.wakers[1 - me].take() {
                    other.wake();
                }
            }
            state.wakers[me] = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
    }

    fn stop(&self) {
        let mut state = self.state.lock().unwrap();
        state.stop = true;
        for waker in state.wakers.iter_mut().filter_map(Option::take) {
            waker.wake();
        }
    }
}

/// Starts two tasks that wake each other forever, until [`PingPong::stop`].
fn start_ping_pong(scheduler: &Arc<dyn Scheduler>) -> (Arc<PingPong>, Vec<Task<()>>) {
    let game = Arc::new(PingPong {
        state: Mutex::new(PingPongState::default()),
    });
    let players = (0..2)
        .map(|me| scheduler.spawn(game.clone().play(me)))
        .collect();
    (game, players)
}

/// Ends the game and waits for both players.
fn stop_ping_pong(scheduler: &Arc<dyn Scheduler>, game: &PingPong, players: Vec<Task<()>>) {
    game.stop();
    for player in players {
        block_within_limit(scheduler, player, "a player did not stop");
    }
}

/// Two tasks waking each other forever do not starve a task spawned from outside the pool
/// (run it on a single worker: nobody else would take that work).
pub fn ping_pong_does_not_starve_other_work(make: Factory<'_>) {
    let scheduler = make();
    let (game, players) = start_ping_pong(&scheduler);
    // Spawned from this thread while the players run: it must still get its turn.
    let outsider = scheduler.spawn(async { 7 });
    let seven = block_within_limit(
        &scheduler,
        outsider,
        "a task from another thread was starved",
    );
    assert_eq!(seven, 7);
    stop_ping_pong(&scheduler, &game, players);
}

/// Two tasks waking each other forever do not hold back a timer (run it on a single worker:
/// the timer's task has nowhere else to run).
pub fn ping_pong_does_not_hold_back_timers(make: Factory<'_>) {
    let scheduler = make();
    let (game, players) = start_ping_pong(&scheduler);
    let timer = scheduler.timer(Duration::from_millis(1));
    block_within_limit(
        &scheduler,
        timer,
        "two tasks waking each other held back a timer",
    );
    stop_ping_pong(&scheduler, &game, players);
}
