//! Records accepted → answer: queues one request's records and answers
//! when the request's acknowledgement level is reached. Every HTTP route
//! (`/log`, and OTLP's `/v1/logs`) ends here.
//!
//! `written` and `durable` use the commit of acknowledged delivery: the
//! batch carries an [`AckMark`] of the HTTP inputs' one producer
//! numbering, and the answer waits until the writer has written (and,
//! with `--durable`, fsynced and journaled) through it.

use super::HttpInput;
use super::answer::{self, Refusal};
use super::sink::RecordSink;
use crate::acks::AckMark;
use crate::diag::http::{RefusalKind, RequestRefused};
use crate::pipeline::Batch;
use crate::settings::HttpAck;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Acquire;
use std::time::Duration;

/// How long a request waits for room in a full queue before it is
/// answered 503 with `Retry-After`.
const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// Queues the records of `sink` and answers once `ack` is reached;
/// `skipped` are the reasons for records left out (`partial=true`).
pub(crate) async fn submit(
    input: &HttpInput,
    sink: RecordSink,
    ack: HttpAck,
    skipped: (&[String], usize),
) -> Response {
    let peer = sink_peer(&sink);
    let records = sink.records();
    match queue(input, sink, ack).await {
        Ok(()) => answer::accepted(records, skipped.0, skipped.1),
        Err((refusal, kind)) => refuse(input, &peer, refusal, kind),
    }
}

/// Queues `records` decoded elsewhere (OTLP's `/v1/logs`), for `peer`, and
/// waits until `ack` is reached; the route answers in its own format.
/// Returns how many records were queued (routed to some output).
pub(crate) async fn queue_records(
    input: &HttpInput,
    peer: SocketAddr,
    records: Vec<tributary_core::Record>,
    ack: HttpAck,
) -> Result<usize, (Refusal, RefusalKind)> {
    let mut sink = RecordSink::new(input, peer, records.len() * 256);
    for mut record in records {
        sink.push(&mut record);
    }
    let queued = sink.records();
    queue(input, sink, ack).await?;
    Ok(queued)
}

fn sink_peer(sink: &RecordSink) -> String {
    sink.peer().to_string()
}

/// Reports a refusal (counted by kind) and turns it into the answer.
pub(crate) fn refuse(
    input: &HttpInput,
    peer: &dyn std::fmt::Display,
    refusal: Refusal,
    kind: RefusalKind,
) -> Response {
    input.ctx.emit(RequestRefused {
        peer,
        status: refusal.status.as_u16(),
        kind,
        why: &refusal.reason,
    });
    refusal.into_response()
}

async fn queue(
    input: &HttpInput,
    sink: RecordSink,
    ack: HttpAck,
) -> Result<(), (Refusal, RefusalKind)> {
    if ack == HttpAck::Durable && !input.ctx.durable {
        return Err((
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "ack=durable needs a listener started with --durable (it fsyncs only then); use ack=written",
            ),
            RefusalKind::Malformed,
        ));
    }
    let records = sink.records();
    // Counted once the request is queued: a 503 is retried, and its
    // filtered records would count twice.
    let filtered = sink.filtered();
    let batch = sink.batch;
    if ack == HttpAck::Queued {
        send(input, batch).await?;
        input.ctx.queued(records);
        input.ctx.filtered(filtered);
        return Ok(());
    }
    let acks = input.settings.acks.numbering();
    let through = {
        // Numbers are handed out in queue order, so "written through n"
        // (cumulative, as the commit says it) never covers a batch still
        // waiting behind another.
        let mut next = acks.next.lock().await;
        let through = *next + 1;
        let mut batch = batch;
        batch.ack = Some(AckMark {
            producer: acks.producer.clone(),
            next: through,
        });
        send(input, batch).await?;
        *next = through;
        through
    };
    input.ctx.queued(records);
    input.ctx.filtered(filtered);
    let producer = &acks.producer;
    loop {
        let notified = producer.notify.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        if producer.written.load(Acquire) >= through {
            return Ok(());
        }
        notified.await;
    }
}

async fn send(input: &HttpInput, batch: Batch) -> Result<(), (Refusal, RefusalKind)> {
    let records = batch.records as u64;
    match tokio::time::timeout(QUEUE_WAIT, input.ctx.queue.send(batch)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_closed)) => Err((
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the listener is shutting down; send again to its successor",
            ),
            RefusalKind::QueueFull { records },
        )),
        Err(_) => Err((
            Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the listener's queue is full (its outputs are behind); nothing of this request was queued, send it again after {} s",
                    answer::RETRY_AFTER_SECS
                ),
            ),
            RefusalKind::QueueFull { records },
        )),
    }
}
