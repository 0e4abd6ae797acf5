//! Controls for tests (feature `test-hooks`, off by default): a test that
//! must catch the background gzip worker mid-way (to kill the process
//! there, or to show the writer goes on meanwhile) cannot rely on
//! compression being slow enough; it holds it instead.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static HELD: AtomicBool = AtomicBool::new(false);
static WAITING: AtomicU64 = AtomicU64::new(0);

/// While held, every compression in this process stops after writing the
/// first chunk of its `.gz.tmp` and waits to be released.
pub fn hold_compression(held: bool) {
    HELD.store(held, Ordering::SeqCst);
}

/// How many compressions are waiting at the hold now: a test waits for
/// one before relying on it.
pub fn compressions_held() -> u64 {
    WAITING.load(Ordering::SeqCst)
}

/// Called by the gzip worker mid-way through an archive.
#[cfg(feature = "gzip")]
pub(crate) fn compression_checkpoint() {
    if !HELD.load(Ordering::SeqCst) {
        return;
    }
    WAITING.fetch_add(1, Ordering::SeqCst);
    while HELD.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    WAITING.fetch_sub(1, Ordering::SeqCst);
}
