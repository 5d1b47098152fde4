//! The runners' watchdog: the one hang a step budget cannot catch is a poll that never
//! returns (a task or test body busy-waiting on a flag without awaiting). One thread for the
//! whole process, started by the first run that needs it, watches the running seed of every
//! run (each runner call, each `JOBS` thread, registers one watch): if no step starts and no
//! blocked future is polled for the poll time limit while no thread waits for a real wake,
//! it prints the seed, what was running, and the replay command, and ends the process: the
//! spinning thread cannot be unwound, and hanging forever would say nothing at all. (A
//! thread per run cost a seed run alone through `try_run` two thirds of its time.)

use alloc::format;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::time::Duration;
use std::io::Write;
use std::sync::OnceLock;
use std::time::Instant;

use super::TestScheduler;
use crate::sync::Mutex;

/// One run's watch, from `start` until dropped: one seed at a time.
pub(super) struct Watchdog {
    entry: Arc<Entry>,
}

struct Entry {
    limit: Duration,
    watched: Mutex<Option<Watched>>,
    /// The last progress the watchdog thread saw (only it touches this): which scheduler
    /// (its address), its counter, and since when.
    last: Mutex<Option<(usize, usize, Instant)>>,
}

#[derive(Clone)]
struct Watched {
    test: Weak<TestScheduler>,
    replay_command: String,
}

/// The watches of the process, and how to wake the thread that checks them.
struct Registry {
    entries: Mutex<Entries>,
    unparker: parking::Unparker,
}

struct Entries {
    watches: Vec<Weak<Entry>>,
    /// How long the thread sleeps between checks (`None`: until woken, nothing to watch).
    /// A new watch wakes it only when it must check sooner: a seed run alone through
    /// `try_run` would otherwise pay a wake of that thread, and its switch, every seed.
    tick: Option<Duration>,
    /// When `watches` is this long, a new watch first drops the ended ones (the thread
    /// drops them too, but only once a tick): amortized, so seeds run back to back through
    /// `try_run` keep memory flat.
    prune_at: usize,
}

/// The least `Entries::prune_at`.
const PRUNE_AT_LEAST: usize = 64;

/// The registry, its thread started on first use; `None` if no thread could be started
/// (the runs still work; only a spin loop would hang them) or under miri (whose tests never
/// spin, and which would take the thread left parked at exit for a leak).
fn registry() -> Option<&'static Registry> {
    static REGISTRY: OnceLock<Option<Registry>> = OnceLock::new();
    REGISTRY
        .get_or_init(|| {
            if cfg!(miri) {
                return None;
            }
            let (parker, unparker) = parking::pair();
            std::thread::Builder::new()
                .name(String::from("unified-scheduler-watchdog"))
                .spawn(move || {
                    // Woken by the first watch, which registers after `REGISTRY` is set.
                    parker.park();
                    if let Some(registry) = REGISTRY.get().and_then(Option::as_ref) {
                        registry.run(&parker);
                    }
                })
                .ok()?;
            Some(Registry {
                entries: Mutex::new(Entries {
                    watches: Vec::new(),
                    tick: None,
                    prune_at: PRUNE_AT_LEAST,
                }),
                unparker,
            })
        })
        .as_ref()
}

impl Watchdog {
    /// Starts watching (nothing yet) with `limit` per poll.
    pub(super) fn start(limit: Duration) -> Self {
        let entry = Arc::new(Entry {
            limit,
            watched: Mutex::new(None),
            last: Mutex::new(None),
        });
        if let Some(registry) = registry() {
            let mut entries = registry.entries.lock();
            if entries.watches.len() >= entries.prune_at {
                entries.watches.retain(|entry| entry.strong_count() > 0);
                entries.prune_at = (2 * entries.watches.len()).max(PRUNE_AT_LEAST);
            }
            entries.watches.push(Arc::downgrade(&entry));
            if entries.tick.is_none_or(|tick| entry.tick() < tick) {
                // Parked with nothing to watch, or for longer than this watch allows.
                registry.unparker.unpark();
            }
        }
        Self { entry }
    }

    /// Watches `test` from now on, with the command that replays its seed.
    pub(super) fn watch(&self, test: &Arc<TestScheduler>, replay_command: &str) {
        *self.entry.watched.lock() = Some(Watched {
            test: Arc::downgrade(test),
            replay_command: String::from(replay_command),
        });
    }
}

