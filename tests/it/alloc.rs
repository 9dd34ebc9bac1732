//! The integration tests' global allocator: the system allocator plus a per-thread count of
//! live heap bytes (allocated minus freed on that thread), so a test can tell whether the
//! producer it runs on its own thread grows with the number of messages sent.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    // const-initialized, no destructor: safe to touch from inside the allocator.
    static NET: Cell<i64> = const { Cell::new(0) };
}

fn add(delta: i64) {
    let _ = NET.try_with(|n| n.set(n.get().wrapping_add(delta)));
}

fn size(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

// SAFETY: every call is forwarded unchanged to `System`; the counter does not touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(size(layout.size()));
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        add(size(layout.size()));
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(size(new_size) - size(layout.size()));
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-size(layout.size()));
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Live heap bytes of the calling thread, relative to when [`ThreadHeap::start`] was called.
/// (Memory allocated here and freed on another thread, or the reverse, skews it; the producer
/// and its connections run on the test's thread unless `io_threads` is set.)
pub struct ThreadHeap {
    base: i64,
}

impl ThreadHeap {
    pub fn start() -> ThreadHeap {
        ThreadHeap { base: NET.with(Cell::get) }
    }

    /// Bytes allocated and not freed on this thread since `start`.
    pub fn net(&self) -> i64 {
        NET.with(Cell::get) - self.base
    }
}
