//! The unit tests' global allocator: the system allocator plus a per-thread count of the bytes
//! allocated, so a test can check what decoding a hostile input costs without other tests'
//! threads blurring the figure.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    // const-initialized and without a destructor: safe to touch from inside the allocator.
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    // try_with: the thread may be tearing its locals down.
    let _ = ALLOCATED.try_with(|a| a.set(a.get().wrapping_add(bytes)));
}

// SAFETY: every call is forwarded unchanged to `System`; the counter has no effect on memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counts growth only: a buffer that doubles to N costs about 2N in total, as it does.
        count(new_size.saturating_sub(layout.size()));
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Bytes allocated by this thread so far (never decreases: frees are not subtracted).
pub fn allocated_on_this_thread() -> usize {
    ALLOCATED.with(Cell::get)
}
