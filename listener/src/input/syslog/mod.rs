//! Syslog inputs (`--syslog-tcp`, `--syslog-udp`, `--syslog-unix`,
//! `--syslog-unix-stream`): the same sockets, accept loops, connection
//! loop and datagram loop as the native inputs, with syslog framing and
//! parsing (`tributary_core::syslog`) in place of Tributary's frames. A
//! stream connection's syslog framing is its `Decoder` (input::stream).

mod datagram;

pub(crate) use datagram::datagram;

use super::InputCtx;
use crate::pipeline::Batch;
use std::sync::atomic::Ordering::Relaxed;
use tributary_core::syslog::SyslogParser;
use tributary_core::{CompactString, Timestamp};

/// The `host` of a record whose header names none: the peer's IP address,
/// or this machine's name for a local (Unix socket) peer.
pub(crate) fn fallback_host(peer: &str) -> Option<CompactString> {
    match peer.parse::<std::net::SocketAddr>() {
        Ok(addr) => Some(addr.ip().to_string().into()),
        Err(_) => crate::host_name::host_name().map(CompactString::from),
    }
}

/// Parses one syslog message, routes it and formats it into `batch`.
/// Never refuses: what matches no form is kept raw (counted as lenient).
pub(crate) fn accept(
    input: &InputCtx,
    parser: &SyslogParser,
    message: &[u8],
    host: Option<&CompactString>,
    batch: &mut Batch,
) {
    let parsed = parser.parse(message, Timestamp::now());
    if parsed.lenient {
        input.counters.lenient.fetch_add(1, Relaxed);
    }
    if parsed.replaced_utf8 {
        input.counters.replaced_utf8.fetch_add(1, Relaxed);
    }
    let mut record = parsed.record;
    if record.host.is_none() {
        record.host = host.cloned();
    }
    let mask = batch.encoder().route(&record);
    if mask == 0 {
        input.counters.filtered.fetch_add(1, Relaxed);
    } else {
        batch.push(&record, mask);
    }
}
