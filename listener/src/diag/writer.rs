//! What can happen to the writer and its outputs: each event counts itself
//! on the writer's counters and says what happened. They go to stderr only
//! (their contexts are not [`Source::IN_BAND`](super::Source::IN_BAND)): a
//! record about the writer failing would queue behind the records it
//! cannot write.

use super::{Event, Source};
use crate::stats::WriterCounters;
use std::fmt::{self, Display};
use std::io;
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tributary_core::Level;

type F<'a, 'b> = &'a mut fmt::Formatter<'b>;

impl Source for WriterCounters {
    const IN_BAND: bool = false;
}

/// Start-up (recovery) and the outputs' background work, which have no
/// counters.
impl Source for () {
    const IN_BAND: bool = false;
}

/// Reopening an output (SIGHUP) failed; the next write tries again.
pub(crate) struct ReopenFailed<'a> {
    pub(crate) path: &'a Path,
    pub(crate) error: &'a io::Error,
}

impl Event for ReopenFailed<'_> {
    type Context = WriterCounters;
    const LEVEL: Level = Level::ERROR;
    fn count(&self, c: &WriterCounters) {
        c.write_errors.fetch_add(1, Relaxed);
    }
    fn describe(&self, _: &WriterCounters, f: F<'_, '_>) -> fmt::Result {
        write!(
            f,
            "cannot reopen {}: {}; the next write tries again",
            self.path.display(),
            self.error
        )
    }
}

/// Writing the acknowledgement journal failed.
pub(crate) struct JournalFailed<'a> {
    /// What was being done (`cannot start the acknowledgement journal`).
    pub(crate) what: &'a str,
    pub(crate) path: &'a Path,
    pub(crate) error: &'a io::Error,
    /// What it means for the producers.
    pub(crate) consequence: &'a str,
}

impl Event for JournalFailed<'_> {
    type Context = WriterCounters;
    const LEVEL: Level = Level::ERROR;
    fn count(&self, c: &WriterCounters) {
        c.write_errors.fetch_add(1, Relaxed);
        c.journal_errors.fetch_add(1, Relaxed);
        c.journal_failing.store(1, Relaxed);
    }
    fn describe(&self, _: &WriterCounters, f: F<'_, '_>) -> fmt::Result {
        let JournalFailed {
            what,
            path,
            error,
            consequence,
        } = self;
        write!(f, "{what} {}: {error}; {consequence}", path.display())
    }
}

/// An output began failing: the writer holds its records and retries.
pub(crate) struct OutageBegan<'a> {
    pub(crate) path: &'a str,
    pub(crate) error: &'a io::Error,
    /// What the operator can do about it.
    pub(crate) advice: &'a dyn Display,
}

impl Event for OutageBegan<'_> {
    type Context = WriterCounters;
    const LEVEL: Level = Level::ERROR;
    fn count(&self, c: &WriterCounters) {
        c.write_errors.fetch_add(1, Relaxed);
        c.stalls.fetch_add(1, Relaxed);
        c.stalled.fetch_add(1, Relaxed);
    }
    fn describe(&self, _: &WriterCounters, f: F<'_, '_>) -> fmt::Result {
        let OutageBegan {
            path,
            error,
            advice,
        } = self;
        write!(
            f,
            "cannot write to {path}: {error}; {advice}. Writing stopped at a record boundary: the records are held and retried until they can be written (inputs pause while the queue is full; datagrams beyond it are dropped, counted)"
        )
    }
}

/// A retry of a failing output failed again; described only when the
/// cause changed.
pub(crate) struct OutageGoesOn<'a> {
    pub(crate) path: &'a str,
    pub(crate) error: &'a io::Error,
    pub(crate) advice: &'a dyn Display,
    pub(crate) cause_changed: bool,
}

impl Event for OutageGoesOn<'_> {
    type Context = WriterCounters;
    const LEVEL: Level = Level::ERROR;
    fn count(&self, c: &WriterCounters) {
        c.write_errors.fetch_add(1, Relaxed);
    }
    fn described(&self) -> bool {
        self.cause_changed
    }
    fn describe(&self, _: &WriterCounters, f: F<'_, '_>) -> fmt::Result {
        let OutageGoesOn {
            path,
            error,
            advice,
            ..
        } = self;
        write!(f, "still cannot write to {path}, now: {error}; {advice}")
    }
}

/// A failing output works again.
pub(crate) struct OutageEnded<'a> {
    pub(crate) path: &'a Path,
    pub(crate) lasted: Duration,
    pub(crate) attempts: u64,
}

