//! Fetching the task the next step will probably run into the cache while this step runs.
//!
//! A seeded random pick jumps to a random task of the whole queue on every step. With a
//! hundred thousand tasks queued they fill megabytes, well past the core's own cache, and
//! each step would wait for its task's memory. The pick's next draw is known one step
//! ahead (`SeededRng::peek_below`), so the step prefetches that task's allocation before it
//! runs its own. A wrong guess (the queue changed meanwhile) costs one wasted fetch; nothing
//! the program sees depends on it.

use crate::core::{Runnable, TaskMetadata};

/// Below this many queued tasks, they fit in the cache and prefetching would only add
/// instructions.
pub(super) const PREFETCH_FROM: usize = 4096;

/// Asks the CPU to fetch `runnable`'s task allocation (its header, where the metadata is,
/// and the future behind it) into the cache. A hint only: no effect on what runs.
#[inline]
pub(super) fn prefetch_task(runnable: &Runnable) {
    let metadata: *const TaskMetadata = runnable.metadata();
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use ::core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let at = metadata.cast::<i8>();
        // The allocation is async-task's header (state, awaiter, vtable, then the metadata),
        // then the future: about two cache lines around the metadata.
        for offset in [-32, 32, 88] {
            // SAFETY: a prefetch never faults and changes nothing the program can observe,
            // whatever the address; `wrapping_offset` makes the address without a claim
            // that it is in bounds.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(at.wrapping_offset(offset)) };
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = metadata; // no stable prefetch here (or under miri): nothing to do
}
