//! Counters for every input and for the writer, readable while the
//! listener runs (stats lines, the embedding API) and at exit (summary).

use crate::pipeline::CommitLatency;
pub use crate::pipeline::CommitLatencySnapshot;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

/// Why a payload, frame or connection was counted as malformed: the
/// `reason` label of `tributary_malformed_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MalformedReason {
    /// A payload or datagram that no decoder accepts.
    Undecodable,
    /// A stream that cannot be framed any further (a frame over the
    /// maximum, an octet count over the maximum message size).
    Framing,
    /// A frame or message left unfinished: at shutdown, or by a peer that
    /// closed inside it.
    Unfinished,
    /// A started frame that did not complete within `frame-timeout`.
    SlowFrame,
    /// An acknowledged delivery hello that was refused.
    HelloRefused,
}

impl MalformedReason {
    /// Every reason, in the order of [`InputSnapshot::malformed_by`].
    pub(crate) const ALL: [MalformedReason; 5] = [
        MalformedReason::Undecodable,
        MalformedReason::Framing,
        MalformedReason::Unfinished,
        MalformedReason::SlowFrame,
        MalformedReason::HelloRefused,
    ];

    /// Its label value.
    pub(crate) fn name(self) -> &'static str {
        match self {
            MalformedReason::Undecodable => "undecodable",
            MalformedReason::Framing => "framing",
            MalformedReason::Unfinished => "unfinished",
            MalformedReason::SlowFrame => "slow_frame",
            MalformedReason::HelloRefused => "hello_refused",
        }
    }
}

/// Counters of one input socket.
#[derive(Debug, Default)]
pub(crate) struct InputCounters {
    pub(crate) connections: AtomicU64,
    pub(crate) active: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) records: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) filtered: AtomicU64,
    /// Records dropped because their producer had sent them before
    /// (acknowledged delivery, after a reconnect).
    pub(crate) duplicates: AtomicU64,
    /// Connections that opened with a hello (acknowledged delivery).
    pub(crate) acknowledged: AtomicU64,
    /// Syslog messages kept raw: they matched no syslog form.
    pub(crate) lenient: AtomicU64,
    /// Records whose invalid UTF-8 was replaced.
    pub(crate) replaced_utf8: AtomicU64,
    /// Connections closed to keep the others served (frame budget, room
    /// for a new connection).
    pub(crate) evicted: AtomicU64,
    /// `malformed`, by reason (indexed like [`MalformedReason::ALL`]).
    malformed_by: [AtomicU64; MalformedReason::ALL.len()],
}

impl InputCounters {
    /// Counts one malformed payload, frame or connection.
    pub(crate) fn count_malformed(&self, reason: MalformedReason) {
        self.malformed.fetch_add(1, Relaxed);
        self.malformed_by[reason as usize].fetch_add(1, Relaxed);
    }
}

/// Counters of one output file, kept by the writer thread beside its
/// totals (each total is the sum of these, plus the journal's errors for
/// `write_errors`).
#[derive(Debug, Default)]
pub(crate) struct OutputCounters {
    /// The output's path, as given.
    pub(crate) path: String,
    pub(crate) records: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) rotations: AtomicU64,
    /// Seconds since the Unix epoch of the last rotation seen; 0: none.
    pub(crate) last_rotation: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    /// 1 while the writer is retrying this output.
    pub(crate) stalled: AtomicU64,
    pub(crate) stalls: AtomicU64,
    pub(crate) unwritten: AtomicU64,
}

/// Counters of the writer thread.
#[derive(Debug, Default)]
pub(crate) struct WriterCounters {
    pub(crate) records: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) write_errors: AtomicU64,
    pub(crate) queued: AtomicU64,
    pub(crate) rotations: AtomicU64,
    /// Outputs the writer is retrying now (a gauge).
    pub(crate) stalled: AtomicU64,
    /// Outages: times an output began failing.
    pub(crate) stalls: AtomicU64,
    /// Lines given up on at shutdown.
    pub(crate) unwritten: AtomicU64,
    /// Bytes of formatted lines queued for the writer now.
    pub(crate) queued_bytes: AtomicU64,
    /// Failed writes of the acknowledgement journal (also in
    /// `write_errors`).
    pub(crate) journal_errors: AtomicU64,
    /// 1 from a failed journal write until a commit works again.
    pub(crate) journal_failing: AtomicU64,
    /// One per output open now, in the writer's order; each output owns
    /// its counters (they follow it through reloads) and the writer
    /// publishes the list when it changes.
    pub(crate) outputs: RwLock<Vec<Arc<OutputCounters>>>,
    /// How long acknowledged commits take.
    pub(crate) ack_commit: CommitLatency,
    /// Records missing a pattern field, counted by the formatters of
    /// configurations a reload replaced (the current ones count their own).
    pub(crate) missing_fields_retired: AtomicU64,
    /// Whether any configuration had a text output.
    pub(crate) had_text: std::sync::atomic::AtomicBool,
}

