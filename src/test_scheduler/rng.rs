//! The one source of every choice the `TestScheduler` makes.
//!
//! The seed expansion and the range reduction are ours, not `rand`'s, so a schedule for a
//! seed depends only on this file and ChaCha8: a dependency upgrade cannot reshuffle it.
//! Changing anything here changes every schedule: a breaking change (say so in CHANGELOG).

use ::core::fmt;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// A seeded ChaCha8 stream, drawn one number ahead so the next pick can be foreseen (and
/// its task fetched into the cache while this one runs) without changing the stream.
pub(crate) struct SeededRng {
    stream: ChaCha8Rng,
    /// The number the next draw returns.
    ahead: u64,
}

impl SeededRng {
    pub(crate) fn new(seed: u64) -> Self {
        // SplitMix64 spreads the u64 over the 32-byte key.
        let mut state = seed;
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        let mut stream = ChaCha8Rng::from_seed(key);
        let ahead = stream.next_u64();
        Self { stream, ahead }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        ::core::mem::replace(&mut self.ahead, self.stream.next_u64())
    }

    /// A number in `0..n` (`n > 0`), by multiply-and-shift: one draw, no loop.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        reduce(self.next_u64(), n)
    }

    /// What `below(n)` returns if it is the next draw, without drawing.
    pub(crate) fn peek_below(&self, n: usize) -> usize {
        reduce(self.ahead, n)
    }

    /// A fair coin: `true` half the time.
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // for `block`
    pub(crate) fn coin(&mut self) -> bool {
        self.next_u64() >> 63 == 1
    }

    /// A number in `start..=end`, log-uniform: first a scale (a power of two up to the
    /// span) is picked uniformly, then a number under it, so small and large values are
    /// tried equally often at every scale. An empty or one-value range draws nothing.
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // for `block_with_timeout`
    pub(crate) fn log_uniform_in(&mut self, start: usize, end: usize) -> usize {
        if end <= start {
            return start;
        }
        let span = end - start;
        let bits = (usize::BITS - span.leading_zeros()) as usize; // span < 2^bits
        let scale = self.below(bits + 1);
        let under = if scale >= usize::BITS as usize {
            span
        } else {
            ((1usize << scale) - 1).min(span)
        };
        start + self.in_range(0, under)
    }

    /// A number in `start..=end`.
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // for `block_with_timeout`
    pub(crate) fn in_range(&mut self, start: usize, end: usize) -> usize {
        if end <= start {
            return start;
        }
        match (end - start).checked_add(1) {
            Some(span) => start + self.below(span),
            None => self.next_u64() as usize, // the whole of usize
        }
    }
}

/// Maps 64 random bits to `0..n` (`n > 0`).
#[inline]
fn reduce(bits: u64, n: usize) -> usize {
    debug_assert!(n > 0);
    ((u128::from(bits) * n as u128) >> 64) as usize
}

/// A random-number stream forked from the scheduler's seed, for tests to draw their own
/// deterministic numbers; from [`TestScheduler::rng`](super::TestScheduler::rng).
///
/// ```
/// use unified_scheduler::{TestScheduler, TestSchedulerConfig};
///
/// let draw = |seed| TestScheduler::with_config(TestSchedulerConfig::new().seed(seed)).rng().next_u64();
/// assert_eq!(draw(1), draw(1));
/// assert_ne!(draw(1), draw(2));
/// ```
pub struct TestRng(SeededRng);

impl TestRng {
    pub(super) fn forked_from(seed: u64) -> Self {
        Self(SeededRng::new(seed))
    }

    /// The next 64 random bits.
    ///
    /// ```
    /// use unified_scheduler::TestScheduler;
    /// let mut rng = TestScheduler::new().rng();
    /// let _ = rng.next_u64();
    /// ```
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n`.
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    ///
    /// ```
    /// use unified_scheduler::TestScheduler;
    /// let mut rng = TestScheduler::new().rng();
    /// assert!(rng.below(10) < 10);
    /// ```
    #[track_caller]
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "TestRng::below(0): the range 0..0 is empty");
        self.0.below(n)
    }
}

impl fmt::Debug for TestRng {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestRng").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peeking_foresees_the_next_draw_and_leaves_the_stream_alone() {
        let mut peeked = SeededRng::new(7);
        let mut plain = SeededRng::new(7);
        for n in 1..200 {
            let foreseen = peeked.peek_below(n);
            assert_eq!(foreseen, peeked.peek_below(n), "peeking draws nothing");
            assert_eq!(peeked.below(n), foreseen);
            assert_eq!(plain.below(n), foreseen, "the stream is the unpeeked one");
        }
        // (The golden fingerprints pin the stream itself: the look-ahead skips no number.)
    }
}
