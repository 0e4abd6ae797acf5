//! Observation points for the end-to-end tests (feature `test-hooks`, off
//! by default; CI builds with every feature). A test that must prove what
//! the listener did to its files at a given moment (that `--durable`
//! fsynced before acknowledging, and how long each file was when it did)
//! cannot see it from outside: the page cache hides whether a sync ever
//! happened. With the feature on and `TRIBUTARY_TEST_SYNC_LOG` naming a
//! file, every fsync of an output or the journal appends
//! `sync<TAB>path<TAB>length` to it, before anything it covers is
//! acknowledged. Without the feature these are empty inline functions.

use std::path::Path;

/// The environment variable naming the sync log.
#[cfg(feature = "test-hooks")]
const SYNC_LOG: &str = "TRIBUTARY_TEST_SYNC_LOG";

/// `path` was just fsynced: log its length (read back now; only the
/// writer thread writes it).
#[cfg(feature = "test-hooks")]
pub(crate) fn synced(path: &Path) {
    use std::io::Write;
    let Some(log) = std::env::var_os(SYNC_LOG) else {
        return;
    };
    let len = std::fs::metadata(path).map_or(0, |m| m.len());
    let line = format!("sync\t{}\t{len}\n", path.display());
    // One append per line: the test reads it while the listener runs.
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        // A test hook that cannot report must not be mistaken for a sync
        // that never happened.
        panic!(
            "{SYNC_LOG}: cannot append to {}: {e}",
            Path::new(&log).display()
        );
    }
}

/// Without the feature: nothing.
#[cfg(not(feature = "test-hooks"))]
#[inline(always)]
pub(crate) fn synced(_path: &Path) {}
