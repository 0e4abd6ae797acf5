//! What can happen to forwarding (`--forward-nats`): each event says what
//! happened after `forward:`. Two contexts: the task's own state (its
//! cursor, the stream, outages, lag) goes to stderr only, like the outputs'
//! other background work; records it gives up on are also written in-band,
//! so the log itself (and whoever collects it) tells they are missing.
//! The NATS connection's own events are in [`nats`](super::nats).

use super::{Event, Source};
use crate::forward::cursor::FileId;
use std::fmt::{self, Display};
use std::path::Path;
use tributary_core::Level;

type F<'a, 'b> = &'a mut fmt::Formatter<'b>;

/// The forwarding task at work: its events are about the link and the
/// lag, while every record stays in the local file.
pub(crate) struct Forwarding;

impl Source for Forwarding {
    const IN_BAND: bool = false;
}

/// Records forwarding gave up on: facts about the forwarded log, written
/// into it with `--diagnostics log` (one record per event, so no loop).
pub(crate) struct NotForwarded;

impl Source for NotForwarded {
    const IN_BAND: bool = true;
}

/// Something the cursor noticed when it was opened (a torn last line...).
pub(crate) struct CursorNote<'a>(pub(crate) &'a dyn Display);

impl Event for CursorNote<'_> {
    type Context = Forwarding;
    const LEVEL: Level = Level::WARNING;
    fn describe(&self, _: &Forwarding, f: F<'_, '_>) -> fmt::Result {
        write!(f, "forward: {}", self.0)
    }
}

/// The first connection to NATS could not even be attempted; the task
/// tries again.
pub(crate) struct CannotConnect<'a> {
    /// The `--forward-nats` URLs, comma-separated.
    pub(crate) servers: &'a str,
    pub(crate) error: &'a dyn Display,
}

impl Event for CannotConnect<'_> {
    type Context = Forwarding;
    const LEVEL: Level = Level::ERROR;
    fn describe(&self, _: &Forwarding, f: F<'_, '_>) -> fmt::Result {
        let CannotConnect { servers, error } = self;
        write!(
            f,
            "forward: cannot use --forward-nats {servers}: {error}; retrying"
        )
    }
}

/// An existing stream's settings differ from those forwarding would
/// create; it is used as it is.
pub(crate) struct StreamDiffers<'a>(pub(crate) &'a str);

impl Event for StreamDiffers<'_> {
    type Context = Forwarding;
    const LEVEL: Level = Level::WARNING;
    fn describe(&self, _: &Forwarding, f: F<'_, '_>) -> fmt::Result {
        write!(f, "forward: using it as it is: {}", self.0)
    }
}

/// Publishing stopped (NATS, the stream, or reading the output or writing
/// the cursor failed); emitted once per cause, the task retries.
pub(crate) struct Paused<'a> {
    pub(crate) why: &'a str,
    /// The output, where the records wait.
    pub(crate) output: &'a Path,
}

impl Event for Paused<'_> {
    type Context = Forwarding;
    const LEVEL: Level = Level::WARNING;
    fn describe(&self, _: &Forwarding, f: F<'_, '_>) -> fmt::Result {
        write!(
            f,
            "forward: {}; retrying (records stay in {} and are forwarded when possible)",
            self.why,
            self.output.display()
        )
    }
}

/// Publishing works again after a pause.
pub(crate) struct Resumed<'a> {
    /// The pause's cause, as [`Paused`] gave it.
    pub(crate) after: &'a str,
}

impl Event for Resumed<'_> {
    type Context = Forwarding;
    const LEVEL: Level = Level::INFO;
    fn describe(&self, _: &Forwarding, f: F<'_, '_>) -> fmt::Result {
        write!(f, "forward: publishing again after: {}", self.after)
    }
}

/// More of the output than `--forward-lag-warn` is not yet acknowledged
/// by JetStream.
pub(crate) struct Lagging<'a> {
    /// Bytes not yet acknowledged.
    pub(crate) lag: u64,
    pub(crate) output: &'a Path,
    /// `--forward-lag-warn`.
    pub(crate) bound: u64,
}

