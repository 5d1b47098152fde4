//! `Instant`: one type in every configuration, so that turning on `std` anywhere in a build
//! never changes what `Scheduler::now` returns (features are additive).
//!
//! An instant is a `Duration` since the epoch of the clock that made it. With `std` (on
//! targets that have a clock), [`Instant::now`] reads the process's monotonic clock, whose
//! epoch is the first time any code asked; without `std` a scheduler makes instants from
//! whatever its platform counts (a hardware timer, a virtual clock, `Date.now()` on
//! wasm32). No method panics on a target without a clock: there, `now` does not exist.

use ::core::ops::{Add, AddAssign, Sub, SubAssign};
use ::core::time::Duration;

/// A point on a scheduler's monotonic clock, counted from the clock's epoch.
///
/// The arithmetic is `std::time::Instant`'s, so code written against it reads the same.
///
/// ```
/// use core::time::Duration;
/// use unified_scheduler::Instant;
///
/// let start = Instant::from_epoch(Duration::from_secs(1));
/// let later = start + Duration::from_millis(500);
/// assert_eq!(later.duration_since(start), Duration::from_millis(500));
/// assert_eq!(start.saturating_duration_since(later), Duration::ZERO);
/// ```
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The clock's epoch itself.
    ///
    /// ```
    /// use core::time::Duration;
    /// use unified_scheduler::Instant;
    /// assert_eq!(Instant::EPOCH.since_epoch(), Duration::ZERO);
    /// ```
    pub const EPOCH: Self = Self(Duration::ZERO);

    /// The instant `since_epoch` after the clock's epoch.
    ///
    /// ```
    /// use core::time::Duration;
    /// use unified_scheduler::Instant;
    /// assert_eq!(Instant::from_epoch(Duration::ZERO), Instant::EPOCH);
    /// ```
    pub const fn from_epoch(since_epoch: Duration) -> Self {
        Self(since_epoch)
    }

    /// How long after the epoch this instant is.
    ///
    /// ```
    /// use core::time::Duration;
    /// use unified_scheduler::Instant;
    /// let t = Instant::from_epoch(Duration::from_secs(2));
    /// assert_eq!(t.since_epoch(), Duration::from_secs(2));
    /// ```
    pub const fn since_epoch(self) -> Duration {
        self.0
    }

    /// Time from `earlier` to `self`; zero if `earlier` is later (like std since 1.60).
    ///
    /// ```
    /// use core::time::Duration;
    /// use unified_scheduler::Instant;
    /// let a = Instant::from_epoch(Duration::from_secs(1));
    /// assert_eq!(a.duration_since(a), Duration::ZERO);
    /// ```
    pub fn duration_since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    ///
    /// ```
    /// use core::time::Duration;
    /// use unified_scheduler::Instant;
    /// let a = Instant::from_epoch(Duration::from_secs(1));
    /// let b = Instant::from_epoch(Duration::from_secs(3));
    /// assert_eq!(a.saturating_duration_since(b), Duration::ZERO);
    /// ```
    pub fn saturating_duration_since(self, earlier: Self) -> Duration {
        self.0.saturating_sub(earlier.0)
    }

    /// Time from `earlier` to `self`, or `None` if `earlier` is later.
    ///
    /// ```
    /// use core::time::Duration;
    /// use unified_scheduler::Instant;
    /// let a = Instant::from_epoch(Duration::from_secs(1));
    /// let b = Instant::from_epoch(Duration::from_secs(3));
    /// assert_eq!(b.checked_duration_since(a), Some(Duration::from_secs(2)));
    /// assert_eq!(a.checked_duration_since(b), None);
    /// ```
    pub fn checked_duration_since(self, earlier: Self) -> Option<Duration> {
        self.0.checked_sub(earlier.0)
    }

    /// `self + duration`, or `None` on overflow.
    ///
    /// ```
    /// use core::time::Duration;
    /// use unified_scheduler::Instant;
    /// let a = Instant::from_epoch(Duration::from_secs(1));
    /// assert!(a.checked_add(Duration::MAX).is_none());
    /// ```
    pub fn checked_add(self, duration: Duration) -> Option<Self> {
        self.0.checked_add(duration).map(Self)
    }

    /// `self + duration`, or the last representable instant on overflow: the deadline of a
    /// delay too large to represent, which then never comes.
    ///
    /// ```
    /// use core::time::Duration;
    /// use unified_scheduler::Instant;
    /// let a = Instant::from_epoch(Duration::from_secs(1));
    /// assert_eq!(a.saturating_add(Duration::MAX).since_epoch(), Duration::MAX);
    /// ```
    pub fn saturating_add(self, duration: Duration) -> Self {
        Self(self.0.saturating_add(duration))
    }

    /// `self - duration`, or `None` before the epoch.
    ///
    /// ```
    /// use core::time::Duration;
    /// use unified_scheduler::Instant;
    /// let a = Instant::from_epoch(Duration::from_secs(1));
    /// assert!(a.checked_sub(Duration::from_secs(2)).is_none());
    /// ```
    pub fn checked_sub(self, duration: Duration) -> Option<Self> {
        self.0.checked_sub(duration).map(Self)
    }
}

