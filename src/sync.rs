//! The one lock the crate uses: std's `Mutex` with `std`, a small spin lock without.
//!
//! Poisoning is ignored: a panic inside a task is reported on its own path, and the state
//! behind these locks stays consistent because no user code runs while they are held.
//!
//! The spin lock is for threads, not interrupts: a waker that takes it from an interrupt
//! handler while the interrupted code holds it spins forever on a single core. Wake tasks
//! from interrupt handlers through a lock-free flag that the main loop polls instead.

#[cfg(not(feature = "std"))]
#[allow(unused_imports)] // which modules use the guard type depends on the features
pub(crate) use self::spin_lock::{Mutex, MutexGuard};
#[cfg(feature = "std")]
#[allow(unused_imports)] // which backends use the guard type depends on the features
pub(crate) use self::std_lock::{Mutex, MutexGuard};

#[cfg(feature = "std")]
// Only a target without a clock (wasm32-unknown-unknown) builds std without its users.
#[cfg_attr(not(any(us_has_clock, feature = "test-scheduler")), allow(dead_code))]
mod std_lock {
    pub(crate) type MutexGuard<'a, T> = std::sync::MutexGuard<'a, T>;

    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(std::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        }
    }
}

#[cfg(not(feature = "std"))]
// Without `std`, only the TestScheduler and the id counters of targets without 64-bit
// atomics take this lock.
#[cfg_attr(
    all(target_has_atomic = "64", not(feature = "test-scheduler")),
    allow(dead_code)
)]
mod spin_lock {
    use core::cell::UnsafeCell;
    use core::ops::{Deref, DerefMut};
    use core::sync::atomic::{AtomicBool, Ordering};

    #[derive(Default)]
    pub(crate) struct Mutex<T> {
        locked: AtomicBool,
        value: UnsafeCell<T>,
    }

    // SAFETY: the lock hands out `&mut T` to one holder at a time, so sharing the `Mutex`
    // across threads only ever moves `T` between them: `T: Send` is enough, as for std's.
    unsafe impl<T: Send> Sync for Mutex<T> {}

    impl<T> core::fmt::Debug for Mutex<T> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("Mutex").finish_non_exhaustive()
        }
    }

    /// Holds the lock. `PhantomData<&mut T>` gives the guard std's auto traits: `Send` iff
    /// `T: Send`, `Sync` iff `T: Sync` (a shared guard hands out `&T`).
    pub(crate) struct MutexGuard<'a, T> {
        mutex: &'a Mutex<T>,
        _holds: core::marker::PhantomData<&'a mut T>,
    }

    impl<T> Mutex<T> {
        #[allow(dead_code)] // which modules make one with `new` depends on the features
        pub(crate) const fn new(value: T) -> Self {
            Self {
                locked: AtomicBool::new(false),
                value: UnsafeCell::new(value),
            }
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            while self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                core::hint::spin_loop();
            }
            MutexGuard {
                mutex: self,
                _holds: core::marker::PhantomData,
            }
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            // SAFETY: the guard exists only while `locked` is held by us (acquired in `lock`,
            // released in `drop`), so no other reference to the value exists.
            unsafe { &*self.mutex.value.get() }
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            // SAFETY: as in `deref`; `&mut self` makes this the only borrow of the guard.
            unsafe { &mut *self.mutex.value.get() }
        }
    }

    impl<T> Drop for MutexGuard<'_, T> {
        fn drop(&mut self) {
            self.mutex.locked.store(false, Ordering::Release);
        }
    }
}
