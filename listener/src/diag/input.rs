//! What can happen to an input: each event counts itself on the input's
//! counters and says what happened, after the input's label.

use super::{Event, Source};
use crate::input::connections::Eviction;
use crate::input::{InputCtx, MALFORMED_REPORTS_PER_PEER};
use crate::stats::MalformedReason;
use std::fmt::{self, Display};
use std::sync::atomic::Ordering::Relaxed;
use tributary_core::Level;
use tributary_core::frame::FrameError;

type F<'a, 'b> = &'a mut fmt::Formatter<'b>;

impl Source for InputCtx {
    const IN_BAND: bool = true;
}

/// A payload, frame or datagram that could not be decoded: the record is
/// skipped, nothing else is lost. Only the first few of a connection are
/// described.
pub(crate) struct Malformed<'a> {
    pub(crate) peer: &'a dyn Display,
    pub(crate) what: &'a dyn Display,
    /// Its number among the connection's (or datagram's) bad payloads.
    pub(crate) nth: u32,
}

impl Event for Malformed<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::WARNING;
    fn count(&self, cx: &InputCtx) {
        cx.counters.count_malformed(MalformedReason::Undecodable);
    }
    fn described(&self) -> bool {
        self.nth <= MALFORMED_REPORTS_PER_PEER
    }
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        let Malformed { peer, what, .. } = self;
        write!(f, "{} from {peer}: {what}; record skipped", cx.label)
    }
}

/// At the end of a connection that sent more bad payloads than were
/// described: how many in all.
pub(crate) struct MalformedTotal<'a> {
    pub(crate) peer: &'a str,
    pub(crate) reports: u32,
}

impl Event for MalformedTotal<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::WARNING;
    fn described(&self) -> bool {
        self.reports > MALFORMED_REPORTS_PER_PEER
    }
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        let MalformedTotal { peer, reports } = self;
        write!(
            f,
            "{}: {reports} malformed payloads from {peer} in all (only the first {MALFORMED_REPORTS_PER_PEER} were described)",
            cx.label
        )
    }
}

/// A connection refused at accept (a limit, a failed TLS handshake).
pub(crate) struct ConnectionRefused<'a> {
    pub(crate) peer: &'a str,
    pub(crate) why: &'a dyn Display,
}

impl Event for ConnectionRefused<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::WARNING;
    fn count(&self, cx: &InputCtx) {
        cx.counters.rejected.fetch_add(1, Relaxed);
    }
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        let ConnectionRefused { peer, why } = self;
        write!(f, "{}: refusing connection from {peer}: {why}", cx.label)
    }
}

/// Accepting a connection failed (typically: out of file descriptors).
pub(crate) struct AcceptFailed<'a>(pub(crate) &'a std::io::Error);

impl Event for AcceptFailed<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::ERROR;
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        write!(f, "{}: accept failed: {}", cx.label, self.0)
    }
}

/// Receiving a datagram failed.
pub(crate) struct ReceiveFailed<'a>(pub(crate) &'a std::io::Error);

impl Event for ReceiveFailed<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::WARNING;
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        write!(f, "{}: receive failed: {}", cx.label, self.0)
    }
}

/// Datagram records dropped because the queue was full: counted when
/// dropped, described by the [`DropNotice`] once there is room again.
pub(crate) struct DatagramsDropped(pub(crate) u64);

impl Event for DatagramsDropped {
    type Context = InputCtx;
    const LEVEL: Level = Level::WARNING;
    fn count(&self, cx: &InputCtx) {
        cx.counters.dropped.fetch_add(self.0, Relaxed);
    }
    fn described(&self) -> bool {
        false
    }
    fn describe(&self, _: &InputCtx, _: F<'_, '_>) -> fmt::Result {
        Ok(())
    }
}

/// The notice for records dropped since the last one (also written
/// in-band by the datagram input).
pub(crate) struct DropNotice(pub(crate) u64);

impl Event for DropNotice {
    type Context = InputCtx;
    const LEVEL: Level = Level::WARNING;
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        write!(
            f,
            "{} records dropped from {}: the queue was full",
            self.0, cx.label
        )
    }
}

/// Shutdown closed a connection in the middle of a frame or line.
pub(crate) struct UnfinishedAtShutdown<'a> {
    pub(crate) peer: &'a str,
    pub(crate) pending: usize,
}

