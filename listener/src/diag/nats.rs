//! What can happen to a NATS connection, forwarding's or collect's: it
//! goes away, comes back, or the client has something to say. Reported
//! once per change, on stderr only: the link is background work, and
//! records wait meanwhile (in the local file, or in the stream) whatever
//! the log says.

use super::{Event, Source};
use std::fmt::{self, Display};
use tributary_core::Level;

type F<'a, 'b> = &'a mut fmt::Formatter<'b>;

/// A NATS connection, as its events name it.
pub(crate) struct NatsLink {
    /// The side and its servers: `forward: nats://...`, `collect: nats://...`.
    pub(crate) what: String,
    /// What happens to records while the server is away.
    pub(crate) meanwhile: &'static str,
}

impl Source for NatsLink {
    const IN_BAND: bool = false;
}

/// The connection was lost or could not be made; only the first of an
/// outage is emitted.
pub(crate) struct Unreachable<'a>(pub(crate) &'a dyn Display);

impl Event for Unreachable<'_> {
    type Context = NatsLink;
    const LEVEL: Level = Level::WARNING;
    fn describe(&self, cx: &NatsLink, f: F<'_, '_>) -> fmt::Result {
        let NatsLink { what, meanwhile } = cx;
        write!(
            f,
            "{what}: NATS unreachable ({}); retrying; {meanwhile}",
            self.0
        )
    }
}

/// The connection is up (at start, or again after an outage).
pub(crate) struct Connected;

impl Event for Connected {
    type Context = NatsLink;
    const LEVEL: Level = Level::INFO;
    fn describe(&self, cx: &NatsLink, f: F<'_, '_>) -> fmt::Result {
        write!(f, "{}: connected", cx.what)
    }
}

/// Anything else the client reports (slow consumer, lame duck mode...).
pub(crate) struct ClientNotice<'a>(pub(crate) &'a dyn Display);

impl Event for ClientNotice<'_> {
    type Context = NatsLink;
    const LEVEL: Level = Level::WARNING;
    fn describe(&self, cx: &NatsLink, f: F<'_, '_>) -> fmt::Result {
        write!(f, "{}: NATS: {}", cx.what, self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Message;

    #[test]
    fn the_link_names_its_side_and_what_records_do_meanwhile() {
        let link = NatsLink {
            what: "forward: nats://a:4222".to_owned(),
            meanwhile: "records stay in the local file and are forwarded when it is back",
        };
        assert_eq!(
            Message(&Unreachable(&"disconnected"), &link).to_string(),
            "forward: nats://a:4222: NATS unreachable (disconnected); retrying; records stay in the local file and are forwarded when it is back"
        );
        assert_eq!(
            Message(&Connected, &link).to_string(),
            "forward: nats://a:4222: connected"
        );
        assert_eq!(
            Message(&ClientNotice(&"lame duck mode"), &link).to_string(),
            "forward: nats://a:4222: NATS: lame duck mode"
        );
    }
}
