//! What differs between the stream inputs: how a connection's bytes become
//! payloads. The [`Connection`](super::Connection) loop, its limits,
//! timeouts, drain and end reports are the same for all of them.

use crate::input::InputCtx;
use tributary_core::CompactString;
use tributary_core::frame::StreamDecoder;
use tributary_core::syslog::{SyslogFramer, SyslogParser};

/// How one connection's bytes are framed and parsed.
pub(super) enum Decoder {
    /// Tributary's frames or JSON lines (and the acknowledged-delivery
    /// hello), decoded by `InputCtx::accept`.
    Native(StreamDecoder),
    /// Syslog messages, framed per message (octet counting, LF, NUL) and
    /// parsed into records.
    Syslog(SyslogDecoder),
}

/// A syslog connection's framer and parser.
pub(super) struct SyslogDecoder {
    pub(super) framer: SyslogFramer,
    pub(super) parser: SyslogParser,
    /// The `host` of records whose header names none.
    pub(super) host: Option<CompactString>,
}

impl Decoder {
    /// The decoder for a connection from `peer` on `input`: syslog on a
    /// syslog input, Tributary's frames or lines on the others.
    pub(super) fn for_input(input: &InputCtx, peer: &str) -> Decoder {
        match &input.syslog {
            Some(parser) => Decoder::Syslog(SyslogDecoder {
                framer: SyslogFramer::new(input.max_frame),
                parser: parser.clone(),
                host: crate::input::syslog::fallback_host(peer),
            }),
            None => Decoder::Native(StreamDecoder::new(input.max_frame)),
        }
    }

    /// The buffer to read into; bytes appended to it are input.
    pub(super) fn buffer_mut(&mut self) -> &mut Vec<u8> {
        match self {
            Decoder::Native(d) => d.buffer_mut(),
            Decoder::Syslog(s) => s.framer.buffer_mut(),
        }
    }

    /// Bytes of an unfinished frame, line or message held.
    pub(super) fn pending(&self) -> usize {
        match self {
            Decoder::Native(d) => d.pending(),
            Decoder::Syslog(s) => s.framer.pending(),
        }
    }
}
