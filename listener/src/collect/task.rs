//! Attaching to the stream and consuming it.

use super::settings::CollectSettings;
use crate::ListenerError;
use crate::acks::{AckMark, Producer};
use crate::diag::Diag;
use crate::diag::collect::{self as event, Collecting};
use crate::forward::jetstream::{self as js_format, FORMAT_HEADER, FORMAT_JSON_LINES, HOST_HEADER};
use crate::input::{InputCtx, PeerState};
use crate::listener::TaskGuard;
use crate::passthrough;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::message::Acker;
use async_nats::jetstream::{self};
use futures_util::StreamExt;
use std::collections::VecDeque;
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tributary_core::{CompactString, DecodeOptions, decode_payload_into};

/// Messages delivered and not yet acknowledged, at most (the consumer's
/// `max_ack_pending`): bounds what a collector holds.
const MAX_ACK_PENDING: i64 = 10_000;
/// How long JetStream waits for an acknowledgement before redelivering.
const ACK_WAIT: Duration = Duration::from_secs(30);
/// A collector attached to its stream, ready to [`serve`].
pub(crate) struct Attached {
    consumer: PullConsumer,
    /// `nats <URL> stream <NAME>`: the readiness line after `collecting `.
    pub(crate) label: String,
    /// The producer id under which the journal keeps the stream position.
    producer_id: String,
}

/// Connects, gets (or creates) the stream and the durable consumer. An
/// unreachable server is an error naming `--nats`.
pub(crate) async fn attach(
    settings: &CollectSettings,
    diag: Arc<Diag>,
) -> Result<Attached, ListenerError> {
    let fail = |reason: String| ListenerError::Collect { reason };
    settings
        .check()
        .map_err(|(flag, reason)| fail(format!("--{flag}: {reason}")))?;
    let servers = js_format::server_addrs(&settings.nats, "--nats").map_err(fail)?;
    let urls = settings.nats.join(",");
    let client = js_format::options(
        format!("tributary collect {}", settings.consumer),
        diag,
        format!("collect: {urls}"),
        "nothing is collected meanwhile; the stream keeps the records",
    )
    .connect(servers)
    .await
    .map_err(|e| {
        fail(format!(
            "cannot reach --nats {urls}: {e}; is nats-server running with JetStream (nats-server -js)?"
        ))
    })?;
    let js = jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(5))
        .build(client);
    let wanted = js_format::stream_config(
        &settings.stream,
        crate::forward::settings::DEFAULT_SUBJECT_PREFIX,
        None,
        None,
    );
    let (stream, _) = js_format::ensure_stream(&js, wanted)
        .await
        .map_err(|e| fail(format!("--stream {}: {e}", settings.stream)))?;
    let consumer: PullConsumer = stream
        .get_or_create_consumer(
            &settings.consumer,
            pull::Config {
                durable_name: Some(settings.consumer.clone()),
                ack_policy: AckPolicy::Explicit,
                deliver_policy: DeliverPolicy::All,
                ack_wait: ACK_WAIT,
                max_ack_pending: MAX_ACK_PENDING,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| fail(format!("--consumer {}: {e}", settings.consumer)))?;
    Ok(Attached {
        consumer,
        label: format!("nats {urls} stream {}", settings.stream),
        producer_id: format!("nats/{}/{}", settings.stream, settings.consumer),
    })
}

/// Messages waiting for their records to be written, oldest first.
type Pending = Arc<Mutex<VecDeque<(u64, Acker)>>>;

/// Consumes until shutdown; returns once every message written is
/// acknowledged to JetStream (or the drain timeout passed).
pub(crate) async fn serve(
    attached: Attached,
    ctx: Arc<InputCtx>,
    mut shutdown: watch::Receiver<bool>,
    guard: TaskGuard,
) {
    let (producer, _, _) = ctx.producers.hello(&attached.producer_id, "", 0);
    let pending: Pending = Arc::default();
    let (done_tx, done_rx) = watch::channel(false);
    let acker = tokio::spawn(acknowledge(
        attached.label.clone(),
        producer.clone(),
        pending.clone(),
        ctx.clone(),
        done_rx,
        guard.clone(),
    ));
    let collecting = Collecting {
        label: &attached.label,
    };
    // Like a connection's: the passthrough's time cache, the count of bad
    // lines, and the record lines are decoded into (reused, so a busy
    // collector allocates nothing per decoded line once warm).
    let mut state = PeerState::default();
    let mut backoff = Duration::from_millis(100);
    'outer: loop {
        if *shutdown.borrow() {
            break;
        }
        let mut messages = match attached.consumer.messages().await {
            Ok(m) => m,
            Err(e) => {
                ctx.diag.emit(&collecting, event::PullFailed(&e));
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = shutdown.changed() => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        loop {
            let next = tokio::select! {
                m = messages.next() => m,
                _ = shutdown.changed() => break 'outer,
            };
            let message = match next {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    ctx.diag.emit(&collecting, event::PullBroken(&e));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue 'outer;
                }
                None => continue 'outer,
            };
            backoff = Duration::from_millis(100);
            let Ok(seq) = message.info().map(|i| i.stream_sequence) else {
                // Not a JetStream delivery: nothing to acknowledge.
                continue;
            };
            let (message, acker) = message.split();
            if !producer.accept(seq) {
                // Redelivered, and written (or queued) already.
                push_pending(&pending, seq, acker);
                continue;
            }
            let mut batch = ctx.batch(message.payload.len());
            let host = message
                .headers
                .as_ref()
                .and_then(|h| h.get(HOST_HEADER))
                .map(|v| CompactString::from(v.as_str()));
            let format_ok = message
                .headers
                .as_ref()
                .and_then(|h| h.get(FORMAT_HEADER))
                .is_some_and(|v| v.as_str() == FORMAT_JSON_LINES);
            if !format_ok || host.is_none() {
                ctx.malformed(
                    &format_args!("{} message {seq} on {}", attached.label, message.subject),
                    &"not a tributary batch (no Tributary-Host or Tributary-Format: json-lines header)",
                    &mut state.reports,
                );
            } else {
                let host = host.unwrap_or_default();
                let host_key = host_key(&host);
                for line in lines(&message.payload) {
                    if line.is_empty() {
                        continue;
                    }
                    let host = (&host, host_key.as_deref());
                    accept_line(&ctx, line, host, &mut batch, &mut state, seq);
                }
            }
            batch.ack = Some(AckMark {
                producer: producer.clone(),
                next: seq + 1,
            });
            push_pending(&pending, seq, acker);
            let n = batch.records;
            if ctx.queue.send(batch).await.is_err() {
                break 'outer;
            }
            ctx.queued(n);
        }
    }
    done_tx.send_replace(true);
    let _ = acker.await;
    drop(guard);
}

