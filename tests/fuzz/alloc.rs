//! A counting global allocator: live bytes now and at their peak, plus a hard limit.
//!
//! Counts the sizes the program asks for (not malloc's rounding), so structures of many tiny
//! allocations cost somewhat more real memory than reported. The peak is process-wide: the
//! harness runs one input at a time on one thread, so "peak during this input" is exact.
//!
//! The hard limit is a safety net, not the bound the harness checks: an input that makes the
//! process hold more than `FUZZ_MEM_LIMIT_MB` is reported by the hook set with [`on_limit`] (which
//! saves it) and the process aborts, because an allocator must not unwind and a run that keeps
//! going would take the machine down with it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::OnceLock;

pub struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
static TRIPPED: AtomicBool = AtomicBool::new(false);
static HOOK: OnceLock<fn(usize)> = OnceLock::new();

fn grow(n: usize) {
    let now = CURRENT.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
    // Allocations made by the hook itself pass here again: `TRIPPED` keeps that from recursing.
    if now > LIMIT.load(Relaxed) && !TRIPPED.swap(true, Relaxed) {
        if let Some(hook) = HOOK.get() {
            hook(now);
        }
        std::process::abort();
    }
}

fn shrink(n: usize) {
    CURRENT.fetch_sub(n, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            // Counted as the difference: large blocks are moved by remapping, not by copying.
            if new_size >= layout.size() {
                grow(new_size - layout.size());
            } else {
                shrink(layout.size() - new_size);
            }
        }
        p
    }
}

/// Restarts peak tracking from the current level; returns that level (the baseline).
pub fn reset_peak() -> usize {
    let now = CURRENT.load(Relaxed);
    PEAK.store(now, Relaxed);
    now
}

/// Highest level since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Relaxed)
}

/// Sets the hard limit (live bytes) and the hook that reports an input going past it.
pub fn on_limit(limit: usize, hook: fn(usize)) {
    LIMIT.store(limit, Relaxed);
    let _ = HOOK.set(hook);
}

// ---- resident set, for memory that C code (zstd) takes from malloc directly ------------------

/// Resets the kernel's high-water mark of the resident set to the current size and returns that
/// size; `None` where Linux's `/proc/self/clear_refs` cannot be written.
pub fn rss_reset_peak() -> Option<usize> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    rss_field("VmHWM:")
}

/// The resident set's high-water mark since the last [`rss_reset_peak`].
pub fn rss_peak() -> Option<usize> {
    rss_field("VmHWM:")
}

fn rss_field(name: &str) -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    let kib: usize = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}
