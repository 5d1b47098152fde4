//! TestScheduler: the memory that lifecycle tracking keeps stays flat over a long test, even
//! when one early task lives for the whole of it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

use unified_scheduler::{Scheduler, TestScheduler};

/// Counts the bytes allocated and not yet freed, by every thread of this test binary (it
/// holds one test, so nothing else allocates meanwhile).
struct LiveBytes;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System`, which upholds the `GlobalAlloc` contract; the
// counter is a static atomic, so counting never allocates or reenters the allocator.
unsafe impl GlobalAlloc for LiveBytes {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract for `realloc` is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: LiveBytes = LiveBytes;

#[test]
fn a_long_lived_task_does_not_make_tracking_grow_with_every_later_spawn() {
    let test = Arc::new(TestScheduler::new());
    let s: Arc<dyn Scheduler> = test.clone();
    let _long_lived = s.spawn(std::future::pending::<()>());
    let spawn_and_run = |count: usize| {
        for _ in 0..count {
            s.spawn(async {}).detach();
            test.run_until_parked();
        }
    };
    spawn_and_run(10_000); // let every buffer reach its working size
    let before = LIVE.load(Ordering::Relaxed);
    spawn_and_run(1_000_000);
    let grown = LIVE.load(Ordering::Relaxed) - before;
    assert!(
        grown < 64 * 1024,
        "1,000,000 spawns kept {grown} bytes more alive while one early task lives"
    );
    assert_eq!(test.live_tasks().len(), 1);
}
