//! The forwarding task: read batches from the output, record them in the
//! cursor, publish them pipelined, advance the cursor on each publish
//! acknowledgement, in order.

use super::cursor::{Cursor, Planned, Position};
use super::jetstream::{
    self as js_format, FORMAT_HEADER, FORMAT_JSON_LINES, HOST_HEADER, RECORDS_HEADER,
};
use super::settings::ForwardSettings;
use super::source::{BATCH_BYTES, Next, Source};
use crate::ListenerError;
use crate::acks::{FileKey, ForwardGate, Place};
use crate::diag::Diag;
use crate::diag::forward::{self as event, Forwarding, NotForwarded};
use crate::stats::ForwardCounters;
use async_nats::ServerAddr;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, publish::PublishAck};
use bytes::Bytes;
use std::collections::VecDeque;
use std::future::{Future, IntoFuture};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Batches published and not yet acknowledged, at most: 4 MiB of
/// 256 KiB batches.
const IN_FLIGHT: usize = 16;
/// How often the output is looked at when nothing was there.
const POLL: Duration = Duration::from_millis(5);
/// Longest wait between attempts while NATS is away.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Room for a batch's headers under the server's `max_payload` (NATS
/// counts headers in it) from a host id of `host_len` bytes: `NATS/1.0`,
/// `Nats-Msg-Id` (host, 20-digit epoch and number), `Tributary-Host`,
/// `Tributary-Records` (4 digits) and `Tributary-Format` with their line
/// ends take 142 bytes and the host twice; the rest is margin.
fn header_room(host_len: usize) -> usize {
    192 + 2 * host_len
}

/// The largest batch body a server with `max_payload` takes with the
/// headers of `host`, and no more than [`BATCH_BYTES`].
fn batch_limit(max_payload: usize, host: &str) -> usize {
    max_payload
        .saturating_sub(header_room(host.len()))
        .clamp(1, BATCH_BYTES)
}

/// A batch in flight: its publish acknowledgement, and its body (shared
/// with the client until written) to read the next batch into.
type InFlight = (AckFuture, Option<Bytes>);

type AckFuture = Pin<
    Box<
        dyn Future<Output = Result<PublishAck, async_nats::jetstream::context::PublishError>>
            + Send,
    >,
>;

/// A running forwarder: stop it after the writer has finished.
pub(crate) struct Forwarder {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    /// `forwarding nats <URL> stream <NAME> host <ID>`, the readiness line.
    pub(crate) line: String,
}

impl Forwarder {
    /// Forwards what the writer wrote, for up to `timeout`, then returns.
    pub(crate) async fn finish(self, timeout: Duration) {
        self.stop.send_replace(true);
        let _ = tokio::time::timeout(timeout + Duration::from_secs(1), self.task).await;
    }
}

/// Opens the cursor and starts forwarding `output` (whose acknowledgement
/// journal is `journal`). NATS need not be reachable: the task retries,
/// with a warning, and the local file keeps every record meanwhile.
/// `gate`: producers' acknowledgements wait there for the positions
/// JetStream acknowledges (`forward-acknowledge = "forwarded"`).
#[allow(clippy::too_many_arguments)] // each a distinct part of the listener the forwarder uses
pub(crate) fn start(
    settings: &ForwardSettings,
    output: &Path,
    journal: &Path,
    durable: bool,
    diag: Arc<Diag>,
    drain: Duration,
    gate: Option<Arc<ForwardGate>>,
    counters: Arc<ForwardCounters>,
) -> Result<Forwarder, ListenerError> {
    let servers = js_format::server_addrs(&settings.nats, "--forward-nats")
        .map_err(|reason| ListenerError::Forward { reason })?;
    let cursor_path = super::cursor::default_path(output);
    let cursor = Cursor::open(&cursor_path, durable).map_err(|e| ListenerError::Forward {
        reason: format!(
            "cannot open the forwarding cursor {}: {e}; check the directory's permissions",
            cursor_path.display()
        ),
    })?;
    for note in &cursor.notes {
        diag.emit(&Forwarding, event::CursorNote(note));
    }
    let host = settings.effective_host_id();
    let line = format!(
        "forwarding nats {} stream {} host {host}",
        settings.nats.join(","),
        settings.stream
    );
    counters.lag_bound.store(settings.lag_warn, Relaxed);
    let (stop, stop_rx) = watch::channel(false);
    let task = Task {
        subject: format!("{}.{host}", settings.subject_prefix),
        host,
        settings: settings.clone(),
        servers,
        source: Source::new(output, journal),
        cursor,
        diag,
        stop: stop_rx,
        drain,
        too_large: 0,
        gate,
        counters,
    };
    task.acknowledged();
    let task = tokio::spawn(task.run());
    Ok(Forwarder { stop, task, line })
}

