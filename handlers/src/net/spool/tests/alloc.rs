//! A garbage length in the file never turns into a large allocation.

use super::super::format::EntryHeader;
use super::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, noting the largest request on threads that ask.
struct Tracking;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = TRACKING.try_with(|on| {
        if on.get() {
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
        }
    });
}

// SAFETY: forwards every call to `System` unchanged.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// The largest allocation `f` makes on this thread.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    (out, LARGEST.with(Cell::get))
}

#[test]
fn a_huge_length_is_rejected_without_allocating_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    {
        let (mut spool, _) = open(&cfg);
        push_range(&mut spool, 0..8);
    }
    // Frame 3's header rewritten with an intact checksum but a 4 GiB length
    // (the worst case: a damaged length that still passes the header check).
    let h = EntryHeader {
        len: 0xFFFF_FFF0,
        seq: 3,
        payload_crc: 0,
    };
    scribble(cfg.path(), offset_of(3), &h.encode());
    // And frame 6's length garbled (its header checksum no longer matches).
    scribble(cfg.path(), offset_of(6), &[0xFF, 0xFF, 0xFF, 0x7F]);
    let ((mut spool, rec), largest) = largest_allocation(|| open(&cfg));
    assert!(largest < 1 << 20, "open allocated {largest} bytes");
    let kinds: Vec<_> = rec.corruption.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            CorruptionKind::Length { len: 0xFFFF_FFF0 },
            CorruptionKind::EntryHeader
        ]
    );
    assert_eq!(all(&mut spool), [0, 1, 2, 4, 5, 7]);

    // The same while reading: damage appearing after open.
    push_range(&mut spool, 8..10);
    let at = spool.file_bytes() - (20 + frame(9).len() as u64);
    let h = EntryHeader {
        len: 0xFFFF_FFF0,
        seq: 9,
        payload_crc: 0,
    };
    scribble(cfg.path(), at, &h.encode());
    let (result, largest) = largest_allocation(|| spool.peek(usize::MAX));
    assert!(largest < 1 << 20, "peek allocated {largest} bytes");
    let err = result.unwrap_err();
    assert!(matches!(err, SpoolError::Corrupt { .. }), "{err}");
    assert_eq!(all(&mut spool), [0, 1, 2, 4, 5, 7, 8]);
}
