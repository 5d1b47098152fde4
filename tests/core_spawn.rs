//! The core helpers on `dyn Scheduler`, through the public API, on simple real schedulers.

mod common;

use std::future::pending;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{DropCounter, RecordingScheduler, expect_panic};
use unified_scheduler::{QueueScheduler, Scheduler, Task, TaskLabel};

fn queue() -> (Arc<QueueScheduler>, Arc<dyn Scheduler>) {
    let queue = Arc::new(QueueScheduler::new());
    let scheduler: Arc<dyn Scheduler> = queue.clone();
    (queue, scheduler)
}

#[test]
fn spawn_runs_the_future_and_returns_its_output() {
    let (queue, scheduler) = queue();
    let task = scheduler.spawn(async { 40 + 2 });
    assert!(!task.is_finished());
    assert_eq!(queue.run_all(), 1);
    assert!(task.is_finished());
    assert_eq!(scheduler.block(task), 42);
}

#[test]
fn task_ids_are_distinct_and_metadata_names_the_spawn_site() {
    let recording = Arc::new(RecordingScheduler::default());
    let scheduler: Arc<dyn Scheduler> = recording.clone();
    let a = scheduler.spawn(async {});
    let line = line!() - 1;
    let b = scheduler.spawn(async {});
    assert_ne!(a.id(), b.id());
    let runnable = recording.pop().unwrap();
    let meta = *runnable.metadata();
    assert_eq!(meta.id, a.id());
    assert!(meta.spawned_at.file().ends_with("core_spawn.rs"));
    assert_eq!(meta.spawned_at.line(), line);
    assert!(!meta.foreground);
    runnable.run();
    recording.run_all();
}

#[test]
fn spawn_labeled_schedules_through_schedule_labeled_every_time() {
    let recording = Arc::new(RecordingScheduler::default());
    let scheduler: Arc<dyn Scheduler> = recording.clone();
    let label = TaskLabel::new();
    let task = scheduler.spawn_labeled(label, async {
        futures_lite::future::yield_now().await;
    });
    recording.run_all();
    assert!(task.is_finished());
    // First schedule at spawn, second after the yield: both carry the label.
    assert_eq!(
        *recording.labels.lock().unwrap(),
        vec![Some(label), Some(label)]
    );
    let plain = scheduler.spawn(async {});
    recording.run_all();
    assert!(plain.is_finished());
    assert_eq!(recording.labels.lock().unwrap().last(), Some(&None));
}

#[test]
fn dropping_a_task_cancels_it_and_drops_the_future_without_running_it() {
    let (queue, scheduler) = queue();
    let drops = DropCounter::new();
    let ran = Arc::new(AtomicBool::new(false));
    let guard = drops.guard();
    let flag = ran.clone();
    let task = scheduler.spawn(async move {
        let _guard = guard;
        flag.store(true, Ordering::SeqCst);
    });
    drop(task);
    queue.run_all();
    assert!(!ran.load(Ordering::SeqCst), "a cancelled task must not run");
    assert_eq!(drops.count(), 1, "the cancelled future must be dropped");
}

#[test]
fn detached_tasks_run_to_completion() {
    let (queue, scheduler) = queue();
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    scheduler
        .spawn(async move { flag.store(true, Ordering::SeqCst) })
        .detach();
    queue.run_all();
    assert!(ran.load(Ordering::SeqCst));
}

#[test]
fn cancel_returns_the_output_only_if_finished() {
    let (queue, scheduler) = queue();
    let done = scheduler.spawn(async { 5 });
    let waiting = scheduler.spawn(pending::<i32>());
    queue.run_all();
    assert_eq!(scheduler.block(done.cancel()), Some(5));
    assert_eq!(scheduler.block(waiting.cancel()), None);
}

#[test]
fn a_panic_in_a_task_reaches_its_awaiter() {
    let (queue, scheduler) = queue();
    let task: Task<()> = scheduler.spawn(async { panic!("boom in task") });
    queue.run_all(); // the scheduler's thread survives the panic
    let message = expect_panic(|| scheduler.block(task));
    assert!(message.contains("boom in task"), "{message}");
    // And the scheduler still works.
    assert_eq!(scheduler.block(scheduler.spawn(async { 1 })), 1);
}

