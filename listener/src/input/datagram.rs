//! UDP and Unix datagram inputs. Each datagram holds one length-prefixed
//! frame (Python's `DatagramHandler` keeps the prefix), several frames
//! back to back, or JSON (one object, or newline-delimited lines).
//!
//! Datagram senders cannot be slowed down, so when the queue is full
//! records are dropped, counted, and a record saying how many is written
//! as soon as there is room again.

use super::{InputCtx, PeerState};
use crate::diag::LOGGER;
use crate::diag::input as event;
use crate::listener::TaskGuard;
use crate::pipeline::Batch;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::watch;
use tributary_core::{Level, Record};

/// Why (part of) a datagram could not be framed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DatagramError {
    #[error(
        "frame of {len} bytes exceeds the maximum of {max} bytes (raise --max-frame if this is legitimate)"
    )]
    TooLarge { len: usize, max: usize },
    #[error("datagram ends inside a frame: header says {len} bytes, {got} present")]
    Truncated { len: usize, got: usize },
    #[error("datagram larger than the receive buffer of {0} bytes; discarded")]
    Oversize(usize),
}

/// Calls `each` with every payload of one datagram, or the error that
/// ends it.
pub(crate) fn split_datagram<'a>(
    mut data: &'a [u8],
    max: usize,
    mut each: impl FnMut(Result<&'a [u8], DatagramError>),
) {
    if data.first() == Some(&b'{') {
        for line in data.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if line.len() > max {
                each(Err(DatagramError::TooLarge {
                    len: line.len(),
                    max,
                }));
            } else {
                each(Ok(line));
            }
        }
        return;
    }
    while !data.is_empty() {
        let Some((header, rest)) = data.split_first_chunk::<4>() else {
            return each(Err(DatagramError::Truncated {
                len: 4,
                got: data.len(),
            }));
        };
        let len = u32::from_be_bytes(*header) as usize;
        if len > max {
            return each(Err(DatagramError::TooLarge { len, max }));
        }
        if rest.len() < len {
            return each(Err(DatagramError::Truncated {
                len,
                got: rest.len(),
            }));
        }
        let (payload, tail) = rest.split_at(len);
        each(Ok(payload));
        data = tail;
    }
}

/// The receive buffer: the largest frame plus its header plus one byte, so
/// a datagram that fills it is known to be too large. At least 64 KiB,
/// the UDP maximum.
fn buffer_len(max_frame: usize) -> usize {
    (max_frame.saturating_add(5)).clamp(64 * 1024, 16 << 20)
}

/// Datagrams taken per batch before queueing.
const BATCH_DATAGRAMS: usize = 64;

/// Bytes set aside for the lines of one batch of datagrams (more when needed).
const DATAGRAM_BATCH_BYTES: usize = 8 * 1024;

/// How often a pending "records dropped" notice is retried.
const NOTICE_RETRY: Duration = Duration::from_millis(500);

/// Decodes datagrams into batches and queues them without waiting.
struct Ingest {
    input: Arc<InputCtx>,
    /// Started by the first datagram after a flush, so it takes the
    /// configuration in effect then (an idle socket holds none: a reload's
    /// old outputs are not kept open for it).
    batch: Option<Batch>,
    /// Dropped since the last notice was written.
    unreported: u64,
    state: PeerState,
}

impl Ingest {
    fn new(input: Arc<InputCtx>) -> Ingest {
        Ingest {
            batch: None,
            input,
            unreported: 0,
            state: PeerState::default(),
        }
    }

    /// One datagram from `peer`, at `ip` for a UDP peer.
    fn datagram(&mut self, data: &[u8], full: bool, peer: &dyn fmt::Display, ip: Option<IpAddr>) {
        self.input
            .counters
            .bytes
            .fetch_add(data.len() as u64, Relaxed);
        // Limit reports per peer is meaningless across many peers; the
        // diagnostics rate limit covers floods.
        self.state.reports = 0;
        if full {
            return self.input.malformed(
                peer,
                &DatagramError::Oversize(data.len()),
                &mut self.state.reports,
            );
        }
        let input = self.input.clone();
        let batch = self
            .batch
            .get_or_insert_with(|| input.batch(DATAGRAM_BATCH_BYTES));
        if let Some(parser) = &input.syslog {
            return super::syslog::datagram(
                &input,
                parser,
                data,
                peer,
                batch,
                &mut self.state.reports,
            );
        }
        self.state.peer_ip(ip);
        split_datagram(data, input.max_frame, |payload| match payload {
            Ok(p) => input.accept(p, peer, batch, &mut self.state),
            Err(e) => input.malformed(peer, &e, &mut self.state.reports),
        });
    }

    /// Queues the batch if there is room, else drops it (counted).
    fn take(&mut self) -> Batch {
        self.batch
            .take()
            .unwrap_or_else(|| self.input.batch(DATAGRAM_BATCH_BYTES))
    }

    fn flush(&mut self) {
        let batch = self.take();
        let n = batch.records;
        match self.input.queue.try_send(batch) {
            Ok(()) => {
                self.input.queued(n);
                self.notice();
            }
            Err(dropped) => {
                let records = dropped.records as u64;
                self.input.emit(event::DatagramsDropped(records));
                self.unreported += records;
            }
        }
    }

    fn notice_record(&self) -> Batch {
        let label = &self.input.label;
        let mut record = Record::new(
            Level::WARNING,
            LOGGER,
            format!("{} records dropped from {label}", self.unreported),
        );
        record.fields.insert("dropped", self.unreported);
        record.fields.insert("input", label.as_str());
        let encoder = self.input.queue.encoder();
        encoder.one(&record, encoder.all())
    }

