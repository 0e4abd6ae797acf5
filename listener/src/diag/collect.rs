//! What can happen to `tributary collect` besides its records' own
//! problems (those are the input's events, [`input`](super::input)):
//! pulling from the stream and acknowledging to it. Stderr only, like
//! forwarding's link: the stream keeps every record meanwhile, so these say
//! nothing about the log's contents. The NATS connection's own events are
//! in [`nats`](super::nats).

use super::{Event, Source};
use std::fmt::{self, Display};
use tributary_core::Level;

type F<'a, 'b> = &'a mut fmt::Formatter<'b>;

/// Messages about acknowledgements are described for the first few
/// failures only: a server that refuses them refuses them all.
const ACK_FAILURES_DESCRIBED: u64 = 5;

/// The collector's consumer.
pub(crate) struct Collecting<'a> {
    /// `nats <URL> stream <NAME>`.
    pub(crate) label: &'a str,
}

impl Source for Collecting<'_> {
    const IN_BAND: bool = false;
}

/// Starting to pull messages failed; the collector tries again.
pub(crate) struct PullFailed<'a>(pub(crate) &'a dyn Display);

impl<'a> Event for PullFailed<'a> {
    type Context = Collecting<'a>;
    const LEVEL: Level = Level::WARNING;
    fn describe(&self, cx: &Collecting<'a>, f: F<'_, '_>) -> fmt::Result {
        write!(
            f,
            "collect: cannot pull from {}: {}; retrying",
            cx.label, self.0
        )
    }
}

/// The stream of pulled messages broke off; the collector pulls again.
pub(crate) struct PullBroken<'a>(pub(crate) &'a dyn Display);

impl<'a> Event for PullBroken<'a> {
    type Context = Collecting<'a>;
    const LEVEL: Level = Level::WARNING;
    fn describe(&self, cx: &Collecting<'a>, f: F<'_, '_>) -> fmt::Result {
        write!(f, "collect: {}: {}; pulling again", cx.label, self.0)
    }
}

/// Acknowledging a written message to JetStream failed: it is delivered
/// again and recognised as written.
pub(crate) struct AckFailed<'a> {
    pub(crate) error: &'a dyn Display,
    /// Its number among the collector's failed acknowledgements.
    pub(crate) nth: u64,
}

impl<'a> Event for AckFailed<'a> {
    type Context = Collecting<'a>;
    const LEVEL: Level = Level::WARNING;
    fn described(&self) -> bool {
        self.nth <= ACK_FAILURES_DESCRIBED
    }
    fn describe(&self, _: &Collecting<'a>, f: F<'_, '_>) -> fmt::Result {
        write!(
            f,
            "collect: acknowledging to JetStream failed: {}; the message comes again and is recognised as written",
            self.error
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Message;

    fn text<E: Event>(cx: &E::Context, event: E) -> String {
        Message(&event, cx).to_string()
    }

    #[test]
    fn pulls_name_the_stream_and_acks_are_described_five_times() {
        let cx = Collecting {
            label: "nats nats://a:4222 stream T",
        };
        assert_eq!(
            text(&cx, PullFailed(&"timed out")),
            "collect: cannot pull from nats nats://a:4222 stream T: timed out; retrying"
        );
        assert_eq!(
            text(&cx, PullBroken(&"heartbeat missed")),
            "collect: nats nats://a:4222 stream T: heartbeat missed; pulling again"
        );
        let described: Vec<u64> = (1..=8)
            .filter(|&nth| {
                AckFailed {
                    error: &"closed",
                    nth,
                }
                .described()
            })
            .collect();
        assert_eq!(described, [1, 2, 3, 4, 5]);
        assert_eq!(
            text(
                &cx,
                AckFailed {
                    error: &"closed",
                    nth: 1
                }
            ),
            "collect: acknowledging to JetStream failed: closed; the message comes again and is recognised as written"
        );
    }
}