#[test]
fn awaiting_a_cancelled_task_panics_with_a_clear_message_and_fallible_gives_none() {
    let (queue, scheduler) = queue();
    let task = scheduler.spawn(async { 1 });
    let line = line!() - 1;
    queue.clear();
    let message = expect_panic(|| scheduler.block(task));
    assert!(message.contains("was cancelled"), "{message}");
    assert!(
        message.contains(&format!("core_spawn.rs:{line}")),
        "{message}"
    );
    let task = scheduler.spawn(async { 1 }).fallible();
    queue.clear();
    assert_eq!(scheduler.block(task), None);
}

#[test]
fn dropping_the_scheduler_cancels_its_queued_tasks_instead_of_leaking_them() {
    let drops = DropCounter::new();
    let (queue, scheduler) = queue();
    let guard = drops.guard();
    let task = scheduler
        .spawn(async move {
            let _guard = guard;
            pending::<()>().await
        })
        .fallible();
    let weak = Arc::downgrade(&queue);
    drop(queue);
    drop(scheduler);
    assert!(
        weak.upgrade().is_none(),
        "tasks must not keep their scheduler alive"
    );
    assert_eq!(drops.count(), 1);
    assert_eq!(futures_lite::future::block_on(task), None);
}

#[test]
fn task_ready_is_finished_and_yields_its_value() {
    let task = Task::ready("now");
    assert!(task.is_finished());
    assert_eq!(futures_lite::future::block_on(task), "now");
}

#[test]
fn spawn_foreground_runs_non_send_futures_on_the_main_thread() {
    let (_queue, scheduler) = queue();
    let shared = Rc::new(std::cell::Cell::new(0));
    let inner = shared.clone();
    let on_main = scheduler.clone();
    let task = scheduler.spawn_foreground(async move {
        inner.set(inner.get() + 1);
        on_main.is_main_thread()
    });
    assert!(scheduler.block(task));
    assert_eq!(shared.get(), 1);
}

#[test]
fn spawn_foreground_on_a_scheduler_without_main_thread_panics_at_the_call() {
    // `is_main_thread` is false everywhere on a scheduler without a main thread.
    let scheduler: Arc<dyn Scheduler> = Arc::new(RecordingScheduler::default());
    let message = expect_panic(|| scheduler.spawn_foreground(async {}));
    assert!(
        message.contains("not the scheduler's main thread"),
        "{message}"
    );
    assert!(message.contains("core_spawn.rs"), "{message}");
}

#[test]
fn schedule_foreground_by_default_panics_naming_the_scheduler() {
    let scheduler = RecordingScheduler::default();
    let metadata =
        unified_scheduler::TaskMetadata::here(unified_scheduler::TaskId::next_global(), None);
    let (runnable, _task) = async_task::Builder::new()
        .metadata(metadata)
        .spawn(|_| async {}, |_| {});
    let message = expect_panic(|| scheduler.schedule_foreground(runnable));
    assert!(message.contains("RecordingScheduler"), "{message}");
    assert!(message.contains("has no main thread"), "{message}");
}