    /// Writes the pending "N records dropped" record, if there is room.
    fn notice(&mut self) {
        if self.unreported == 0 {
            return;
        }
        if self.input.queue.try_send(self.notice_record()).is_ok() {
            self.input.emit(event::DropNotice(self.unreported));
            self.unreported = 0;
        }
    }

    /// At shutdown: queue what is left, waiting for room, and the notice.
    async fn finish(mut self) {
        let batch = self.take();
        let n = batch.records;
        if self.input.queue.send(batch).await.is_ok() {
            self.input.queued(n);
        }
        if self.unreported > 0 {
            let notice = self.notice_record();
            let _ = self.input.queue.send(notice).await;
            self.input.emit(event::DropNotice(self.unreported));
        }
    }
}

/// Generates the serve loop for one datagram socket type.
macro_rules! serve_datagrams {
    ($name:ident, $socket:ty, $peer:expr, $ip:expr) => {
        /// Serves one datagram socket until shutdown or until a reload
        /// removes it (`removed`), then reads what the kernel already holds.
        pub(crate) async fn $name(socket: $socket, input: Arc<InputCtx>, (mut shutdown, mut removed): (watch::Receiver<bool>, watch::Receiver<bool>), guard: TaskGuard) {
            let mut buf = vec![0u8; buffer_len(input.max_frame)];
            let mut ingest = Ingest::new(input.clone());
            let mut retry = tokio::time::interval(NOTICE_RETRY);
            retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let peer_of = $peer;
            let ip_of = $ip;
            let mut stopping = *shutdown.borrow_and_update() || *removed.borrow_and_update();
            while !stopping {
                tokio::select! {
                    r = socket.recv_from(&mut buf) => match r {
                        Ok((n, from)) => {
                            ingest.datagram(&buf[..n], n == buf.len(), &peer_of(&from), ip_of(&from));
                            // Take what else is waiting, without waiting.
                            for _ in 1..BATCH_DATAGRAMS {
                                match socket.try_recv_from(&mut buf) {
                                    Ok((n, from)) => ingest.datagram(&buf[..n], n == buf.len(), &peer_of(&from), ip_of(&from)),
                                    Err(_) => break,
                                }
                            }
                            ingest.flush();
                        }
                        Err(e) => {
                            input.emit(crate::diag::input::ReceiveFailed(&e));
                        }
                    },
                    _ = retry.tick() => ingest.notice(),
                    _ = shutdown.changed() => stopping = true,
                    _ = removed.changed() => stopping = true,
                }
            }
            // Everything the kernel had received when shutdown came.
            while let Ok((n, from)) = socket.try_recv_from(&mut buf) {
                ingest.datagram(&buf[..n], n == buf.len(), &peer_of(&from), ip_of(&from));
                if ingest.batch.as_ref().is_some_and(|b| b.records >= BATCH_DATAGRAMS) {
                    let batch = ingest.take();
                    let n = batch.records;
                    if input.queue.send(batch).await.is_ok() {
                        input.queued(n);
                    }
                }
            }
            ingest.finish().await;
            drop(guard);
        }
    };
}

serve_datagrams!(
    serve_udp,
    tokio::net::UdpSocket,
    |from: &std::net::SocketAddr| *from,
    |from: &std::net::SocketAddr| Some(from.ip())
);
serve_datagrams!(
    serve_unix_dgram,
    tokio::net::UnixDatagram,
    |from: &tokio::net::unix::SocketAddr| {
        UnixPeer(from.as_pathname().map(|p| p.display().to_string()))
    },
    |_: &tokio::net::unix::SocketAddr| None
);

/// A Unix datagram sender: its path when bound, else unnamed.
struct UnixPeer(Option<String>);

impl fmt::Display for UnixPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(p) => f.write_str(p),
            None => f.write_str("an unnamed peer"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(data: &[u8], max: usize) -> Vec<Result<Vec<u8>, DatagramError>> {
        let mut out = Vec::new();
        split_datagram(data, max, |p| out.push(p.map(<[u8]>::to_vec)));
        out
    }

    #[test]
    fn one_frame_as_python_sends_it() {
        assert_eq!(split(b"\0\0\0\x02}.", 100), vec![Ok(b"}.".to_vec())]);
    }

    #[test]
    fn frames_back_to_back() {
        assert_eq!(
            split(b"\0\0\0\x01a\0\0\0\x02bc", 100),
            vec![Ok(b"a".to_vec()), Ok(b"bc".to_vec())]
        );
    }

    #[test]
    fn json_object_or_lines() {
        assert_eq!(
            split(b"{\"msg\":1}", 100),
            vec![Ok(b"{\"msg\":1}".to_vec())]
        );
        assert_eq!(
            split(b"{\"a\":1}\r\n\n{\"b\":2}\n", 100),
            vec![Ok(b"{\"a\":1}".to_vec()), Ok(b"{\"b\":2}".to_vec())]
        );
    }

    #[test]
    fn bad_headers_are_errors_not_allocations() {
        assert_eq!(
            split(b"\xff\xff\xff\xffxx", 100),
            vec![Err(DatagramError::TooLarge {
                len: u32::MAX as usize,
                max: 100
            })]
        );
        assert_eq!(
            split(b"\0\0\0\x09abc", 100),
            vec![Err(DatagramError::Truncated { len: 9, got: 3 })]
        );
        assert_eq!(
            split(b"\0\0", 100),
            vec![Err(DatagramError::Truncated { len: 4, got: 2 })]
        );
        assert_eq!(split(b"", 100), vec![]);
    }
}
