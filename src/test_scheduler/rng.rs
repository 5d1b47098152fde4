//! The one source of every choice the `TestScheduler` makes.
//!
//! The seed expansion and the range reduction are ours, not `rand`'s, so a schedule for a
//! seed depends only on this file and ChaCha8: a dependency upgrade cannot reshuffle it.
//! Changing anything here changes every schedule: a breaking change (say so in CHANGELOG).

use ::core::fmt;
use rand_chacha::ChaCha8Core;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::rand_core::block::BlockRng;

/// A seeded ChaCha8 stream: `ChaCha8Rng`'s, number for number, through its block buffer
/// directly, so that the draws still in the buffer can be foreseen (and the tasks of the
/// picks they make fetched into the cache while this one runs, see `prefetch`) without
/// changing the stream or adding to a draw.
pub(crate) struct SeededRng {
    stream: BlockRng<ChaCha8Core>,
}

impl SeededRng {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            stream: BlockRng::new(ChaCha8Core::from_seed(key(seed))),
        }
    }

    /// The next 64 bits: two words, low first, as `ChaCha8Rng::next_u64`.
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.stream.next_u64_from_u32()
    }

    /// A number in `0..n` (`n > 0`), by multiply-and-shift: one draw, no loop.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        reduce(self.next_u64(), n)
    }

    /// What `below(n)` returns if it is the draw `later` draws after the next (`0`: the
    /// next), without drawing; `None` if that draw is not in the buffer yet (a block holds
    /// 32 draws).
    #[inline]
    pub(crate) fn peek_below(&self, later: usize, n: usize) -> Option<usize> {
        let words = self.stream.remaining_results();
        match words.get(2 * later..2 * later + 2) {
            Some(&[low, high]) => Some(reduce(u64::from(high) << 32 | u64::from(low), n)),
            _ => None,
        }
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

/// The ChaCha key of `seed`: SplitMix64 spreads the u64 over the 32 bytes.
fn key(seed: u64) -> [u8; 32] {
    let mut state = seed;
    let mut key = [0u8; 32];
    for chunk in key.chunks_exact_mut(8) {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    key
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
    fn the_stream_is_chacha8rngs_number_for_number() {
        use rand_chacha::ChaCha8Rng;
        use rand_chacha::rand_core::Rng;
        for seed in [0, 3, u64::MAX] {
            let mut ours = SeededRng::new(seed);
            let mut theirs = ChaCha8Rng::from_seed(key(seed));
            // Past several blocks (32 draws each).
            for n in 0..200 {
                assert_eq!(ours.next_u64(), theirs.next_u64(), "seed {seed}, draw {n}");
            }
        }
    }

    #[test]
    fn peeking_foresees_the_draws_in_the_buffer_and_leaves_the_stream_alone() {
        let mut plain = SeededRng::new(11);
        let draws: alloc::vec::Vec<u64> = (0..200).map(|_| plain.next_u64()).collect();
        let mut peeked = SeededRng::new(11);
        let mut foreseen = 0;
        // Past several block boundaries (32 draws a block).
        for step in 0..150 {
            let n = 1_000 + step;
            for later in 0..40 {
                if let Some(index) = peeked.peek_below(later, n) {
                    assert_eq!(
                        index,
                        reduce(draws[step + later], n),
                        "step {step}, +{later}"
                    );
                    foreseen += 1;
                }
            }
            assert_eq!(
                peeked.below(n),
                reduce(draws[step], n),
                "the stream is the plain one"
            );
        }
        // Each draw but a block's first is foreseen from the draws before it in its block.
        assert!(foreseen > 150 * 10, "{foreseen}");
    }
}
