//! What can happen to a syslog input beyond what every input reports
//! ([`super::input`]): the ends of a syslog stream that only its framing
//! has, and what is wrong with a datagram too large to be a message.

use super::Event;
use crate::input::InputCtx;
use crate::stats::MalformedReason;
use std::fmt;
use tributary_core::Level;
use tributary_core::syslog::FramingError;

type F<'a, 'b> = &'a mut fmt::Formatter<'b>;

/// A syslog stream that cannot be framed any further (an octet count over
/// the maximum message size) was closed.
pub(crate) struct FramingFailed<'a> {
    pub(crate) peer: &'a str,
    pub(crate) error: &'a FramingError,
}

impl Event for FramingFailed<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::ERROR;
    fn count(&self, cx: &InputCtx) {
        cx.counters.count_malformed(MalformedReason::Framing);
    }
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        let FramingFailed { peer, error } = self;
        write!(f, "{}: closing connection from {peer}: {error}", cx.label)
    }
}

/// The peer closed its connection inside an octet-counted message: that
/// message is not written.
pub(crate) struct CutShort<'a> {
    pub(crate) peer: &'a str,
    /// Bytes of the message held, its count included.
    pub(crate) held: usize,
}

impl Event for CutShort<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::WARNING;
    fn count(&self, cx: &InputCtx) {
        cx.counters.count_malformed(MalformedReason::Unfinished);
    }
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        let CutShort { peer, held } = self;
        write!(
            f,
            "{}: connection from {peer} closed inside an octet-counted message ({held} bytes held, count included); that message is not written",
            cx.label
        )
    }
}

/// What is wrong with a syslog datagram larger than the maximum message
/// size (reported as [`super::input::Malformed`]: only that datagram is
/// lost).
pub(crate) struct DatagramTooLarge {
    pub(crate) len: usize,
    /// The maximum message size.
    pub(crate) max: usize,
}

impl fmt::Display for DatagramTooLarge {
    fn fmt(&self, f: F<'_, '_>) -> fmt::Result {
        let DatagramTooLarge { len, max } = self;
        write!(
            f,
            "syslog datagram of {len} bytes exceeds the maximum message size of {max} bytes (raise --syslog-max-message if legitimate)"
        )
    }
}
