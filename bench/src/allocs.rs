//! Counting the heap allocations of a stretch of work: the bench binary's global allocator
//! ([`Counting`], the system allocator underneath) counts while [`count`] runs, and costs
//! one relaxed load per allocation otherwise (a count spans all threads: run nothing
//! else meanwhile). Counted: allocations, and among them those
//! over [`LARGE`] bytes (past glibc's per-thread cache: each is served, and freed, under
//! an arena's lock, which threads contend for).

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Allocations larger than this are counted as large (glibc's tcache serves chunks of up
/// to 1032 bytes, the header included).
pub const LARGE: usize = 1024;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static LARGE_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting while [`count`] runs. Install it with
/// `#[global_allocator]`.
pub struct Counting;

impl Counting {
    fn counted(size: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            if size > LARGE {
                LARGE_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

// SAFETY: every call is passed on to `System` unchanged; counting touches only atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::counted(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::counted(layout.size());
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::counted(new_size);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What [`count`] counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counted {
    /// Allocations (a `realloc` counts as one).
    pub allocations: u64,
    /// Those of more than [`LARGE`] bytes.
    pub large: u64,
}

impl Counted {
    /// Per unit of work, for `units` units.
    pub fn per(self, units: u64) -> (f64, f64) {
        let units = units.max(1) as f64;
        (self.allocations as f64 / units, self.large as f64 / units)
    }
}

/// Starts counting the allocations made by every thread of the process (only when the
/// binary installed [`Counting`]), from zero. One count at a time.
pub fn start() {
    ALLOCATIONS.store(0, Ordering::Relaxed);
    LARGE_ALLOCATIONS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::SeqCst);
}

/// Stops counting; what was counted since [`start`].
pub fn stop() -> Counted {
    COUNTING.store(false, Ordering::SeqCst);
    Counted {
        allocations: ALLOCATIONS.load(Ordering::Relaxed),
        large: LARGE_ALLOCATIONS.load(Ordering::Relaxed),
    }
}

/// Runs `work` between [`start`] and [`stop`].
pub async fn count<F: Future>(work: F) -> (F::Output, Counted) {
    start();
    let output = work.await;
    (output, stop())
}
