//! This machine's host name, read once: the syslog inputs give it to
//! records from local peers that name no host, and forwarding builds its
//! default host id from it.

use std::sync::OnceLock;

/// The host name (`gethostname`), or `None` when the system gives none or
/// it is not UTF-8. Read at the first call and kept: per-record callers
/// (every syslog datagram on a Unix socket) pay no system call.
pub(crate) fn host_name() -> Option<&'static str> {
    static NAME: OnceLock<Option<String>> = OnceLock::new();
    NAME.get_or_init(|| {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into buf, which
        // lives across the call.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc != 0 {
            return None;
        }
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        std::str::from_utf8(&buf[..end])
            .ok()
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
    })
    .as_deref()
}
