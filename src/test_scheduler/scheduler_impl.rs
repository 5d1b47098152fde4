//! `impl Scheduler for TestScheduler`: queueing, virtual time and task tracking.

use core::panic::Location;
use core::sync::atomic::Ordering;
use core::time::Duration;

use super::TestScheduler;
use crate::{Instant, Runnable, Scheduler, TaskEnd, TaskId, TaskLabel, TaskRegistration, Unparker};

impl Scheduler for TestScheduler {
    fn schedule(&self, runnable: Runnable) {
        let mut state = self.lock();
        self.check_thread(&mut state, &runnable);
        state.tasks.see(runnable.metadata());
        state.push_ready(runnable);
        self.wake_parked(&state);
    }

    fn schedule_labeled(&self, runnable: Runnable, label: TaskLabel) {
        let mut state = self.lock();
        self.check_thread(&mut state, &runnable);
        state.tasks.see(runnable.metadata());
        if state.deprioritized_labels.contains(&label) {
            state.deprioritized.push_back(runnable);
        } else {
            state.push_ready(runnable);
        }
        self.wake_parked(&state);
    }

    fn schedule_foreground(&self, runnable: Runnable) {
        self.schedule(runnable);
    }

    fn schedule_after(&self, delay: Duration, runnable: Runnable) {
        let mut state = self.lock();
        self.check_thread(&mut state, &runnable);
        state.tasks.see(runnable.metadata());
        // Saturates: a delay past the end of time never fires, and never overflows.
        let deadline = state.elapsed.saturating_add(delay);
        state.timers.push(deadline, runnable);
        self.wake_parked(&state);
    }

    fn park(&self, timeout: Option<Duration>) -> bool {
        let deadline = timeout.map(|timeout| self.lock().elapsed.saturating_add(timeout));
        self.run_until_woken(&self.unparked, deadline, &mut None)
    }

    fn unparker(&self) -> Unparker {
        self.unparked.unparker()
    }

    fn is_main_thread(&self) -> bool {
        #[cfg(feature = "std")]
        if !self.owner.is_current() {
            return false;
        }
        !self.running_background.load(Ordering::Relaxed)
    }

    fn now(&self) -> Instant {
        let elapsed = self.lock().elapsed;
        #[cfg(feature = "std")]
        {
            self.owner.epoch_plus(elapsed)
        }
        #[cfg(not(feature = "std"))]
        {
            Instant::from_epoch(elapsed)
        }
    }

    fn register_task(
        &self,
        label: Option<TaskLabel>,
        spawned_at: &'static Location<'static>,
    ) -> TaskRegistration {
        let _ = (label, spawned_at); // recorded from the runnable's metadata when scheduled
        let id = self.next_task_id.fetch_add(1, Ordering::Relaxed) as u64;
        TaskRegistration::tracked(TaskId::from_raw(id).expect("task ids start at 1"))
    }

    fn task_ended(&self, id: TaskId, end: TaskEnd) {
        self.lock().task_ended(id, end);
    }

    fn is_task_running(&self, id: TaskId) -> Option<bool> {
        Some(TestScheduler::is_task_running(self, id))
    }

    fn num_cpus(&self) -> usize {
        self.lock().config.num_cpus
    }

    #[cfg(feature = "std")]
    fn block_on(
        &self,
        future: core::pin::Pin<&mut dyn core::future::Future<Output = ()>>,
        timeout: Option<Duration>,
    ) -> bool {
        self.block_on_virtual(future, timeout)
    }
}