#[test]
fn a_foreground_task_polled_on_another_thread_panics_with_its_spawn_site() {
    let recording = Arc::new(ForegroundRecording::default());
    let scheduler: Arc<dyn Scheduler> = recording.clone();
    let task = scheduler.spawn_foreground(async { Rc::new(1) });
    let line = line!() - 1;
    let runnable = recording.0.pop().unwrap();
    // The panic is caught by the task and handed to its awaiter.
    std::thread::spawn(move || runnable.run()).join().unwrap();
    let message = expect_panic(|| futures_lite::future::block_on(task));
    assert!(message.contains("was polled on thread"), "{message}");
    assert!(
        message.contains(&format!("core_spawn.rs:{line}")),
        "{message}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "leaks the future on purpose, which miri reports")]
fn a_foreground_task_dropped_on_another_thread_is_leaked_not_dropped() {
    let drops = DropCounter::new();
    let recording = Arc::new(ForegroundRecording::default());
    let scheduler: Arc<dyn Scheduler> = recording.clone();
    let guard = drops.guard();
    let task = scheduler.spawn_foreground(async move {
        let _guard = guard;
    });
    drop(task);
    let runnable = recording.0.pop().unwrap();
    // A panic here would abort inside async-task; the drop leaks and reports on stderr.
    std::thread::spawn(move || drop(runnable)).join().unwrap();
    assert_eq!(
        drops.count(),
        0,
        "the !Send future must not be dropped off its thread"
    );
}

/// Accepts foreground work (so tests can move it to the wrong thread on purpose).
#[derive(Default)]
struct ForegroundRecording(RecordingScheduler);

impl Scheduler for ForegroundRecording {
    fn schedule(&self, runnable: unified_scheduler::Runnable) {
        self.0.schedule(runnable)
    }
    fn schedule_foreground(&self, runnable: unified_scheduler::Runnable) {
        self.0.schedule(runnable)
    }
    fn schedule_after(&self, delay: Duration, runnable: unified_scheduler::Runnable) {
        self.0.schedule_after(delay, runnable)
    }
    fn park(&self, timeout: Option<Duration>) -> unified_scheduler::Park {
        self.0.park(timeout)
    }
    fn unparker(&self) -> unified_scheduler::Unparker {
        self.0.unparker()
    }
    fn is_main_thread(&self) -> bool {
        true
    }
    fn now(&self) -> unified_scheduler::Instant {
        self.0.now()
    }
}

#[test]
fn timer_zero_is_ready_at_once_and_timer_max_saturates() {
    let (_queue, scheduler) = queue();
    assert!(scheduler.timer(Duration::ZERO).is_finished());
    let forever = scheduler.timer(Duration::MAX); // must not overflow
    let forever = scheduler
        .block_with_timeout(Duration::from_millis(5), forever)
        .expect_err("a Duration::MAX timer never fires");
    drop(forever);
}

#[test]
fn timers_are_never_early() {
    let (_queue, scheduler) = queue();
    let start = scheduler.now();
    scheduler.block(scheduler.timer(Duration::from_millis(15)));
    assert!(scheduler.now() - start >= Duration::from_millis(15));
}

#[test]
fn block_with_timeout_zero_polls_once_and_returns_the_pending_future_intact() {
    let (_queue, scheduler) = queue();
    assert_eq!(
        scheduler
            .block_with_timeout(Duration::ZERO, async { 3 })
            .ok(),
        Some(3)
    );
    let task = scheduler.spawn(async { 9 });
    // Not run yet: the queue only runs inside `park`, which a zero timeout skips.
    let task = match scheduler.block_with_timeout(Duration::ZERO, task) {
        Ok(v) => panic!("the task cannot have run yet, got {v}"),
        Err(pending) => pending,
    };
    assert_eq!(
        scheduler.block(task),
        9,
        "the returned future must still complete"
    );
}

#[test]
fn block_runs_other_work_and_waits_for_wakes_from_threads() {
    let (_queue, scheduler) = queue();
    let (sender, receiver) = std::sync::mpsc::channel::<()>();
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    let waiter = futures_lite::future::poll_fn(move |cx| {
        if set.load(Ordering::SeqCst) {
            return std::task::Poll::Ready(());
        }
        let _ = sender.send(());
        let waker = cx.waker().clone();
        let set = set.clone();
        std::thread::spawn(move || {
            set.store(true, Ordering::SeqCst);
            waker.wake();
        });
        std::task::Poll::Pending
    });
    scheduler.block(waiter);
    assert!(flag.load(Ordering::SeqCst));
    assert!(receiver.try_recv().is_ok());
}

#[test]
fn non_tracking_schedulers_answer_none_for_is_task_running() {
    let (_queue, scheduler) = queue();
    let task = scheduler.spawn(async {});
    assert_eq!(scheduler.is_task_running(task.id()), None);
}

#[test]
fn downcast_ref_finds_the_concrete_type_only() {
    let (_queue, scheduler) = queue();
    assert!(scheduler.downcast_ref::<QueueScheduler>().is_some());
    assert!(scheduler.downcast_ref::<RecordingScheduler>().is_none());
}

#[test]
fn num_cpus_now_and_is_main_thread_answer() {
    let (_queue, scheduler) = queue();
    assert!(scheduler.num_cpus() >= 1);
    let t = scheduler.now();
    assert!(scheduler.now() >= t);
    assert!(scheduler.is_main_thread());
    let other = scheduler.clone();
    assert!(
        !std::thread::spawn(move || other.is_main_thread())
            .join()
            .unwrap()
    );
}

#[test]
fn the_unparker_ends_a_park_from_another_thread() {
    let (_queue, scheduler) = queue();
    for _ in 0..100 {
        let unparker = scheduler.unparker();
        let thread = std::thread::spawn(move || unparker.unpark());
        let parked = scheduler.park(Some(Duration::from_secs(10)));
        assert_eq!(parked, unified_scheduler::Park::Unparked, "lost wakeup");
        thread.join().unwrap();
    }
}

/// The shared state of [`QueueBacked`]: its tasks push themselves here when woken.
#[derive(Default)]
struct Pushes {
    queue: std::sync::Mutex<std::collections::VecDeque<unified_scheduler::Runnable>>,
    wakes: std::sync::Mutex<Vec<unified_scheduler::Wake>>,
}

impl unified_scheduler::TaskQueue for Pushes {
    fn push(&self, runnable: unified_scheduler::Runnable, wake: unified_scheduler::Wake) {
        self.wakes.lock().unwrap().push(wake);
        self.queue.lock().unwrap().push_back(runnable);
    }
}

/// A scheduler that hands its tasks a [`TaskQueue`](unified_scheduler::TaskQueue).
struct QueueBacked(Arc<Pushes>);

impl Scheduler for QueueBacked {
    fn schedule(&self, runnable: unified_scheduler::Runnable) {
        self.0.queue.lock().unwrap().push_back(runnable);
    }
    fn task_queue(&self) -> Option<Arc<dyn unified_scheduler::TaskQueue>> {
        Some(self.0.clone())
    }
    fn schedule_after(&self, _delay: Duration, runnable: unified_scheduler::Runnable) {
        self.schedule(runnable);
    }
    fn park(&self, _timeout: Option<Duration>) -> unified_scheduler::Park {
        loop {
            let next = self.0.queue.lock().unwrap().pop_front();
            match next {
                Some(runnable) => runnable.run(),
                None => return unified_scheduler::Park::Unparked,
            };
        }
    }
    fn unparker(&self) -> unified_scheduler::Unparker {
        unified_scheduler::Unparker::from_waker(std::task::Waker::noop().clone())
    }
    fn is_main_thread(&self) -> bool {
        false
    }
    fn now(&self) -> unified_scheduler::Instant {
        unified_scheduler::Instant::now()
    }
}

#[test]
fn wakes_go_through_the_task_queue_and_say_whether_the_task_yielded() {
    let pushes = Arc::new(Pushes::default());
    let scheduler: Arc<dyn Scheduler> = Arc::new(QueueBacked(pushes.clone()));
    let waker_slot: Arc<std::sync::Mutex<Option<std::task::Waker>>> = Arc::default();
    let slot = waker_slot.clone();
    let task = scheduler.spawn(async move {
        futures_lite::future::yield_now().await; // wakes itself while running
        let mut waited = false;
        std::future::poll_fn(|cx| {
            if waited {
                return std::task::Poll::Ready(5);
            }
            waited = true;
            *slot.lock().unwrap() = Some(cx.waker().clone());
            std::task::Poll::Pending
        })
        .await
    });
    let _ = scheduler.park(None); // runs the task until it waits for the slot's waker
    use unified_scheduler::Wake::{Woken, Yielded};
    assert_eq!(*pushes.wakes.lock().unwrap(), [Yielded]);
    waker_slot.lock().unwrap().take().unwrap().wake(); // woken from outside
    assert_eq!(*pushes.wakes.lock().unwrap(), [Yielded, Woken]);
    assert_eq!(scheduler.block(task), 5);
}

#[test]
fn queue_scheduler_run_all_returns_while_a_task_keeps_yielding() {
    let (queue, scheduler) = queue();
    let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = polls.clone();
    scheduler
        .spawn(async move {
            // Bounded, so that the bug shows as a failure instead of a hang.
            for _ in 0..100_000 {
                counted.fetch_add(1, Ordering::SeqCst);
                futures_lite::future::yield_now().await;
            }
        })
        .detach();
    assert_eq!(
        queue.run_all(),
        1,
        "run_all runs what was queued when it was called"
    );
    assert_eq!(polls.load(Ordering::SeqCst), 1);
    assert_eq!(queue.run_all(), 1);
    assert_eq!(polls.load(Ordering::SeqCst), 2);
}