impl Event for UnfinishedAtShutdown<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::WARNING;
    fn count(&self, cx: &InputCtx) {
        cx.counters.count_malformed(MalformedReason::Unfinished);
    }
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        let UnfinishedAtShutdown { peer, pending } = self;
        write!(
            f,
            "{}: closing connection from {peer} at shutdown with {pending} bytes of an unfinished {} (not written)",
            cx.label,
            cx.unit()
        )
    }
}

/// A connection silent for the idle timeout was closed.
pub(crate) struct IdleClosed<'a>(pub(crate) &'a str);

impl Event for IdleClosed<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::INFO;
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        write!(
            f,
            "{}: closing idle connection from {} (idle-timeout)",
            cx.label, self.0
        )
    }
}

/// A connection that completed no frame within the first-frame timeout
/// was closed.
pub(crate) struct NoFirstFrame<'a>(pub(crate) &'a str);

impl Event for NoFirstFrame<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::INFO;
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        write!(
            f,
            "{}: closing connection from {}: no {} completed since it opened (first-frame-timeout)",
            cx.label,
            self.0,
            cx.unit()
        )
    }
}

/// A stream that cannot be resynchronised (an oversize frame header...)
/// was closed.
pub(crate) struct FramingFailed<'a> {
    pub(crate) peer: &'a str,
    pub(crate) error: &'a FrameError,
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

/// Reading from or replying to a connection failed.
pub(crate) struct ConnectionFailed<'a> {
    pub(crate) peer: &'a str,
    pub(crate) error: &'a std::io::Error,
}

impl Event for ConnectionFailed<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::WARNING;
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        let ConnectionFailed { peer, error } = self;
        write!(f, "{}: connection from {peer} failed: {error}", cx.label)
    }
}

/// A connection opened with a control frame that is not a valid hello.
pub(crate) struct HelloRefused<'a> {
    pub(crate) peer: &'a str,
    pub(crate) reason: &'a str,
}

impl Event for HelloRefused<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::ERROR;
    fn count(&self, cx: &InputCtx) {
        cx.counters.count_malformed(MalformedReason::HelloRefused);
    }
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        let HelloRefused { peer, reason } = self;
        write!(f, "{}: refused the hello from {peer}: {reason}", cx.label)
    }
}

/// A connection that left a frame unfinished for the frame timeout
/// (slow-loris) was closed.
pub(crate) struct SlowFrame<'a> {
    pub(crate) peer: &'a str,
    pub(crate) pending: usize,
}

impl Event for SlowFrame<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::WARNING;
    fn count(&self, cx: &InputCtx) {
        cx.counters.count_malformed(MalformedReason::SlowFrame);
    }
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        let SlowFrame { peer, pending } = self;
        write!(
            f,
            "{}: closing connection from {peer}: {pending} bytes of an unfinished {} and nothing complete for the frame timeout (a stalled or slow-loris client; raise --frame-timeout if legitimate)",
            cx.label,
            cx.unit()
        )
    }
}

/// An older connection of a producer that connected again was closed.
pub(crate) struct Superseded<'a>(pub(crate) &'a str);

impl Event for Superseded<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::INFO;
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        write!(
            f,
            "{}: closing an older connection from {}: the producer connected again",
            cx.label, self.0
        )
    }
}

/// A connection was closed to keep the others served (frame budget, room
/// for a new connection).
pub(crate) struct Evicted<'a> {
    pub(crate) peer: &'a str,
    pub(crate) why: Eviction,
}

impl Event for Evicted<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::WARNING;
    fn count(&self, cx: &InputCtx) {
        cx.counters.evicted.fetch_add(1, Relaxed);
    }
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        let Evicted { peer, why } = self;
        let (label, unit) = (&cx.label, cx.unit());
        write!(f, "{label}: closing connection from {peer}: ")?;
        match why {
            Eviction::FrameBudget { held, budget } => write!(
                f,
                "its unfinished {unit} ({held} bytes, not written) was among the largest when those of all connections passed frame-budget ({budget} bytes)"
            ),
            Eviction::Room => write!(
                f,
                "it had completed no {unit} and max-connections was reached: its slot went to a new connection"
            ),
        }
    }
}