#[cfg(us_has_clock)]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
mod clock {
    use std::sync::OnceLock;

    use super::Instant;

    /// The process clock's epoch: the first time anyone asked for the time.
    fn epoch() -> std::time::Instant {
        static EPOCH: OnceLock<std::time::Instant> = OnceLock::new();
        *EPOCH.get_or_init(std::time::Instant::now)
    }

    impl Instant {
        /// Now on the process's monotonic clock (`std::time::Instant`), which every
        /// production scheduler of this crate uses. Only with `std`, on targets with a clock
        /// (not wasm32-unknown-unknown, where std's clock panics).
        ///
        /// ```
        /// use unified_scheduler::Instant;
        /// let a = Instant::now();
        /// assert!(Instant::now() >= a);
        /// ```
        pub fn now() -> Self {
            Self::from(std::time::Instant::now())
        }

        /// Time since this instant on the process clock; zero if it is in the future.
        ///
        /// ```
        /// use unified_scheduler::Instant;
        /// let start = Instant::now();
        /// assert!(start.elapsed() <= Instant::now() - start + start.elapsed());
        /// ```
        pub fn elapsed(self) -> ::core::time::Duration {
            Self::now().saturating_duration_since(self)
        }

        /// This instant on std's clock, if it is in the process clock's range (it is, for
        /// every instant a scheduler of this crate's made from that clock).
        ///
        /// ```
        /// use unified_scheduler::Instant;
        /// let now = Instant::now();
        /// assert_eq!(Instant::from(now.to_std().unwrap()), now);
        /// ```
        pub fn to_std(self) -> Option<std::time::Instant> {
            epoch().checked_add(self.since_epoch())
        }
    }

    /// The same point on this crate's clock; an instant before the clock's epoch becomes
    /// the epoch.
    ///
    /// ```
    /// use unified_scheduler::Instant;
    /// let std_now = std::time::Instant::now();
    /// assert!(Instant::from(std_now) <= Instant::now());
    /// ```
    impl From<std::time::Instant> for Instant {
        fn from(instant: std::time::Instant) -> Self {
            Self::from_epoch(instant.saturating_duration_since(epoch()))
        }
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Panics on overflow, like `std::time::Instant`; use `checked_add` to avoid it.
    fn add(self, rhs: Duration) -> Instant {
        self.checked_add(rhs)
            .expect("overflow when adding a duration to an Instant; use checked_add")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    /// Panics before the epoch; use `checked_sub` to avoid it.
    fn sub(self, rhs: Duration) -> Instant {
        self.checked_sub(rhs)
            .expect("overflow when subtracting a duration from an Instant; use checked_sub")
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero, like `std::time::Instant` since 1.60.
    fn sub(self, rhs: Instant) -> Duration {
        self.duration_since(rhs)
    }
}