fn push_pending(pending: &Pending, seq: u64, acker: Acker) {
    pending
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push_back((seq, acker));
}

/// The pieces of `body` between newlines, the last one included even
/// without a newline after it (as `split` gives them), found with memchr:
/// a byte-wise split was most of the collector's CPU.
fn lines(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', body)
        .chain(std::iter::once(body.len()))
        .map(move |end| {
            let line = &body[start..end];
            start = end + 1;
            line
        })
}

/// `,"host":"NAME"` as the native formatter writes it, when `host` needs
/// no escaping (printable ASCII without `"` or `\\`); else `None`, and
/// lines without a host take the decoder's way.
fn host_key(host: &str) -> Option<Vec<u8>> {
    let plain = host
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    plain.then(|| [b",\"host\":\"", host.as_bytes(), b"\""].concat())
}

/// One line of a batch. A canonical line (what the native formatter
/// writes) is written as it came, with the batch's host spliced in where
/// the formatter puts it when the line names none (`host_key`: the
/// batch's `,"host":"…"`, `None` when its host needs escaping); any other
/// line is decoded, given the batch's host if it has none, and formatted.
fn accept_line(
    ctx: &InputCtx,
    line: &[u8],
    (host, host_key): (&CompactString, Option<&[u8]>),
    batch: &mut crate::pipeline::Batch,
    state: &mut PeerState,
    seq: u64,
) {
    if let Some(c) = passthrough::check(line, &mut state.ts)
        && (c.has_host || host_key.is_some())
    {
        let mask = batch.encoder().route_parts(c.level_no, c.logger);
        if mask == 0 {
            ctx.counters.filtered.fetch_add(1, Relaxed);
            return;
        }
        if batch.encoder().all_native(mask) {
            match host_key {
                Some(key) if !c.has_host => {
                    batch.push_native_parts(&[&line[..c.host_at], key, &line[c.host_at..]], mask)
                }
                _ => batch.push_native(line, mask),
            }
            return;
        }
    }
    match decode_payload_into(line, DecodeOptions::default(), &mut state.record) {
        Ok(()) => {
            let record = &mut state.record;
            if record.host.is_none() {
                record.host = Some(host.clone());
            }
            let mask = batch.encoder().route(record);
            if mask == 0 {
                ctx.counters.filtered.fetch_add(1, Relaxed);
            } else {
                batch.push(record, mask);
            }
        }
        Err(e) => ctx.malformed(&format_args!("message {seq}"), &e, &mut state.reports),
    }
}

/// Acknowledges to JetStream every pending message whose records are
/// written (and journaled), as commits happen; after shutdown, until none
/// is left or the drain timeout passes.
async fn acknowledge(
    label: String,
    producer: Arc<Producer>,
    pending: Pending,
    ctx: Arc<InputCtx>,
    done: watch::Receiver<bool>,
    guard: TaskGuard,
) {
    let mut failed = 0u64;
    let mut deadline = None;
    loop {
        let notified = producer.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let written = producer.written.load(Acquire);
        let due: Vec<Acker> = {
            let mut p = pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut due = Vec::new();
            while p.front().is_some_and(|(seq, _)| *seq < written) {
                if let Some((_, a)) = p.pop_front() {
                    due.push(a);
                }
            }
            due
        };
        for a in due {
            if let Err(e) = a.ack().await {
                failed += 1;
                ctx.diag.emit(
                    &Collecting { label: &label },
                    event::AckFailed {
                        error: &e,
                        nth: failed,
                    },
                );
            }
        }
        let empty = pending.lock().map_or(true, |p| p.is_empty());
        if *done.borrow() {
            let d =
                *deadline.get_or_insert_with(|| tokio::time::Instant::now() + ctx.drain_timeout);
            if empty || tokio::time::Instant::now() >= d {
                break;
            }
        }
        tokio::select! {
            () = &mut notified => {}
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    drop(guard);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_the_pieces_between_newlines() {
        let pieces = |b: &'static [u8]| lines(b).collect::<Vec<_>>();
        assert_eq!(pieces(b"a\nbc\n"), [&b"a"[..], b"bc", b""]);
        assert_eq!(pieces(b"a\n\nlast"), [&b"a"[..], b"", b"last"]);
        assert_eq!(pieces(b""), [&b""[..]]);
        for body in [&b"x\ny\n\nz"[..], b"\n\n", b"no newline"] {
            assert_eq!(
                lines(body).collect::<Vec<_>>(),
                body.split(|&b| b == b'\n').collect::<Vec<_>>()
            );
        }
    }
}
