//! A min-heap of timers: O(log n) insert and pop, due in deadline order, ties in the order
//! they were scheduled.

use ::core::cmp::{Ordering, Reverse};
use alloc::collections::BinaryHeap;
use alloc::vec::Vec;

use crate::core::Runnable;

/// Runnables waiting for a deadline of type `D` (an `Instant`, or virtual time).
pub(crate) struct TimerHeap<D> {
    heap: BinaryHeap<Reverse<Entry<D>>>,
    next_seq: u64,
}

struct Entry<D> {
    deadline: D,
    seq: u64,
    runnable: Runnable,
}

impl<D: Ord> PartialEq for Entry<D> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<D: Ord> Eq for Entry<D> {}
impl<D: Ord> PartialOrd for Entry<D> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<D: Ord> Ord for Entry<D> {
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.deadline, self.seq).cmp(&(&other.deadline, other.seq))
    }
}

impl<D: Ord + Copy> TimerHeap<D> {
    pub(crate) const fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    pub(crate) fn push(&mut self, deadline: D, runnable: Runnable) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Entry {
            deadline,
            seq,
            runnable,
        }));
    }

    /// The earliest deadline, if any timer is waiting.
    pub(crate) fn next_deadline(&self) -> Option<D> {
        self.heap.peek().map(|Reverse(entry)| entry.deadline)
    }

    /// The earliest timer if it is due at `now`, with its deadline.
    pub(crate) fn pop_due(&mut self, now: D) -> Option<(D, Runnable)> {
        if self.next_deadline()? > now {
            return None;
        }
        self.heap
            .pop()
            .map(|Reverse(entry)| (entry.deadline, entry.runnable))
    }

    /// The runnable of the earliest timer, due or not.
    #[cfg_attr(not(feature = "test-scheduler"), allow(dead_code))] // the TestScheduler's
    pub(crate) fn peek(&self) -> Option<&Runnable> {
        self.heap.peek().map(|Reverse(entry)| &entry.runnable)
    }

    /// Removes the earliest timer, due or not.
    #[cfg_attr(not(feature = "test-scheduler"), allow(dead_code))] // the TestScheduler's
    pub(crate) fn pop(&mut self) -> Option<(D, Runnable)> {
        self.heap
            .pop()
            .map(|Reverse(entry)| (entry.deadline, entry.runnable))
    }

    /// Removes every timer whose runnable `remove` picks, keeping the order of the others;
    /// the caller decides where the removed ones are dropped. O(n).
    #[cfg_attr(not(feature = "test-scheduler"), allow(dead_code))] // the TestScheduler's
    pub(crate) fn extract(&mut self, mut remove: impl FnMut(&Runnable) -> bool) -> Vec<Runnable> {
        let (removed, kept): (Vec<_>, Vec<_>) = ::core::mem::take(&mut self.heap)
            .into_vec()
            .into_iter()
            .partition(|Reverse(entry)| remove(&entry.runnable));
        self.heap = BinaryHeap::from(kept);
        removed
            .into_iter()
            .map(|Reverse(entry)| entry.runnable)
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Removes every timer, for shutdown; the caller decides where they are dropped.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Runnable> + '_ {
        self.heap.drain().map(|Reverse(entry)| entry.runnable)
    }
}