impl Registry {
    fn run(&self, parker: &parking::Parker) -> ! {
        loop {
            // The shortest check interval among the live watches; parked while none.
            let tick = {
                let mut entries = self.entries.lock();
                entries.watches.retain(|entry| entry.strong_count() > 0);
                let tick = (entries.watches.iter())
                    .filter_map(Weak::upgrade)
                    .map(|entry| entry.tick())
                    .min();
                // Set under the lock a new watch takes: it sees what this thread will do.
                entries.tick = tick;
                tick
            };
            match tick {
                None => parker.park(),
                Some(tick) => {
                    parker.park_timeout(tick);
                    let live: Vec<Arc<Entry>> = (self.entries.lock().watches.iter())
                        .filter_map(Weak::upgrade)
                        .collect();
                    for entry in live {
                        entry.check(Instant::now());
                    }
                }
            }
        }
    }
}

impl Entry {
    /// How often this watch is checked.
    fn tick(&self) -> Duration {
        (self.limit / 4).max(Duration::from_millis(1))
    }

    /// Ends the process if the watched seed made no progress for the limit.
    fn check(&self, now: Instant) {
        let watched = self.watched.lock().clone();
        let mut last = self.last.lock();
        let Some(watched) = watched else { return };
        let Some(test) = watched.test.upgrade() else {
            *last = None;
            return;
        };
        let progress = test.progress.load(core::sync::atomic::Ordering::Relaxed);
        let waiting_for_real = test
            .parked_for_real
            .load(core::sync::atomic::Ordering::Relaxed)
            > 0;
        let address = Arc::as_ptr(&test) as usize;
        match *last {
            Some((seen, count, since))
                if seen == address && count == progress && !waiting_for_real =>
            {
                if now.duration_since(since) >= self.limit {
                    self.report_and_exit(&test, &watched.replay_command);
                }
            }
            _ => *last = Some((address, progress, now)),
        }
    }

    fn report_and_exit(&self, test: &TestScheduler, replay_command: &str) -> ! {
        let (seed, last_run) = {
            let state = test.lock();
            (state.config.seed, state.schedule.last())
        };
        let running = match last_run {
            Some(task) => format!(
                "the last code to start was {task} (or a future it blocks on, the test \
                 body included)"
            ),
            None => String::from("the test body"),
        };
        let message = format!(
            "\nTestScheduler (seed {seed}): nothing returned to the scheduler for {:?}: \
             {running} is still running. A spin loop that never awaits (a busy-wait on a \
             flag, a `try_recv` loop) keeps every other task from running; await something \
             that can wait (or `yield_now().await`) inside the loop. The process ends here: \
             a spinning thread cannot be unwound. (The limit is \
             `TestSchedulerConfig::poll_time_limit`.)\nReplay it with:\n    \
             {replay_command}\n",
            self.limit
        );
        // Straight to the process's stderr: libtest's capture of this thread's output would
        // be lost with the process.
        let _ = std::io::stderr().write_all(message.as_bytes());
        std::process::exit(101)
    }
}

#[cfg(all(test, not(miri)))]
mod tests {
    use super::*;

    fn registered(registry: &Registry, watchdog: &Watchdog) -> bool {
        let entries = registry.entries.lock();
        (entries.watches.iter())
            .filter_map(Weak::upgrade)
            .any(|entry| Arc::ptr_eq(&entry, &watchdog.entry))
    }

    #[test]
    fn every_run_registers_with_one_process_wide_watchdog_and_leaves_it() {
        let registry = registry().expect("a watchdog thread starts");
        let (first, second) = (
            Watchdog::start(Duration::from_secs(60)),
            Watchdog::start(Duration::from_secs(60)),
        );
        assert!(
            ::core::ptr::eq(registry, super::registry().unwrap()),
            "one registry, one thread, for the whole process"
        );
        assert!(registered(registry, &first) && registered(registry, &second));
        // Many short runs (a `try_run` per seed) leave nothing behind once the thread has
        // pruned the ended watches (other tests' runs may come and go meanwhile).
        drop((first, second));
        for _ in 0..1_000 {
            drop(Watchdog::start(Duration::from_secs(60)));
        }
        // A new watch drops the ended ones as the list grows, with no wake of the thread.
        assert!(
            registry.entries.lock().watches.len() < 300,
            "{} entries kept",
            registry.entries.lock().watches.len()
        );
        let _short = Watchdog::start(Duration::from_millis(4)); // a short tick: prunes soon
        let pruned = (0..2_000).any(|_| {
            std::thread::sleep(Duration::from_millis(1)); // a real thread: bounded, 2 s at most
            registry.entries.lock().watches.len() < 100
        });
        assert!(
            pruned,
            "{} entries kept",
            registry.entries.lock().watches.len()
        );
    }
}
