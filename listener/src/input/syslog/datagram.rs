//! One syslog datagram (UDP, Unix datagram): one message.

use super::super::InputCtx;
use crate::pipeline::Batch;
use std::fmt;
use tributary_core::syslog::SyslogParser;

/// Takes one datagram as one message; called by the datagram loop in
/// place of its frame splitting.
pub(crate) fn datagram(
    input: &InputCtx,
    parser: &SyslogParser,
    data: &[u8],
    peer: &dyn fmt::Display,
    batch: &mut Batch,
    reports: &mut u32,
) {
    if data.len() > input.max_frame {
        let too_large = crate::diag::syslog::DatagramTooLarge {
            len: data.len(),
            max: input.max_frame,
        };
        return input.malformed(peer, &too_large, reports);
    }
    let host = super::fallback_host(&peer.to_string());
    super::accept(input, parser, data, host.as_ref(), batch);
}
