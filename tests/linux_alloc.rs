//! Spawning a trivial task on the `LinuxDispatcher` costs exactly one allocation: the task
//! itself (future, output and schedule closure in one block). Queueing it allocates nothing
//! once the queue has grown.
//!
//! Linux and the BSDs only (the backend's OSes), so `--all-features` builds elsewhere.
#![cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use unified_scheduler::{LinuxDispatcher, Scheduler, Task};

/// Counts the allocations made by the calling thread (workers' allocations do not count).
struct CountingAlloc;

std::thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System`, which upholds the `GlobalAlloc` contract; the
// counter is a const-initialised thread-local `Cell` without destructor, so touching it
// never allocates or reenters the allocator.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `realloc` is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

#[test]
fn one_allocation_per_spawn() {
    let s: Arc<dyn Scheduler> = Arc::new(LinuxDispatcher::new());
    let n = if cfg!(miri) { 10 } else { 1_000 };
    // Warm up: grow the queue and the `Vec` below, and initialise thread-locals.
    let mut tasks: Vec<Task<()>> = Vec::with_capacity(n);
    for _ in 0..2 {
        tasks.extend((0..n).map(|_| s.spawn(async {})));
        s.block(async {
            for task in tasks.drain(..) {
                task.await;
            }
        });
    }

    let before = allocs();
    for _ in 0..n {
        tasks.push(s.spawn(async {}));
    }
    let spent = allocs() - before;
    s.block(async {
        for task in tasks.drain(..) {
            task.await;
        }
    });
    assert_eq!(
        spent, n,
        "expected exactly one allocation per spawn, got {spent} for {n}"
    );
}
