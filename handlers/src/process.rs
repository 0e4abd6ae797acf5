//! Who produced a record: host, process and thread identity, and the
//! per-process sequence number.
//!
//! Host, pid and process name are looked up once per process; the thread id
//! and name once per thread. The sequence number is one atomic increment, so
//! a consumer can detect loss (gaps) and duplicates per `(host, pid)`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tributary_core::Record;

/// The identity of this process, as stamped on every record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Host name (`gethostname`).
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Process name: the executable's file name unless set with
    /// [`set_process_name`].
    pub name: String,
}

static PROCESS: OnceLock<ProcessInfo> = OnceLock::new();
static NAME_OVERRIDE: OnceLock<String> = OnceLock::new();
static SEQ: AtomicU64 = AtomicU64::new(0);

/// Sets the process name stamped on records (Python's `processName`),
/// instead of the executable name.
///
/// Returns `false`, changing nothing, once a record has been stamped or a
/// name was already set: the name must not change under a running pipeline.
pub fn set_process_name(name: impl Into<String>) -> bool {
    PROCESS.get().is_none() && NAME_OVERRIDE.set(name.into()).is_ok()
}

/// This process's identity, computed on first use.
pub fn process_info() -> &'static ProcessInfo {
    PROCESS.get_or_init(|| ProcessInfo {
        host: hostname(),
        pid: std::process::id(),
        name: NAME_OVERRIDE.get().cloned().unwrap_or_else(executable_name),
    })
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for `len` bytes; gethostname NUL-terminates
    // on success when the name fits, and we bound the scan by the buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        if end > 0 {
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

fn executable_name() -> String {
    std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The calling thread's identity.
#[derive(Clone, Debug)]
pub struct ThreadInfo {
    /// The kernel thread id (`gettid`), stable for the thread's life and
    /// the same number `ps -L` and `top -H` show.
    pub tid: u64,
    /// The thread's name, if it has one.
    pub name: Option<Arc<str>>,
}

thread_local! {
    static THREAD: ThreadInfo = ThreadInfo {
        tid: gettid(),
        name: std::thread::current().name().map(Arc::from),
    };
}

fn gettid() -> u64 {
    // SAFETY: gettid has no preconditions and cannot fail.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    u64::try_from(tid).unwrap_or(0)
}

/// The calling thread's id and name (cached per thread).
pub fn thread_info() -> ThreadInfo {
    THREAD.with(Clone::clone)
}

/// Calls `f` with the calling thread's identity without cloning it.
pub(crate) fn with_thread<R>(f: impl FnOnce(&ThreadInfo) -> R) -> R {
    THREAD.with(f)
}

/// The next per-process sequence number (starting at 0).
pub fn next_seq() -> u64 {
    SEQ.fetch_add(1, Ordering::Relaxed)
}

/// Fills in whatever producer identity `record` lacks: the calling thread's
/// id and name and a sequence number (call this on the thread that created
/// the record), and host, pid and process name.
pub fn stamp(record: &mut Record) {
    if record.tid.is_none() || record.thread.is_none() {
        with_thread(|t| {
            record.tid.get_or_insert(t.tid);
            if record.thread.is_none() {
                record.thread = t.name.as_deref().map(Into::into);
            }
        });
    }
    if record.seq.is_none() {
        record.seq = Some(next_seq());
    }
    stamp_process(record);
}

/// Fills in host, pid and process name where absent.
pub(crate) fn stamp_process(record: &mut Record) {
    let p = process_info();
    if record.host.is_none() {
        record.host = Some(p.host.as_str().into());
    }
    record.pid.get_or_insert(p.pid);
    if record.process.is_none() {
        record.process = Some(p.name.as_str().into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_core::Level;

    #[test]
    fn stamps_identity_and_increasing_seq() {
        let mut a = Record::new(Level::INFO, "x", "a");
        let mut b = Record::new(Level::INFO, "x", "b");
        stamp(&mut a);
        stamp(&mut b);
        assert_eq!(a.pid, Some(std::process::id()));
        assert!(a.host.as_deref().is_some_and(|h| !h.is_empty()));
        assert!(b.seq > a.seq);
        let other = std::thread::Builder::new()
            .name("worker-7".into())
            .spawn(thread_info)
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(other.name.as_deref(), Some("worker-7"));
        assert_ne!(Some(other.tid), a.tid);
    }
}