impl Event for Lagging<'_> {
    type Context = Forwarding;
    const LEVEL: Level = Level::WARNING;
    fn describe(&self, _: &Forwarding, f: F<'_, '_>) -> fmt::Result {
        let Lagging { lag, output, bound } = self;
        write!(
            f,
            "forward: {lag} bytes of {} not yet in JetStream (forward-lag-warn {bound}); local writing goes on",
            output.display()
        )
    }
}

/// The lag fell back under half of `--forward-lag-warn` after a
/// [`Lagging`] warning.
pub(crate) struct CaughtUp {
    /// Bytes still not acknowledged.
    pub(crate) lag: u64,
}

impl Event for CaughtUp {
    type Context = Forwarding;
    const LEVEL: Level = Level::INFO;
    fn describe(&self, _: &Forwarding, f: F<'_, '_>) -> fmt::Result {
        write!(f, "forward: caught up ({} bytes behind)", self.lag)
    }
}

/// Shutdown's drain timeout ran out before JetStream acknowledged the
/// whole output; the next start forwards the rest.
pub(crate) struct StoppedBehind<'a> {
    /// Bytes not yet acknowledged.
    pub(crate) lag: u64,
    pub(crate) output: &'a Path,
    pub(crate) cursor: &'a Path,
}

impl Event for StoppedBehind<'_> {
    type Context = Forwarding;
    const LEVEL: Level = Level::WARNING;
    fn describe(&self, _: &Forwarding, f: F<'_, '_>) -> fmt::Result {
        let StoppedBehind {
            lag,
            output,
            cursor,
        } = self;
        write!(
            f,
            "forward: stopping with {lag} bytes of {} not yet in JetStream; the next start forwards them (cursor {})",
            output.display(),
            cursor.display()
        )
    }
}

/// A file of the output was removed or compressed (retention, gzip)
/// before it was read to its end: the rest of it is not forwarded.
pub(crate) struct ArchiveGone<'a> {
    pub(crate) output: &'a Path,
    pub(crate) file: FileId,
    /// Bytes left unread, when known.
    pub(crate) skipped: Option<u64>,
}

impl Event for ArchiveGone<'_> {
    type Context = NotForwarded;
    const LEVEL: Level = Level::ERROR;
    fn describe(&self, _: &NotForwarded, f: F<'_, '_>) -> fmt::Result {
        let ArchiveGone {
            output,
            file,
            skipped,
        } = self;
        write!(
            f,
            "forward: {} ({file}) was removed or compressed before it was forwarded; ",
            output.display()
        )?;
        match skipped {
            Some(bytes) => write!(f, "{bytes} bytes")?,
            None => f.write_str("the unread rest")?,
        }
        f.write_str(
            " of it not forwarded; continuing with the current file. Keep more archives (backup-count) or fix the NATS outage sooner",
        )
    }
}

/// A file of the output went away while batches read from it were still
/// waiting for their acknowledgement: their records are not forwarded.
pub(crate) struct BatchesGone<'a> {
    pub(crate) output: &'a Path,
    pub(crate) file: FileId,
    /// Records in those batches.
    pub(crate) lost: u64,
}

impl Event for BatchesGone<'_> {
    type Context = NotForwarded;
    const LEVEL: Level = Level::ERROR;
    fn describe(&self, _: &NotForwarded, f: F<'_, '_>) -> fmt::Result {
        let BatchesGone { output, file, lost } = self;
        write!(
            f,
            "forward: {} ({file}) is gone before its batches were acknowledged: {lost} record(s) in them not forwarded. Keep more archives (backup-count) or fix NATS outages sooner",
            output.display()
        )
    }
}

/// A batch (of one line) larger than the server's `max_payload`: it can
/// never be published, so it is passed over.
pub(crate) struct BatchTooLarge<'a> {
    pub(crate) records: u64,
    pub(crate) bytes: u64,
    /// The server's refusal, or why it would refuse.
    pub(crate) error: &'a dyn Display,
    /// Records passed over since the start, these included.
    pub(crate) total: u64,
}

