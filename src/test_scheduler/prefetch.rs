//! Fetching the tasks the next steps will probably run into the cache while this step runs.
//!
//! A seeded random pick jumps to a random task of the whole queue on every step. With a
//! hundred thousand tasks queued they fill megabytes, well past the core's own cache, and
//! each step would wait for its task's memory: first for the queue's slot, which holds the
//! task's address, then for the task. The picks' draws are known steps ahead (the random
//! stream's buffer holds them: `SeededRng::peek_below`), so each step fetches, as a
//! pipeline, the queue slot of the pick [`SLOT_LEAD`] after the next, the task of the pick
//! [`TASK_LEAD`] after the next (whose slot an earlier step fetched), and the next pick's
//! task again in case the queue changed since. Two steps of lead hide a memory access that
//! one step did not (BENCHMARKS.md, 2026-12-08). A wrong guess (the queue changed
//! meanwhile) costs one wasted fetch; nothing the program sees depends on it.

use crate::core::{Runnable, TaskMetadata};

/// Below this many queued tasks, they fit in the cache and prefetching would only add
/// instructions.
pub(super) const PREFETCH_FROM: usize = 4096;

/// How many picks after the next one the task prefetch looks.
pub(super) const TASK_LEAD: usize = 2;

/// How many picks after the next one the queue-slot prefetch looks: two steps before the
/// task prefetch reads that slot.
pub(super) const SLOT_LEAD: usize = TASK_LEAD + 2;

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

/// Asks the CPU to fetch the cache line at `at` (a queue slot). A hint only: no effect on
/// what runs, whatever the address.
#[inline]
pub(super) fn prefetch_line<T>(at: *const T) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use ::core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch never faults and changes nothing the program can observe,
        // whatever the address.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(at.cast::<i8>()) };
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = at; // no stable prefetch here (or under miri): nothing to do
}
