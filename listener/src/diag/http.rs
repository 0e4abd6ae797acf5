//! What can happen to an HTTP input beyond what every input reports
//! ([`super::input`]): requests refused with their status, and
//! connections the server cut off.

use super::Event;
use crate::input::InputCtx;
use std::fmt;
use std::sync::atomic::Ordering::Relaxed;
use tributary_core::Level;

type F<'a, 'b> = &'a mut fmt::Formatter<'b>;

/// Why a request was refused, by the counter it raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefusalKind {
    /// A bad body or request (400, 413, 415): counted as malformed.
    Malformed,
    /// No or wrong credentials (401): counted as rejected.
    Unauthorized,
    /// The queue had no room (503): its records counted as dropped.
    QueueFull {
        /// Records the body held.
        records: u64,
    },
    /// The body did not arrive within the frame timeout (408).
    TimedOut,
}

/// A request answered with an error status: nothing of its body was
/// written (unless it asked for `partial=true`, which is not a refusal).
pub(crate) struct RequestRefused<'a> {
    pub(crate) peer: &'a dyn fmt::Display,
    pub(crate) status: u16,
    pub(crate) kind: RefusalKind,
    pub(crate) why: &'a dyn fmt::Display,
}

impl Event for RequestRefused<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::WARNING;
    fn count(&self, cx: &InputCtx) {
        let c = &cx.counters;
        match self.kind {
            RefusalKind::Malformed | RefusalKind::TimedOut => {
                c.malformed.fetch_add(1, Relaxed);
            }
            RefusalKind::Unauthorized => {
                c.rejected.fetch_add(1, Relaxed);
            }
            RefusalKind::QueueFull { records } => {
                c.dropped.fetch_add(records, Relaxed);
            }
        }
    }
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        let RequestRefused {
            peer, status, why, ..
        } = self;
        write!(f, "{}: answered {status} to {peer}: {why}", cx.label)
    }
}

/// A connection that ended in an error: a failed TLS handshake, a head
/// that never completed, a connection silent past the idle timeout.
pub(crate) struct ConnectionCut<'a> {
    pub(crate) failure: &'a dyn fmt::Display,
}

impl Event for ConnectionCut<'_> {
    type Context = InputCtx;
    const LEVEL: Level = Level::INFO;
    fn describe(&self, cx: &InputCtx, f: F<'_, '_>) -> fmt::Result {
        write!(f, "{}: connection from {}", cx.label, self.failure)
    }
}
