//! Wake-ups for `tail -f`: inotify on the live file's directory, so a
//! follower reads a record as soon as it is written instead of at its next
//! poll. What happened (an append, a rename, a truncation) is still judged
//! by the poll alone: an event only ends the wait early, and a lost or
//! unwatchable event costs at most one poll interval. Where inotify is
//! unavailable (another OS, no watches left), the wait is a plain sleep.

use std::path::Path;
use std::time::Duration;

/// Waits between polls of one live log.
pub struct Wake {
    #[cfg(target_os = "linux")]
    inotify: Option<std::os::fd::OwnedFd>,
}

impl Wake {
    /// Watches the directory of `live` for writes, creations, renames and
    /// deletions (a directory watch sees the file's writes and outlives its
    /// rotation); without a watch, [`Wake::wait`] sleeps.
    pub fn new(live: &Path) -> Wake {
        let dir = match live.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        Wake {
            #[cfg(target_os = "linux")]
            inotify: watch(dir),
        }
    }

    /// True when waits end on a change (inotify), false when they sleep.
    pub fn watching(&self) -> bool {
        #[cfg(target_os = "linux")]
        return self.inotify.is_some();
        #[cfg(not(target_os = "linux"))]
        false
    }

    /// Returns when something in the directory changed (true), or after
    /// `limit` (false).
    pub fn wait(&mut self, limit: Duration) -> bool {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.inotify {
            return wait_for_event(fd, limit);
        }
        std::thread::sleep(limit);
        false
    }
}

#[cfg(target_os = "linux")]
fn watch(dir: &Path) -> Option<std::os::fd::OwnedFd> {
    use std::ffi::CString;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;
    let path = CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: inotify_init1 takes flags only; a descriptor it returns is
    // ours alone, owned from here on.
    let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just returned by inotify_init1 and is not owned
    // elsewhere.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let mask = libc::IN_MODIFY
        | libc::IN_CLOSE_WRITE
        | libc::IN_CREATE
        | libc::IN_MOVED_FROM
        | libc::IN_MOVED_TO
        | libc::IN_DELETE
        | libc::IN_ATTRIB;
    // SAFETY: a valid inotify descriptor and a NUL-terminated path.
    let wd = unsafe { libc::inotify_add_watch(fd, path.as_ptr(), mask) };
    (wd >= 0).then_some(owned)
}

#[cfg(target_os = "linux")]
fn wait_for_event(fd: &std::os::fd::OwnedFd, limit: Duration) -> bool {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(limit.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd for the duration of the call.
    let ready = unsafe { libc::poll(&raw mut pfd, 1, ms) };
    if ready <= 0 {
        // Timed out, or interrupted by a signal: the caller polls anyway.
        return false;
    }
    // The events themselves do not matter, only that there were some:
    // drain them so the next wait blocks again.
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: reads at most `buf.len()` bytes into `buf`.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_write_or_a_rename_in_the_directory_ends_the_wait() {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = dir.path().join("app.log");
        let mut file = std::fs::File::create(&live).expect("create");
        let mut wake = Wake::new(&live);
        assert!(wake.watching(), "inotify unavailable on this machine");
        assert!(
            !wake.wait(Duration::from_millis(20)),
            "woke with nothing written"
        );
        file.write_all(b"{}\n").expect("write");
        assert!(wake.wait(Duration::from_secs(5)), "the write was not seen");
        assert!(
            !wake.wait(Duration::from_millis(20)),
            "one write woke it twice"
        );
        std::fs::rename(&live, dir.path().join("app.log.1")).expect("rename");
        assert!(wake.wait(Duration::from_secs(5)), "the rename was not seen");
    }
}