impl WriterCounters {
    /// The outputs open now, as the writer last published them.
    pub(crate) fn outputs(&self) -> Vec<Arc<OutputCounters>> {
        self.outputs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Publishes the outputs open now (at start, and after a reload
    /// opened or closed some).
    pub(crate) fn set_outputs(&self, outputs: Vec<Arc<OutputCounters>>) {
        *self.outputs.write().unwrap_or_else(|p| p.into_inner()) = outputs;
    }
}

impl OutputCounters {
    /// Zeroed counters of the output at `path`.
    pub(crate) fn for_path(path: &std::path::Path) -> Self {
        OutputCounters {
            path: path.display().to_string(),
            ..OutputCounters::default()
        }
    }
}

/// Forwarding to NATS JetStream, when on: kept by the forwarding task.
#[derive(Debug, Default)]
pub(crate) struct ForwardCounters {
    /// Batches JetStream acknowledged.
    pub(crate) published_batches: AtomicU64,
    /// Bytes of the output not yet acknowledged by JetStream, as last
    /// measured (about once a second).
    pub(crate) lag_bytes: AtomicU64,
    /// `forward-lag-warn`.
    pub(crate) lag_bound: AtomicU64,
    /// 1 from the lag passing its bound until it is back under half.
    pub(crate) lagging: AtomicU64,
}

/// Forwarding's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForwardSnapshot {
    /// Batches JetStream acknowledged.
    pub published_batches: u64,
    /// Bytes not yet in JetStream, as last measured.
    pub lag_bytes: u64,
    /// The lag's bound (`forward-lag-warn`).
    pub lag_bound: u64,
    /// Whether the lag is over its bound (and not yet back under half).
    pub lagging: bool,
}

/// Reloads so far and the last one's outcome.
#[derive(Debug, Default)]
pub(crate) struct ReloadCounters {
    pub(crate) ok: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) last: Mutex<Option<LastReload>>,
}

impl ReloadCounters {
    /// Counts a reload and keeps its outcome as the last.
    pub(crate) fn record(&self, ok: bool, message: String) {
        let counter = if ok { &self.ok } else { &self.failed };
        counter.fetch_add(1, Relaxed);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(LastReload {
            at: SystemTime::now(),
            ok,
            message,
        });
    }
}

/// The outcome of the last reload (SIGHUP, or
/// [`Controller::reload`](crate::Controller::reload)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastReload {
    /// When it finished.
    pub at: SystemTime,
    /// Whether the new configuration took effect.
    pub ok: bool,
    /// What changed ([`ReloadReport`](crate::ReloadReport)'s text), or why
    /// the configuration in effect was kept ([`ReloadError`](crate::ReloadError)'s).
    pub message: String,
}

/// Each running input's label and counters, in order.
pub(crate) type InputList = Vec<(String, Arc<InputCounters>)>;

/// Live counters of a running listener; cheap to clone and to read.
#[derive(Clone, Debug)]
pub struct Stats {
    /// The inputs running now, in order: a reload adds and removes some.
    pub(crate) inputs: Arc<RwLock<InputList>>,
    pub(crate) writer: Arc<WriterCounters>,
    pub(crate) reloads: Arc<ReloadCounters>,
    /// With forwarding on.
    pub(crate) forward: Option<Arc<ForwardCounters>>,
}