impl Event for BatchTooLarge<'_> {
    type Context = NotForwarded;
    const LEVEL: Level = Level::ERROR;
    fn describe(&self, _: &NotForwarded, f: F<'_, '_>) -> fmt::Result {
        let BatchTooLarge {
            records,
            bytes,
            error,
            total,
        } = self;
        write!(
            f,
            "forward: a batch of {records} record(s), {bytes} bytes, exceeds the NATS server's max_payload ({error}); not forwarded, {total} record(s) so far (raise max_payload in nats-server's configuration)"
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

    fn file() -> FileId {
        FileId { dev: 1, ino: 2 }
    }

    #[test]
    fn losses_name_the_output_the_file_and_the_amount() {
        let output = Path::new("logs/app.log");
        let f = file();
        assert_eq!(
            text(
                &NotForwarded,
                ArchiveGone {
                    output,
                    file: f,
                    skipped: Some(42)
                }
            ),
            format!(
                "forward: logs/app.log ({f}) was removed or compressed before it was forwarded; 42 bytes of it not forwarded; continuing with the current file. Keep more archives (backup-count) or fix the NATS outage sooner"
            )
        );
        assert_eq!(
            text(
                &NotForwarded,
                ArchiveGone {
                    output,
                    file: f,
                    skipped: None
                }
            ),
            format!(
                "forward: logs/app.log ({f}) was removed or compressed before it was forwarded; the unread rest of it not forwarded; continuing with the current file. Keep more archives (backup-count) or fix the NATS outage sooner"
            )
        );
        assert_eq!(
            text(
                &NotForwarded,
                BatchesGone {
                    output,
                    file: f,
                    lost: 7
                }
            ),
            format!(
                "forward: logs/app.log ({f}) is gone before its batches were acknowledged: 7 record(s) in them not forwarded. Keep more archives (backup-count) or fix NATS outages sooner"
            )
        );
        assert_eq!(
            text(
                &NotForwarded,
                BatchTooLarge {
                    records: 1,
                    bytes: 9000,
                    error: &"maximum payload exceeded",
                    total: 3
                }
            ),
            "forward: a batch of 1 record(s), 9000 bytes, exceeds the NATS server's max_payload (maximum payload exceeded); not forwarded, 3 record(s) so far (raise max_payload in nats-server's configuration)"
        );
    }

    #[test]
    fn the_link_and_the_lag_say_where_records_wait() {
        let output = Path::new("logs/app.log");
        assert_eq!(
            text(
                &Forwarding,
                Paused {
                    why: "stream T: timed out",
                    output
                }
            ),
            "forward: stream T: timed out; retrying (records stay in logs/app.log and are forwarded when possible)"
        );
        assert_eq!(
            text(
                &Forwarding,
                Resumed {
                    after: "stream T: timed out"
                }
            ),
            "forward: publishing again after: stream T: timed out"
        );
        assert_eq!(
            text(
                &Forwarding,
                Lagging {
                    lag: 100,
                    output,
                    bound: 64
                }
            ),
            "forward: 100 bytes of logs/app.log not yet in JetStream (forward-lag-warn 64); local writing goes on"
        );
        assert_eq!(
            text(&Forwarding, CaughtUp { lag: 3 }),
            "forward: caught up (3 bytes behind)"
        );
        assert_eq!(
            text(
                &Forwarding,
                StoppedBehind {
                    lag: 5,
                    output,
                    cursor: Path::new("logs/.app.log.forward")
                }
            ),
            "forward: stopping with 5 bytes of logs/app.log not yet in JetStream; the next start forwards them (cursor logs/.app.log.forward)"
        );
        assert_eq!(
            text(
                &Forwarding,
                CannotConnect {
                    servers: "nats://a:4222,nats://b:4222",
                    error: &"refused"
                }
            ),
            "forward: cannot use --forward-nats nats://a:4222,nats://b:4222: refused; retrying"
        );
        assert_eq!(
            text(
                &Forwarding,
                StreamDiffers("stream T keeps messages in memory")
            ),
            "forward: using it as it is: stream T keeps messages in memory"
        );
        assert_eq!(
            text(&Forwarding, CursorNote(&"c: ignored")),
            "forward: c: ignored"
        );
    }
}
