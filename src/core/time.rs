//! `Instant`: `std::time::Instant` with `std`, the crate's own monotonic instant without.

#[cfg(feature = "std")]
pub use std::time::Instant;

#[cfg(not(feature = "std"))]
pub use self::no_std_instant::Instant;

#[cfg(not(feature = "std"))]
mod no_std_instant {
    use core::ops::{Add, AddAssign, Sub};
    use core::time::Duration;

    /// A point on a scheduler's monotonic clock, counted from the scheduler's own epoch.
    ///
    /// Without `std` there is no system clock, so a scheduler makes instants from whatever
    /// its platform counts (a hardware timer, a virtual clock). The arithmetic matches
    /// `std::time::Instant`, so code written against [`crate::Instant`] compiles both ways.
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
        /// The instant `since_epoch` after the clock's epoch.
        ///
        /// ```
        /// use core::time::Duration;
        /// use unified_scheduler::Instant;
        /// assert_eq!(Instant::from_epoch(Duration::ZERO).since_epoch(), Duration::ZERO);
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
        fn sub(self, rhs: Duration) -> Instant {
            self.checked_sub(rhs)
                .expect("overflow when subtracting a duration from an Instant; use checked_sub")
        }
    }

    impl Sub<Instant> for Instant {
        type Output = Duration;
        fn sub(self, rhs: Instant) -> Duration {
            self.duration_since(rhs)
        }
    }
}
