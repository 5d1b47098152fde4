//! `Unparker`: the handle that ends a [`Scheduler::park`](crate::Scheduler::park).

use ::core::fmt;
use ::core::task::Waker;

/// Wakes a thread (or a scheduler loop) blocked in [`Scheduler::park`](crate::Scheduler::park).
///
/// It is a [`Waker`] underneath, so it exists without `std` and doubles as the waker of a
/// future that `block` polls. With `std`, a [`parking::Unparker`] converts into it.
///
/// ```
/// use unified_scheduler::Unparker;
///
/// let (parker, unparker) = parking::pair();
/// let unparker = Unparker::from(unparker);
/// unparker.unpark();
/// assert!(parker.park_timeout(std::time::Duration::ZERO)); // the token was waiting
/// ```
#[derive(Clone)]
pub struct Unparker(Waker);

impl Unparker {
    /// An unparker that wakes `waker`.
    ///
    /// ```
    /// use unified_scheduler::Unparker;
    /// let unparker = Unparker::from_waker(std::task::Waker::noop().clone());
    /// unparker.unpark(); // does nothing, harmlessly
    /// ```
    pub fn from_waker(waker: Waker) -> Self {
        Self(waker)
    }

    /// Ends the matching `park`, or makes the next one return at once.
    ///
    /// ```
    /// use unified_scheduler::Unparker;
    /// let (parker, unparker) = parking::pair();
    /// Unparker::from(unparker).unpark();
    /// assert!(parker.park_timeout(std::time::Duration::ZERO));
    /// ```
    pub fn unpark(&self) {
        self.0.wake_by_ref();
    }

    /// The waker that unparks.
    ///
    /// ```
    /// use unified_scheduler::Unparker;
    /// let (parker, unparker) = parking::pair();
    /// Unparker::from(unparker).as_waker().wake_by_ref();
    /// assert!(parker.park_timeout(std::time::Duration::ZERO));
    /// ```
    pub fn as_waker(&self) -> &Waker {
        &self.0
    }
}

impl fmt::Debug for Unparker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unparker").finish_non_exhaustive()
    }
}

#[cfg(feature = "std")]
impl From<parking::Unparker> for Unparker {
    fn from(unparker: parking::Unparker) -> Self {
        Self(Waker::from(alloc::sync::Arc::new(ParkingWake(unparker))))
    }
}

#[cfg(feature = "std")]
struct ParkingWake(parking::Unparker);

#[cfg(feature = "std")]
impl alloc::task::Wake for ParkingWake {
    fn wake(self: alloc::sync::Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &alloc::sync::Arc<Self>) {
        self.0.unpark();
    }
}
