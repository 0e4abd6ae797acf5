//! What forwarding and collecting share about NATS: the connection, the
//! stream, and the message format (docs/protocol.md, "Forwarding to NATS
//! JetStream").

use crate::diag::Diag;
use async_nats::jetstream::{self, stream};
use async_nats::{ConnectOptions, ServerAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tributary_core::Level;

/// Header naming the host whose listener published the message.
pub(crate) const HOST_HEADER: &str = "Tributary-Host";
/// Header giving the number of records (lines) in the message.
pub(crate) const RECORDS_HEADER: &str = "Tributary-Records";
/// Header naming the body's format.
pub(crate) const FORMAT_HEADER: &str = "Tributary-Format";
/// The only body format: native JSON lines, each ending in `\n`.
pub(crate) const FORMAT_JSON_LINES: &str = "json-lines";
/// JetStream's deduplication window for the streams we create: a batch
/// published again within it (after a restart or an outage) is dropped.
pub(crate) const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

/// Parses server URLs, refusing a bad one with `flag` in the message.
pub(crate) fn server_addrs(urls: &[String], flag: &str) -> Result<Vec<ServerAddr>, String> {
    urls.iter()
        .map(|u| {
            u.parse::<ServerAddr>().map_err(|e| {
                format!("{flag} {u}: not a NATS server URL ({e}); e.g. nats://127.0.0.1:4222")
            })
        })
        .collect()
}

/// Connection options: quick reconnects (the forwarding buffer is the
/// local file, so an outage costs nothing but lag), state changes
/// reported once each: `what` names the side and the servers (`forward:
/// nats://...`), `meanwhile` says what happens to records during an outage.
pub(crate) fn options(
    name: String,
    diag: Arc<Diag>,
    what: String,
    meanwhile: &'static str,
) -> ConnectOptions {
    let down = Arc::new(AtomicBool::new(false));
    ConnectOptions::new()
        .name(name)
        .connection_timeout(Duration::from_secs(3))
        .max_reconnects(None)
        .reconnect_delay_callback(|attempt| {
            Duration::from_millis(100u64 << attempt.min(5)).min(Duration::from_secs(2))
        })
        .event_callback(move |event| {
            let diag = diag.clone();
            let down = down.clone();
            let what = what.clone();
            async move {
                match event {
                    async_nats::Event::Disconnected | async_nats::Event::ClientError(_) => {
                        if !down.swap(true, Ordering::AcqRel) {
                            diag.stderr(
                                Level::WARNING,
                                format_args!(
                                    "{what}: NATS unreachable ({event}); retrying; {meanwhile}"
                                ),
                            );
                        }
                    }
                    async_nats::Event::Connected => {
                        down.store(false, Ordering::Release);
                        diag.stderr(Level::INFO, format_args!("{what}: connected"));
                    }
                    async_nats::Event::Closed | async_nats::Event::Draining => {}
                    other => diag.stderr(Level::WARNING, format_args!("{what}: NATS: {other}")),
                }
            }
        })
}

/// The stream as we create it: file storage, every subject under
/// `prefix`, a two-minute duplicate window. Only fields nats-server 2.9
/// knows are sent (the client is built without its 2.10+ features).
pub(crate) fn stream_config(
    name: &str,
    prefix: &str,
    max_bytes: Option<u64>,
    max_age: Option<Duration>,
) -> stream::Config {
    stream::Config {
        name: name.to_owned(),
        subjects: vec![format!("{prefix}.>")],
        storage: stream::StorageType::File,
        duplicate_window: DUPLICATE_WINDOW,
        max_bytes: max_bytes.map_or(-1, |b| i64::try_from(b).unwrap_or(i64::MAX)),
        max_age: max_age.unwrap_or_default(),
        ..Default::default()
    }
}

/// Gets the stream, creating it when missing. An existing stream is used
/// as it is; settings that differ from ours are returned as notes.
pub(crate) async fn ensure_stream(
    js: &jetstream::Context,
    wanted: stream::Config,
) -> Result<(stream::Stream, Vec<String>), String> {
    match js.get_stream(&wanted.name).await {
        Ok(mut s) => {
            let info = s.info().await.map_err(|e| e.to_string())?;
            let have = &info.config;
            let mut notes = Vec::new();
            if !wanted
                .subjects
                .iter()
                .all(|w| have.subjects.iter().any(|h| h == w || h == ">"))
            {
                notes.push(format!(
                    "stream {} takes subjects {:?}, not {:?}: publishes may find no stream",
                    have.name, have.subjects, wanted.subjects
                ));
            }
            if have.duplicate_window < DUPLICATE_WINDOW {
                notes.push(format!(
                    "stream {} deduplicates over {:?} only (we create {:?}): a batch published again after a longer outage or restart is stored twice",
                    have.name, have.duplicate_window, DUPLICATE_WINDOW
                ));
            }
            if have.storage != stream::StorageType::File {
                notes.push(format!(
                    "stream {} keeps messages in memory: a nats-server restart loses them",
                    have.name
                ));
            }
            Ok((s, notes))
        }
        Err(e)
            if matches!(
                e.kind(),
                jetstream::context::GetStreamErrorKind::JetStream(ref j)
                    if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
            ) =>
        {
            js.create_stream(wanted)
                .await
                .map(|s| (s, Vec::new()))
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}