impl Stats {
    /// A consistent-enough copy of every counter (each is read atomically;
    /// they are not read at one instant).
    pub fn snapshot(&self) -> StatsSnapshot {
        let inputs = self.inputs.read().unwrap_or_else(|p| p.into_inner());
        StatsSnapshot {
            inputs: inputs
                .iter()
                .map(|(label, c)| InputSnapshot {
                    input: label.clone(),
                    connections: c.connections.load(Relaxed),
                    active: c.active.load(Relaxed),
                    rejected: c.rejected.load(Relaxed),
                    records: c.records.load(Relaxed),
                    bytes: c.bytes.load(Relaxed),
                    malformed: c.malformed.load(Relaxed),
                    dropped: c.dropped.load(Relaxed),
                    filtered: c.filtered.load(Relaxed),
                    duplicates: c.duplicates.load(Relaxed),
                    acknowledged: c.acknowledged.load(Relaxed),
                    lenient: c.lenient.load(Relaxed),
                    replaced_utf8: c.replaced_utf8.load(Relaxed),
                    evicted: c.evicted.load(Relaxed),
                    malformed_by: MalformedReason::ALL
                        .iter()
                        .map(|&r| (r.name(), c.malformed_by[r as usize].load(Relaxed)))
                        .collect(),
                })
                .collect(),
            writer: WriterSnapshot {
                records: self.writer.records.load(Relaxed),
                bytes: self.writer.bytes.load(Relaxed),
                write_errors: self.writer.write_errors.load(Relaxed),
                queue_depth: self.writer.queued.load(Relaxed),
                rotations: self.writer.rotations.load(Relaxed),
                stalled: self.writer.stalled.load(Relaxed),
                stalls: self.writer.stalls.load(Relaxed),
                unwritten: self.writer.unwritten.load(Relaxed),
                queue_bytes: self.writer.queued_bytes.load(Relaxed),
                journal_errors: self.writer.journal_errors.load(Relaxed),
                journal_failing: self.writer.journal_failing.load(Relaxed) > 0,
                outputs: self
                    .writer
                    .outputs()
                    .iter()
                    .map(|o| OutputSnapshot {
                        output: o.path.clone(),
                        records: o.records.load(Relaxed),
                        bytes: o.bytes.load(Relaxed),
                        rotations: o.rotations.load(Relaxed),
                        last_rotation: Some(o.last_rotation.load(Relaxed)).filter(|&t| t > 0),
                        write_errors: o.write_errors.load(Relaxed),
                        stalled: o.stalled.load(Relaxed) > 0,
                        stalls: o.stalls.load(Relaxed),
                        unwritten: o.unwritten.load(Relaxed),
                    })
                    .collect(),
                ack_commit: self.writer.ack_commit.snapshot(),
            },
            reloads_ok: self.reloads.ok.load(Relaxed),
            reloads_failed: self.reloads.failed.load(Relaxed),
            last_reload: self
                .reloads
                .last
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            forward: self.forward.as_ref().map(|f| ForwardSnapshot {
                published_batches: f.published_batches.load(Relaxed),
                lag_bytes: f.lag_bytes.load(Relaxed),
                lag_bound: f.lag_bound.load(Relaxed),
                lagging: f.lagging.load(Relaxed) > 0,
            }),
        }
    }
}

/// Counters of one input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InputSnapshot {
    /// The input, as in its readiness line (`tcp 127.0.0.1:9020`).
    pub input: String,
    /// Connections served (stream inputs; over TLS, those whose handshake
    /// succeeded).
    pub connections: u64,
    /// Connections open now.
    pub active: u64,
    /// Connections refused: `max-connections` were open, or the TLS
    /// handshake failed or timed out.
    pub rejected: u64,
    /// Records decoded and queued.
    pub records: u64,
    /// Bytes received.
    pub bytes: u64,
    /// Payloads or frames that could not be decoded.
    pub malformed: u64,
    /// Records dropped because the queue was full (datagram inputs only).
    pub dropped: u64,
    /// Records no output's filter took.
    pub filtered: u64,
    /// Records dropped as already received from their producer
    /// (acknowledged delivery resends after a reconnect).
    pub duplicates: u64,
    /// Connections that asked for acknowledged delivery.
    pub acknowledged: u64,
    /// Syslog messages that matched no syslog form, kept raw as `msg`.
    pub lenient: u64,
    /// Records whose invalid UTF-8 was replaced with U+FFFD.
    pub replaced_utf8: u64,
    /// Connections closed to keep the others served: their unfinished
    /// frames were the largest when the frame budget ran out, or they had
    /// completed no frame when a new connection needed a slot at
    /// `max-connections`.
    pub evicted: u64,
    /// `malformed` by reason (`undecodable`, `framing`, `unfinished`,
    /// `slow_frame`, `hello_refused`); they add up to `malformed`.
    pub malformed_by: Vec<(&'static str, u64)>,
}