struct Task {
    /// What `/metrics` shows of forwarding.
    counters: Arc<ForwardCounters>,
    host: String,
    subject: String,
    settings: ForwardSettings,
    servers: Vec<ServerAddr>,
    source: Source,
    cursor: Cursor,
    diag: Arc<Diag>,
    stop: watch::Receiver<bool>,
    drain: Duration,
    /// Records passed over because they exceed the server's max_payload,
    /// since the start.
    too_large: u64,
    /// Where the cursor's acknowledged position releases producers'
    /// acknowledgements, with `forward-acknowledge = "forwarded"`.
    gate: Option<Arc<ForwardGate>>,
}

/// Why the publishing loop paused.
enum Pause {
    /// NATS or the stream is away: try again after a backoff.
    Outage(String),
    /// The local side failed (reading the output, writing the cursor).
    Local(String),
}

impl Task {
    async fn run(mut self) {
        let client = loop {
            let options = js_format::options(
                format!("tributary forward {}", self.host),
                self.diag.clone(),
                format!("forward: {}", self.settings.nats.join(",")),
                "records stay in the local file and are forwarded when it is back",
            )
            .retry_on_initial_connect();
            match options.connect(self.servers.clone()).await {
                Ok(c) => break c,
                Err(e) => {
                    self.diag.emit(
                        &Forwarding,
                        event::CannotConnect {
                            servers: &self.settings.nats.join(","),
                            error: &e,
                        },
                    );
                    if self.sleep_or_stop(MAX_BACKOFF).await {
                        return;
                    }
                }
            }
        };
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(5))
            .build(client);
        let mut backoff = Duration::from_millis(100);
        let mut outage: Option<String> = None;
        let mut stream_ready = false;
        let mut lag_warned = false;
        let mut lag_checked = Instant::now();
        let mut deadline: Option<Instant> = None;
        loop {
            if *self.stop.borrow() && deadline.is_none() {
                deadline = Some(Instant::now() + self.drain);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                self.report_left();
                return;
            }
            let result = if stream_ready {
                self.publish_until_idle(&js).await
            } else {
                self.ensure_stream(&js).await.map(|()| {
                    stream_ready = true;
                    false
                })
            };
            match result {
                Ok(true) => {
                    // Everything readable is acknowledged.
                    if deadline.is_some() {
                        return;
                    }
                    if let Some(what) = outage.take() {
                        self.diag.emit(&Forwarding, event::Resumed { after: &what });
                    }
                    backoff = Duration::from_millis(100);
                    if lag_checked.elapsed() >= Duration::from_secs(1) {
                        lag_checked = Instant::now();
                        lag_warned = self.check_lag(lag_warned);
                    }
                    if self.sleep_or_stop(POLL).await && deadline.is_none() {
                        deadline = Some(Instant::now() + self.drain);
                    }
                }
                Ok(false) => {}
                Err(Pause::Outage(what)) | Err(Pause::Local(what)) => {
                    if outage.as_deref() != Some(&what) {
                        self.diag.emit(
                            &Forwarding,
                            event::Paused {
                                why: &what,
                                output: self.source.path(),
                            },
                        );
                        outage = Some(what);
                    }
                    stream_ready = false;
                    lag_warned = self.check_lag(lag_warned);
                    let _ = self.sleep_or_stop(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Sleeps; true if told to stop meanwhile (or before).
    async fn sleep_or_stop(&mut self, d: Duration) -> bool {
        if *self.stop.borrow() {
            tokio::time::sleep(d.min(POLL)).await;
            return true;
        }
        tokio::select! {
            () = tokio::time::sleep(d) => false,
            r = self.stop.changed() => r.is_err() || *self.stop.borrow(),
        }
    }

    async fn ensure_stream(&mut self, js: &jetstream::Context) -> Result<(), Pause> {
        let wanted = js_format::stream_config(
            &self.settings.stream,
            &self.settings.subject_prefix,
            self.settings.stream_max_bytes,
            self.settings.stream_max_age,
        );
        let (_, notes) = js_format::ensure_stream(js, wanted)
            .await
            .map_err(|e| Pause::Outage(format!("stream {}: {e}", self.settings.stream)))?;
        for note in notes {
            self.diag.emit(&Forwarding, event::StreamDiffers(&note));
        }
        Ok(())
    }

    /// Publishes until nothing more can be read and every batch is
    /// acknowledged (`Ok(true)`), or until a failure.
    async fn publish_until_idle(&mut self, js: &jetstream::Context) -> Result<bool, Pause> {
        // Read each time: a reconnect may have found another server.
        let max_payload = js.client().server_info().max_payload;
        let limit = batch_limit(max_payload, &self.host);
        let mut in_flight: VecDeque<InFlight> = VecDeque::new();
        // Batches recorded by an earlier run or before an outage are
        // published again first, exactly as recorded.
        let mut position = match self.cursor.frontier() {
            Some(p) => Some(p),
            None => self.source.current_start().map_err(local)?,
        };
        loop {
            let mut idle = false;
            while in_flight.len() < IN_FLIGHT {
                if in_flight.len() < self.cursor.planned.len() {
                    let p = self.cursor.planned[in_flight.len()];
                    if p.records == 1 && p.end - p.start > limit as u64 {
                        in_flight.push_back((
                            too_large_future(max_payload, limit, p.end - p.start),
                            None,
                        ));
                        continue;
                    }
                    match self
                        .source
                        .read_exact(p.file, p.start, p.end)
                        .map_err(local)?
                    {
                        Some(bytes) => in_flight.push_back(self.publish(js, p, bytes).await?),
                        None => {
                            self.skip_gone(p.file)?;
                            position = self.cursor.frontier();
                            in_flight.clear();
                        }
                    }
                    continue;
                }
                let Some(at) = position else {
                    position = self.source.current_start().map_err(local)?;
                    idle = position.is_none();
                    break;
                };
                match self.source.next(at, limit).map_err(local)? {
                    Next::Lines(chunk) => {
                        let plan = Planned {
                            number: self.cursor.next_number(),
                            file: chunk.start.file,
                            start: chunk.start.offset,
                            end: chunk.end,
                            records: chunk.records,
                        };
                        self.cursor.plan(plan).map_err(|e| {
                            Pause::Local(format!(
                                "cannot write {}: {e}",
                                self.cursor.path().display()
                            ))
                        })?;
                        position = Some(Position {
                            file: plan.file,
                            offset: plan.end,
                        });
                        if chunk.oversize {
                            // Planned all the same, so the cursor passes
                            // it in order, after the batches before it.
                            in_flight.push_back((
                                too_large_future(max_payload, limit, plan.end - plan.start),
                                None,
                            ));
                        } else {
                            in_flight.push_back(self.publish(js, plan, chunk.bytes).await?);
                        }
                    }
                    Next::Moved(next) => position = Some(next),
                    Next::Gone { next, skipped } => {
                        self.diag.emit(
                            &NotForwarded,
                            event::ArchiveGone {
                                output: self.source.path(),
                                file: at.file,
                                skipped,
                            },
                        );
                        if in_flight.is_empty() {
                            self.cursor.skip_to(next).map_err(local)?;
                            self.acknowledged();
                        }
                        position = Some(next);
                    }
                    Next::Wait => {
                        idle = true;
                        break;
                    }
                }
            }
            let Some((front, _)) = in_flight.front_mut() else {
                return Ok(idle);
            };
            match front.await {
                Ok(_ack) => {
                    let body = in_flight.pop_front().and_then(|(_, body)| body);
                    // Written and stored: the client has let go of it.
                    if let Some(Ok(body)) = body.map(Bytes::try_into_mut) {
                        self.source.recycle(body.into());
                    }
                    self.counters.published_batches.fetch_add(1, Relaxed);
                    self.cursor.acknowledge_front().map_err(|e| {
                        Pause::Local(format!(
                            "cannot write {}: {e}",
                            self.cursor.path().display()
                        ))
                    })?;
                    self.acknowledged();
                }
                Err(e) if e.kind() == PublishErrorKind::MaxPayloadExceeded => {
                    in_flight.pop_front();
                    self.too_large(&e)?;
                }
                Err(e) => {
                    return Err(Pause::Outage(format!(
                        "publishing to {}: {e}",
                        self.subject
                    )));
                }
            }
            if idle && in_flight.is_empty() {
                return Ok(true);
            }
        }
    }

    async fn publish(
        &self,
        js: &jetstream::Context,
        p: Planned,
        bytes: Vec<u8>,
    ) -> Result<InFlight, Pause> {
        let id = format!("{}/{}/{}", self.host, self.cursor.epoch, p.number);
        let body = Bytes::from(bytes);
        let kept = Some(body.clone());
        let message = PublishMessage::build()
            .payload(body)
            .message_id(id)
            .header(HOST_HEADER, self.host.as_str())
            .header(RECORDS_HEADER, p.records.to_string().as_str())
            .header(FORMAT_HEADER, FORMAT_JSON_LINES);
        match js.send_publish(self.subject.clone(), message).await {
            Ok(ack) => Ok((Box::pin(ack.into_future()), kept)),
            Err(e) if e.kind() == PublishErrorKind::MaxPayloadExceeded => {
                let err = e.to_string();
                let refused: AckFuture = Box::pin(async move {
                    Err(async_nats::jetstream::context::PublishError::with_source(
                        PublishErrorKind::MaxPayloadExceeded,
                        err,
                    ))
                });
                Ok((refused, None))
            }
            Err(e) => Err(Pause::Outage(format!(
                "publishing to {}: {e}",
                self.subject
            ))),
        }
    }

    /// A batch larger than the server's max_payload (one line, or a batch
    /// planned under a larger max_payload) can never be published: say so,
    /// count its records and move past it.
    fn too_large(&mut self, e: &dyn std::fmt::Display) -> Result<(), Pause> {
        let p = self.cursor.planned.front().copied();
        let records = p.map_or(0, |p| p.records);
        self.too_large += records;
        self.diag.emit(
            &NotForwarded,
            event::BatchTooLarge {
                records,
                bytes: p.map_or(0, |p| p.end - p.start),
                error: e,
                total: self.too_large,
            },
        );
        self.cursor.acknowledge_front().map_err(local)?;
        self.acknowledged();
        Ok(())
    }

    /// Tells the gate, if any, how far the cursor's acknowledged position
    /// now reaches: records up to there are in JetStream (or were given
    /// up on, and reported).
    fn acknowledged(&self) {
        if let (Some(gate), Some(at)) = (&self.gate, self.cursor.acked) {
            gate.forwarded(Place {
                file: FileKey {
                    dev: at.file.dev,
                    ino: at.file.ino,
                },
                offset: at.offset,
            });
        }
    }

    fn skip_gone(&mut self, file: super::cursor::FileId) -> Result<(), Pause> {
        let next = self.source.current_start().map_err(local)?;
        let lost: u64 = self
            .cursor
            .planned
            .iter()
            .filter(|p| p.file == file)
            .map(|p| p.records)
            .sum();
        self.diag.emit(
            &NotForwarded,
            event::BatchesGone {
                output: self.source.path(),
                file,
                lost,
            },
        );
        if let Some(next) = next {
            self.cursor.skip_to(next).map_err(local)?;
            self.acknowledged();
        }
        Ok(())
    }

    /// Warns when the lag passes the bound, and once when it is back
    /// under half of it; returns whether a warning stands.
    fn check_lag(&mut self, warned: bool) -> bool {
        let warned = self.check_lag_bound(warned);
        self.counters.lagging.store(u64::from(warned), Relaxed);
        warned
    }

    fn check_lag_bound(&mut self, warned: bool) -> bool {
        let Some(at) = self.cursor.acked.or(self.cursor.frontier()) else {
            return warned;
        };
        let Ok(lag) = self.source.lag(at) else {
            return warned;
        };
        self.counters.lag_bytes.store(lag, Relaxed);
        let bound = self.settings.lag_warn;
        if !warned && lag > bound {
            self.diag.emit(
                &Forwarding,
                event::Lagging {
                    lag,
                    output: self.source.path(),
                    bound,
                },
            );
            return true;
        }
        if warned && lag <= bound / 2 {
            self.diag.emit(&Forwarding, event::CaughtUp { lag });
            return false;
        }
        warned
    }

    fn report_left(&mut self) {
        let at = self.cursor.acked.or(self.cursor.frontier());
        let lag = at.and_then(|at| self.source.lag(at).ok()).unwrap_or(0);
        if lag > 0 {
            self.diag.emit(
                &Forwarding,
                event::StoppedBehind {
                    lag,
                    output: self.source.path(),
                    cursor: self.cursor.path(),
                },
            );
        }
    }
}

/// The refusal of a record of `bytes` that the server's `max_payload`
/// cannot take (`limit` is what it leaves for records), in the place of
/// its publish acknowledgement.
fn too_large_future(max_payload: usize, limit: usize, bytes: u64) -> AckFuture {
    let why = format!(
        "{max_payload} bytes, of which {limit} for records after the headers; this one is {bytes}"
    );
    Box::pin(async move {
        Err(async_nats::jetstream::context::PublishError::with_source(
            PublishErrorKind::MaxPayloadExceeded,
            why,
        ))
    })
}

fn local(e: std::io::Error) -> Pause {
    Pause::Local(e.to_string())
}
