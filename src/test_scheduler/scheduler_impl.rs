//! `impl Scheduler for TestScheduler`: queueing, virtual time and task tracking.

use ::core::time::Duration;

use super::TestScheduler;
use super::report::Blocked;
use crate::core::tracking::Tracker;
use crate::core::{Instant, Park, Runnable, Scheduler, TaskLabel, Unparker};

impl TestScheduler {
    /// Queues a runnable the way every `schedule*` does: the task becomes live at its first
    /// schedule, a wake from a foreign thread is reported, a parked blocker is woken.
    fn enqueue(&self, runnable: Runnable, queue: impl FnOnce(&mut super::State, Runnable)) {
        let mut state = self.lock_for_enqueue();
        #[cfg(feature = "std")]
        self.foreign.check(
            self.owner.thread,
            || &self.owner.name,
            || alloc::format!("{} was woken", runnable.metadata()),
        );
        state.tasks.see(runnable.metadata());
        queue(&mut state, runnable);
        #[cfg(feature = "std")]
        for (_, unparker) in &state.parked {
            unparker.unpark();
        }
        state.unlock();
    }
}

impl Scheduler for TestScheduler {
    fn schedule(&self, runnable: Runnable) {
        self.enqueue(runnable, super::State::push_ready);
    }

    fn schedule_labeled(&self, runnable: Runnable, label: TaskLabel) {
        self.enqueue(runnable, |state, runnable| {
            if state.deprioritized_labels.contains(&label) {
                state.deprioritized.push_back(runnable);
            } else {
                state.push_ready(runnable);
            }
        });
    }

    fn schedule_foreground(&self, runnable: Runnable) {
        self.schedule(runnable);
    }

    fn schedule_after(&self, delay: Duration, runnable: Runnable) {
        self.enqueue(runnable, |state, runnable| {
            // Saturates: a delay past the end of time never fires, and never overflows.
            let deadline = state.elapsed.saturating_add(delay);
            state.timers.push(deadline, runnable);
        });
    }

    /// Runs tasks (moving virtual time) until the calling thread's unparker is used.
    fn park(&self, timeout: Option<Duration>) -> Park {
        let deadline = timeout.map(|timeout| self.lock().elapsed.saturating_add(timeout));
        #[cfg(feature = "std")]
        let flag = THREAD_FLAG.with(Clone::clone);
        #[cfg(not(feature = "std"))]
        let flag = self.unparked.clone();
        match self.run_until_woken(&flag, deadline, &mut None, &Blocked::parked()) {
            true => Park::Unparked,
            false => Park::TimedOut,
        }
    }

    /// The calling thread's unparker (without `std`, the scheduler's one).
    fn unparker(&self) -> Unparker {
        #[cfg(feature = "std")]
        {
            THREAD_FLAG.with(super::wait::WakeFlag::unparker)
        }
        #[cfg(not(feature = "std"))]
        {
            self.unparked.unparker()
        }
    }

    fn is_main_thread(&self) -> bool {
        #[cfg(feature = "std")]
        if !self.owner.is_current() {
            return false;
        }
        !self
            .running_background
            .load(::core::sync::atomic::Ordering::Relaxed)
    }

    /// Virtual time: the clock starts at [`Instant::EPOCH`] and moves only when the
    /// scheduler moves it, so every run of a seed sees the same instants.
    fn now(&self) -> Instant {
        Instant::from_epoch(self.lock().elapsed)
    }

    #[cfg(feature = "std")]
    fn utc_now(&self) -> std::time::SystemTime {
        TestScheduler::utc_now(self)
    }

    fn tracker(&self) -> Option<&Tracker> {
        Some(&self.tracker)
    }

    fn num_cpus(&self) -> usize {
        self.lock().config.num_cpus
    }

    #[cfg(feature = "std")]
    fn drive(
        &self,
        future: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = ()>>,
        timeout: Option<Duration>,
    ) -> crate::core::Driven {
        self.drive_virtually(future, timeout)
    }
}

#[cfg(feature = "std")]
std::thread_local! {
    /// What `park` on this thread waits for, and `unparker` sets.
    static THREAD_FLAG: alloc::sync::Arc<super::wait::WakeFlag> =
        alloc::sync::Arc::new(super::wait::WakeFlag::new());
}