/// Counters of one output file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutputSnapshot {
    /// The output's path, as given.
    pub output: String,
    /// Records written to it.
    pub records: u64,
    /// Bytes written to it.
    pub bytes: u64,
    /// Its rotations.
    pub rotations: u64,
    /// When it last rotated (seconds since the Unix epoch), if it did.
    pub last_rotation: Option<u64>,
    /// Failed write attempts (retries included).
    pub write_errors: u64,
    /// Whether the writer is retrying it now.
    pub stalled: bool,
    /// Its outages since start.
    pub stalls: u64,
    /// Records given up on at shutdown.
    pub unwritten: u64,
}

/// Counters of the writer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterSnapshot {
    /// Records written (each counted once, whatever the number of outputs).
    pub records: u64,
    /// Bytes written over all outputs.
    pub bytes: u64,
    /// Failed write attempts (disk full, ...), retries included: it keeps
    /// growing while an output cannot be written. Only the first of an
    /// outage is reported on stderr.
    pub write_errors: u64,
    /// Records queued for the writer now.
    pub queue_depth: u64,
    /// Rotations of the output files, over all outputs.
    pub rotations: u64,
    /// Outputs that cannot be written now: the writer is holding their
    /// records and retrying (and inputs are paused once the queue fills).
    /// 0 when all is well.
    pub stalled: u64,
    /// Outages since start: times an output began failing.
    pub stalls: u64,
    /// Records given up on because an output still failed when the drain
    /// timeout of a shutdown ran out, counted once per output that lost
    /// them. Anything but 0 makes the listener finish with an error.
    pub unwritten: u64,
    /// Bytes of formatted lines queued for the writer now.
    pub queue_bytes: u64,
    /// Failed writes of the acknowledgement journal (included in
    /// `write_errors`).
    pub journal_errors: u64,
    /// Whether the last journal write failed (no commit has worked since).
    pub journal_failing: bool,
    /// Each output, in output order: its parts of the totals above.
    pub outputs: Vec<OutputSnapshot>,
    /// How long acknowledged commits took (flush, fsync when durable,
    /// journal line).
    pub ack_commit: CommitLatencySnapshot,
}

/// Every counter at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// One entry per input running, in the order they were given (a
    /// reload's new inputs last; a removed input leaves the list).
    pub inputs: Vec<InputSnapshot>,
    /// The writer.
    pub writer: WriterSnapshot,
    /// Reloads that took effect.
    pub reloads_ok: u64,
    /// Reloads refused (the configuration in effect was kept).
    pub reloads_failed: u64,
    /// The last reload's outcome, if there was one.
    pub last_reload: Option<LastReload>,
    /// Forwarding to NATS JetStream, when on.
    pub forward: Option<ForwardSnapshot>,
}

impl StatsSnapshot {
    /// Records queued over all inputs.
    pub fn records_received(&self) -> u64 {
        self.inputs.iter().map(|i| i.records).sum()
    }
}

impl fmt::Display for InputSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: records={} bytes={} connections={} active={} rejected={} malformed={} dropped={} filtered={}",
            self.input,
            self.records,
            self.bytes,
            self.connections,
            self.active,
            self.rejected,
            self.malformed,
            self.dropped,
            self.filtered
        )?;
        if self.lenient > 0 || self.replaced_utf8 > 0 {
            write!(
                f,
                " lenient={} replaced_utf8={}",
                self.lenient, self.replaced_utf8
            )?;
        }
        if self.evicted > 0 {
            write!(f, " evicted={}", self.evicted)?;
        }
        if self.acknowledged > 0 {
            write!(
                f,
                " acknowledged={} duplicates={}",
                self.acknowledged, self.duplicates
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for StatsSnapshot {
    /// One line: each input, then the writer, separated by `; `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for input in &self.inputs {
            write!(f, "{input}; ")?;
        }
        let w = &self.writer;
        write!(
            f,
            "writer: records={} bytes={} write_errors={} queue={} rotations={} stalled={} stalls={} unwritten={}",
            w.records,
            w.bytes,
            w.write_errors,
            w.queue_depth,
            w.rotations,
            w.stalled,
            w.stalls,
            w.unwritten
        )?;
        // Shown once there was a reload, so the line is unchanged without.
        if self.reloads_ok + self.reloads_failed > 0 {
            write!(
                f,
                "; reloads: ok={} failed={}",
                self.reloads_ok, self.reloads_failed
            )?;
        }
        Ok(())
    }
}
