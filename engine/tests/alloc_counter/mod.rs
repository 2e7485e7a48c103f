//! A global allocator that counts allocations made on the current thread while counting is
//! on (the no-allocation tests' instrument).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

/// Allocations counted so far.
pub static ALLOCS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn note() {
    if COUNTING.try_with(|c| c.get()).unwrap_or(false) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards its arguments unchanged to `System`, so `System`'s
// guarantees hold; counting touches only an atomic and a thread-local flag.
unsafe impl GlobalAlloc for Counting {
    // SAFETY: the caller upholds GlobalAlloc's contract, forwarded as is.
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as this method's, forwarded.
        unsafe { System.alloc(layout) }
    }
    // SAFETY: as `alloc`.
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: same contract as this method's, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }
    // SAFETY: as `alloc`; `ptr` came from `System` through this allocator.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: same contract as this method's, forwarded.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    // SAFETY: as `alloc`; `ptr` came from `System` through this allocator with `layout`.
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as this method's, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Turns counting on this thread on or off.
pub fn counting(on: bool) {
    COUNTING.with(|c| c.set(on));
}
