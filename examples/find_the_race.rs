//! Find a check-then-act race with the `TestScheduler`, replay it, and prove the fix.
//!
//! `Cache::get` checks the map, awaits the backend, then fills the map. Two requests for the
//! same key can both miss and both hit the backend: a real bug that ordinary tests rarely
//! see. Here the TestScheduler tries seed after seed until an interleaving breaks the
//! invariant "the backend is asked once per key", replays that seed to show the same
//! failure, and then runs the fixed cache over the same seeds.
//!
//! Run it: `cargo run --example find_the_race`

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use unified_scheduler::{BackgroundExecutor, TestScheduler, TestSchedulerConfig};

/// A slow backend that counts how often it is asked.
struct Backend {
    executor: BackgroundExecutor,
    fetches: AtomicUsize,
}

impl Backend {
    async fn fetch(&self, key: &str) -> Arc<str> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        // Network latency: a no-op in production, a seeded number of yields under test.
        self.executor.simulate_random_delay().await;
        Arc::from(format!("value of {key}"))
    }
}

/// The buggy cache: check, await, act.
struct RacyCache {
    backend: Backend,
    entries: Mutex<BTreeMap<String, Arc<str>>>,
}

impl RacyCache {
    async fn get(&self, key: &str) -> Arc<str> {
        if let Some(value) = self.entries.lock().unwrap().get(key) {
            return value.clone();
        }
        let value = self.backend.fetch(key).await; // another request can miss meanwhile
        self.entries
            .lock()
            .unwrap()
            .insert(key.to_string(), value.clone());
        value
    }
}

/// The fixed cache: the first request reserves the key before it awaits; later ones wait
/// for it instead of fetching again.
struct FixedCache {
    backend: Backend,
    entries: Mutex<BTreeMap<String, Slot>>,
}

enum Slot {
    Loading(Vec<Waker>),
    Ready(Arc<str>),
}

impl FixedCache {
    async fn get(&self, key: &str) -> Arc<str> {
        let must_fetch = {
            let mut entries = self.entries.lock().unwrap();
            match entries.get(key) {
                Some(Slot::Ready(value)) => return value.clone(),
                Some(Slot::Loading(_)) => false,
                None => {
                    entries.insert(key.to_string(), Slot::Loading(Vec::new()));
                    true
                }
            }
        };
        if must_fetch {
            let value = self.backend.fetch(key).await;
            let ready = Slot::Ready(value.clone());
            let previous = self.entries.lock().unwrap().insert(key.to_string(), ready);
            if let Some(Slot::Loading(waiters)) = previous {
                waiters.into_iter().for_each(Waker::wake);
            }
            return value;
        }
        std::future::poll_fn(|cx| match self.entries.lock().unwrap().get_mut(key) {
            Some(Slot::Ready(value)) => Poll::Ready(value.clone()),
            Some(Slot::Loading(waiters)) => {
                waiters.push(cx.waker().clone());
                Poll::Pending
            }
            None => unreachable!("a reserved key is never removed"),
        })
        .await
    }
}

/// What the scenario needs of a cache, so it runs the buggy and the fixed one alike.
trait Cache: Send + Sync + 'static {
    fn new(backend: Backend) -> Self;
    fn backend(&self) -> &Backend;
    fn get<'a>(&'a self, key: &'a str) -> impl Future<Output = Arc<str>> + Send + 'a;
}

impl Cache for RacyCache {
    fn new(backend: Backend) -> Self {
        Self {
            backend,
            entries: Mutex::default(),
        }
    }
    fn backend(&self) -> &Backend {
        &self.backend
    }
    fn get<'a>(&'a self, key: &'a str) -> impl Future<Output = Arc<str>> + Send + 'a {
        RacyCache::get(self, key)
    }
}

impl Cache for FixedCache {
    fn new(backend: Backend) -> Self {
        Self {
            backend,
            entries: Mutex::default(),
        }
    }
    fn backend(&self) -> &Backend {
        &self.backend
    }
    fn get<'a>(&'a self, key: &'a str) -> impl Future<Output = Arc<str>> + Send + 'a {
        FixedCache::get(self, key)
    }
}

/// Two requests for one key arrive close together; the backend must be asked once.
async fn two_requests<C: Cache>(test: Arc<TestScheduler>) {
    let executor = test.background();
    let cache = Arc::new(C::new(Backend {
        executor: executor.clone(),
        fetches: AtomicUsize::new(0),
    }));
    let first = executor.spawn({
        let cache = cache.clone();
        async move { cache.get("user:42").await }
    });
    let second = executor.spawn({
        let cache = cache.clone();
        let delay = executor.simulate_random_delay();
        async move {
            delay.await; // the second request arrives a little later
            cache.get("user:42").await
        }
    });
    assert_eq!(first.await, second.await);
    let fetches = cache.backend().fetches.load(Ordering::SeqCst);
    assert_eq!(
        fetches, 1,
        "the backend was asked {fetches} times for one key"
    );
}

const SEEDS: u64 = 200;

fn main() {
    // The search panics on purpose; keep the output to our own summary.
    std::panic::set_hook(Box::new(|_| {}));

    println!("Searching {SEEDS} seeds for an interleaving that breaks RacyCache...");
    let failure = match TestSchedulerConfig::new().try_run_many(SEEDS, two_requests::<RacyCache>) {
        Ok(()) => {
            println!("No seed failed: the race was not found.");
            std::process::exit(1);
        }
        Err(failure) => failure,
    };
    println!("  seed {} fails: {}", failure.seed, failure.message);
    println!("  replay it with: {}", failure.replay_command);

    println!("Replaying seed {}...", failure.seed);
    let replay = TestSchedulerConfig::new()
        .seed(failure.seed)
        .try_run(two_requests::<RacyCache>)
        .expect_err("the same seed must fail the same way");
    assert_eq!(replay.message, failure.message);
    println!("  same failure: {}", replay.message);

    println!("Running FixedCache over the same {SEEDS} seeds...");
    match TestSchedulerConfig::new().try_run_many(SEEDS, two_requests::<FixedCache>) {
        Ok(()) => println!("  all seeds pass: the fix holds."),
        Err(failure) => {
            println!("  FixedCache failed too: {failure}");
            std::process::exit(1);
        }
    }
}