impl Event for OutageEnded<'_> {
    type Context = WriterCounters;
    const LEVEL: Level = Level::INFO;
    fn count(&self, c: &WriterCounters) {
        c.stalled.fetch_sub(1, Relaxed);
    }
    fn describe(&self, _: &WriterCounters, f: F<'_, '_>) -> fmt::Result {
        write!(
            f,
            "writing to {} again after {:.1}s and {} failed attempts; no record was lost",
            self.path.display(),
            self.lasted.as_secs_f64(),
            self.attempts
        )
    }
}

/// Shutdown's drain timeout ran out with an output still failing: its
/// buffered records (and those still to come for it) are given up.
pub(crate) struct OutputGivenUp<'a> {
    pub(crate) path: &'a Path,
    pub(crate) error: &'a io::Error,
    pub(crate) drain_timeout: Duration,
    /// Records it held, now unwritten.
    pub(crate) buffered: u64,
}

impl Event for OutputGivenUp<'_> {
    type Context = WriterCounters;
    const LEVEL: Level = Level::ERROR;
    fn count(&self, c: &WriterCounters) {
        c.unwritten.fetch_add(self.buffered, Relaxed);
        c.stalled.fetch_sub(1, Relaxed);
    }
    fn describe(&self, _: &WriterCounters, f: F<'_, '_>) -> fmt::Result {
        write!(
            f,
            "giving up on {}: it still fails ({}) after the drain timeout ({:?}) of the shutdown; the records for it that are left will not be written",
            self.path.display(),
            self.error,
            self.drain_timeout
        )
    }
}

/// At close: the records an output that was given up on lost.
pub(crate) struct OutputLost<'a> {
    pub(crate) path: &'a Path,
    pub(crate) unwritten: u64,
}

impl Event for OutputLost<'_> {
    type Context = WriterCounters;
    const LEVEL: Level = Level::ERROR;
    fn describe(&self, _: &WriterCounters, f: F<'_, '_>) -> fmt::Result {
        write!(
            f,
            "{} records could not be written to {} and are lost",
            self.unwritten,
            self.path.display()
        )
    }
}

/// Flushing an output at close failed.
pub(crate) struct CloseFailed<'a> {
    pub(crate) path: &'a Path,
    pub(crate) error: &'a io::Error,
}

impl Event for CloseFailed<'_> {
    type Context = WriterCounters;
    const LEVEL: Level = Level::ERROR;
    fn count(&self, c: &WriterCounters) {
        c.write_errors.fetch_add(1, Relaxed);
    }
    fn describe(&self, _: &WriterCounters, f: F<'_, '_>) -> fmt::Result {
        write!(f, "cannot flush {}: {}", self.path.display(), self.error)
    }
}

/// An output's background work (compression, retention) failed.
pub(crate) struct BackgroundFailed<'a> {
    /// The output, as shown to the operator.
    pub(crate) output: &'a str,
    pub(crate) error: &'a dyn Display,
}

impl Event for BackgroundFailed<'_> {
    type Context = ();
    const LEVEL: Level = Level::ERROR;
    fn describe(&self, (): &(), f: F<'_, '_>) -> fmt::Result {
        write!(f, "{}: {}", self.output, self.error)
    }
}

/// What start-up recovery (the acknowledgement journal) did to an output.
pub(crate) struct RecoveryNote<'a>(pub(crate) &'a dyn Display);

impl Event for RecoveryNote<'_> {
    type Context = ();
    const LEVEL: Level = Level::WARNING;
    fn describe(&self, (): &(), f: F<'_, '_>) -> fmt::Result {
        write!(f, "recovery: {}", self.0)
    }
}

/// The outputs a reload removed were closed: no batch routed to them can
/// come any more (they stay open until then, so none is lost).
pub(crate) struct RemovedOutputsClosed<'a> {
    pub(crate) paths: &'a [std::path::PathBuf],
    /// How long the writer stopped writing to close them.
    pub(crate) pause: Duration,
}

impl Event for RemovedOutputsClosed<'_> {
    type Context = WriterCounters;
    const LEVEL: Level = Level::INFO;
    const RATE_LIMITED: bool = false;
    fn describe(&self, _: &WriterCounters, f: F<'_, '_>) -> fmt::Result {
        let names: Vec<String> = self.paths.iter().map(|p| p.display().to_string()).collect();
        write!(
            f,
            "reload: closed {} (every record routed to it before the reload is written); writer paused {:.1} ms",
            names.join(", "),
            self.pause.as_secs_f64() * 1e3
        )
    }
}
