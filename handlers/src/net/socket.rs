//! `SocketHandler`: native frames over TCP or a Unix stream socket.

use super::ack::Acks;
use super::conn::{Conn, Target, connect};
use super::{Common, common_builders};
use crate::Handler;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tributary_core::frame::encode_record;
use tributary_core::{Level, Record};

/// Bytes gathered before a write while records keep coming.
const BATCH: usize = 64 * 1024;

/// Sends each record as a native frame (4-byte big-endian length + JSON)
/// over TCP or a Unix stream socket, reconnecting with backoff and
/// buffering while disconnected.
///
/// ```no_run
/// # fn main() -> std::io::Result<()> {
/// use std::time::Duration;
/// use tributary_handlers::{QueueListener, net::{Backoff, BufferLimits, SocketHandler}};
/// let listener = QueueListener::builder()
///     .handler(
///         SocketHandler::tcp("127.0.0.1:9020")
///             .with_backoff(Backoff { start: Duration::from_millis(200), ..Backoff::default() })
///             .with_buffer(BufferLimits { records: 50_000, bytes: 32 << 20 }),
///     )
///     .start()?;
/// # Ok(()) }
/// ```
///
/// With [`SocketHandler::acknowledged`], records stay buffered until the
/// listener says they are written, and are sent again after a reconnect;
/// the listener drops the ones it already wrote, so a listener restart
/// loses and duplicates nothing (docs/protocol.md).
pub struct SocketHandler {
    target: Target,
    name: String,
    conn: Option<Conn>,
    common: Common,
    batch: Vec<u8>,
    acks: Option<Acks>,
}

common_builders!(SocketHandler);

impl SocketHandler {
    /// A handler for a TCP listener at `addr` (`host:port`; resolved at each
    /// connection attempt, IPv4 or IPv6). Connects lazily.
    pub fn tcp(addr: impl Into<String>) -> SocketHandler {
        let addr = addr.into();
        SocketHandler::new(format!("tcp {addr}"), Target::Tcp(addr))
    }

    /// A handler for a Unix stream socket at `path`.
    pub fn unix(path: impl Into<PathBuf>) -> SocketHandler {
        let path = path.into();
        SocketHandler::new(format!("unix {}", path.display()), Target::Unix(path))
    }

    pub(super) fn new(name: String, target: Target) -> SocketHandler {
        SocketHandler {
            target,
            name,
            conn: None,
            common: Common::new(),
            batch: Vec::with_capacity(BATCH),
            acks: None,
        }
    }

    /// Turns on acknowledged delivery (docs/protocol.md): each connection
    /// starts with a hello naming this producer, records are kept until the
    /// listener acknowledges them as written, and unacknowledged ones are
    /// sent again after a reconnect, where the listener drops those it
    /// already wrote. Needs a Tributary listener (Python's receivers do not
    /// answer the hello). When the buffer is full of unacknowledged records
    /// the handler waits for acknowledgements (the queue in front of it
    /// then applies its overflow policy) rather than dropping them.
    #[must_use]
    pub fn acknowledged(mut self) -> Self {
        if self.acks.is_none() {
            self.acks = Some(Acks::new(None, self.common.write_timeout));
        }
        self
    }

    /// Acknowledged delivery under a chosen producer name, the listener's
    /// key for deduplication: give each producer its own (default
    /// `host/pid/random`, unique per handler).
    #[must_use]
    pub fn with_producer_id(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        match &mut self.acks {
            Some(acks) => acks.producer = id,
            None => self.acks = Some(Acks::new(Some(id), self.common.write_timeout)),
        }
        self
    }

    /// The producer name sent in the hello, in acknowledged mode.
    pub fn producer_id(&self) -> Option<&str> {
        self.acks.as_ref().map(|a| a.producer.as_str())
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Records sent but not yet acknowledged (acknowledged mode).
    pub fn unacknowledged(&self) -> usize {
        self.acks.as_ref().map_or(0, |a| a.sent)
    }

    /// Opens a connection (with the handshake in acknowledged mode) when
    /// none is open and the retry schedule allows (or always, with
    /// `force`). False when there is no connection.
    fn ensure_connected(&mut self, force: bool) -> bool {
        if self.conn.is_some() {
            return true;
        }
        if !force && !self.common.retry.due(Instant::now()) {
            return false;
        }
        let opened = connect(
            &self.target,
            self.common.connect_timeout,
            self.common.write_timeout,
        )
        .and_then(|mut conn| {
            if let Some(acks) = &mut self.acks {
                acks.timeout = self.common.write_timeout;
                let welcome = acks.handshake(&mut conn, self.common.backlog.first_seq)?;
                // What the listener already wrote is forgotten, not resent.
                while self.common.backlog.first_seq < welcome.next
                    && !self.common.backlog.is_empty()
                {
                    self.common.backlog.pop_front();
                }
                // The next frame sent carries the welcome's number.
                if self.common.backlog.is_empty() {
                    self.common.backlog.first_seq = welcome.next;
                }
            }
            Ok(conn)
        });
        match opened {
            Ok(c) => {
                self.conn = Some(c);
                self.common.retry.succeeded();
                self.common.recovered(&self.name);
                true
            }
            Err(e) => {
                self.common
                    .retry
                    .failed(&self.common.backoff, Instant::now());
                self.common.outage(&self.name, &e);
                false
            }
        }
    }

    /// Drops the connection; in acknowledged mode everything not yet
    /// acknowledged will be sent again on the next one.
    fn disconnect(&mut self) {
        self.conn = None;
        if let Some(acks) = &mut self.acks {
            acks.reset();
        }
    }

    /// Takes in the acknowledgements that arrived (waiting up to `wait` for
    /// one) and forgets the records they cover. Returns how many.
    fn absorb_acks(&mut self, wait: Option<Duration>) -> io::Result<usize> {
        let (Some(acks), Some(conn)) = (&mut self.acks, &mut self.conn) else {
            return Ok(0);
        };
        let Some(next) = acks.read_acks(conn, wait)? else {
            return Ok(0);
        };
        let backlog = &mut self.common.backlog;
        let mut n = 0;
        while backlog.first_seq < next && n < acks.sent {
            acks.sent_bytes -= backlog.front().map_or(0, Vec::len);
            backlog.pop_front();
            n += 1;
        }
        acks.sent -= n;
        Ok(n)
    }

    /// Whether the buffer is at its bounds.
    fn full(&self) -> bool {
        let limits = self.common.limits;
        self.common.backlog.len() >= limits.records.max(1)
            || self.common.backlog.bytes() >= limits.bytes
    }

    /// Acknowledged mode, buffer full while connected: waits for the
    /// listener to acknowledge rather than dropping unacknowledged
    /// records. A listener silent for the whole timeout is considered gone.
    fn make_room(&mut self) {
        let timeout = self.common.write_timeout;
        let mut quiet_since = Instant::now();
        while self.full() && self.conn.is_some() {
            self.pump_acked(false);
            if !self.full() {
                return;
            }
            let left = timeout.saturating_sub(quiet_since.elapsed());
            match self.absorb_acks(Some(left.min(Duration::from_millis(100)))) {
                Ok(0) if left.is_zero() => {
                    let e = io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("no acknowledgement for {timeout:?} with the buffer full"),
                    );
                    self.disconnect();
                    self.common
                        .retry
                        .failed(&self.common.backoff, Instant::now());
                    self.common.outage(&self.name, &e);
                }
                Ok(0) => {}
                Ok(_) => quiet_since = Instant::now(),
                Err(e) => {
                    self.disconnect();
                    self.common.outage(&self.name, &e);
                }
            }
        }
    }

    /// Acknowledged mode: sends what has not been sent on this connection,
    /// and takes in acknowledgements. Frames stay buffered until acknowledged.
    fn pump_acked(&mut self, force: bool) {
        let mut broken_once = false;
        loop {
            if let Err(e) = self.absorb_acks(None) {
                self.disconnect();
                self.common.outage(&self.name, &e);
                if std::mem::replace(&mut broken_once, true) {
                    return;
                }
            }
            let sent = self.acks.as_ref().map_or(0, |a| a.sent);
            if self.common.backlog.len() == sent && self.common.backlog.unreported == 0 {
                return;
            }
            if !self.ensure_connected(force) {
                return;
            }
            if self.common.backlog.unreported > 0 {
                let n = std::mem::take(&mut self.common.backlog.unreported);
                let report = self.common.drop_report(&self.name, n);
                let mut frame = self.common.backlog.buffer();
                if encode_record(&report, &self.common.formatter, &mut frame).is_ok() {
                    self.common.backlog.push_back_unbounded(frame);
                }
            }
            let sent = self.acks.as_ref().map_or(0, |a| a.sent);
            self.batch.clear();
            let mut frames = 0;
            while let Some(f) = self.common.backlog.get(sent + frames) {
                if frames > 0 && self.batch.len() + f.len() > BATCH {
                    break;
                }
                self.batch.extend_from_slice(f);
                frames += 1;
            }
            let (written, error) = self.write_batch();
            let mut done = 0;
            let mut bytes = 0;
            while done < frames {
                let Some(f) = self.common.backlog.get(sent + done) else {
                    break;
                };
                if bytes + f.len() > written {
                    break;
                }
                bytes += f.len();
                done += 1;
            }
            if let Some(acks) = &mut self.acks {
                acks.sent += done;
                acks.sent_bytes += bytes;
            }
            if let Some(e) = error {
                self.disconnect();
                if std::mem::replace(&mut broken_once, true) {
                    self.common
                        .retry
                        .failed(&self.common.backoff, Instant::now());
                    self.common.outage(&self.name, &e);
                    return;
                }
            }
        }
    }

    /// Bytes buffered and not yet written to the current connection.
    fn unsent_bytes(&self) -> usize {
        let sent = self.acks.as_ref().map_or(0, |a| a.sent_bytes);
        self.common.backlog.bytes() - sent
    }

    /// Sends what is buffered, connecting first when the schedule allows
    /// (or always, with `force`). Undeliverable frames stay buffered.
    fn pump(&mut self, force: bool) {
        if self.acks.is_some() {
            return self.pump_acked(force);
        }
        let mut broken_once = false;
        loop {
            if self.common.backlog.is_empty() && self.common.backlog.unreported == 0 {
                return;
            }
            if !self.ensure_connected(force) {
                return;
            }
            let closed = self.conn.as_ref().is_some_and(Conn::peer_closed);
            if closed {
                self.conn = None;
                if std::mem::replace(&mut broken_once, true) {
                    self.common
                        .retry
                        .failed(&self.common.backoff, Instant::now());
                    return;
                }
                continue;
            }
            if self.common.backlog.unreported > 0 {
                let n = std::mem::take(&mut self.common.backlog.unreported);
                let report = self.common.drop_report(&self.name, n);
                let mut frame = self.common.backlog.buffer();
                if encode_record(&report, &self.common.formatter, &mut frame).is_ok() {
                    self.common.backlog.push_front(frame);
                }
            }
            self.batch.clear();
            for (i, f) in self.common.backlog.iter().enumerate() {
                if i > 0 && self.batch.len() + f.len() > BATCH {
                    break;
                }
                self.batch.extend_from_slice(f);
            }
            let (written, error) = self.write_batch();
            // Frames fully written are delivered to the kernel; a frame cut
            // short is sent again whole on the next connection (the peer
            // discards the truncated one).
            let mut done = 0;
            while let Some(front) = self.common.backlog.front() {
                if done + front.len() > written {
                    break;
                }
                done += front.len();
                self.common.backlog.pop_front();
            }
            if let Some(e) = error {
                self.conn = None;
                if std::mem::replace(&mut broken_once, true) {
                    self.common
                        .retry
                        .failed(&self.common.backoff, Instant::now());
                    self.common.outage(&self.name, &e);
                    return;
                }
            }
        }
    }

    fn write_batch(&mut self) -> (usize, Option<io::Error>) {
        let Some(conn) = self.conn.as_mut() else {
            return (0, Some(io::ErrorKind::NotConnected.into()));
        };
        let mut written = 0;
        while written < self.batch.len() {
            match conn.write(&self.batch[written..]) {
                Ok(0) => return (written, Some(io::ErrorKind::WriteZero.into())),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return (written, Some(e)),
            }
        }
        (written, None)
    }
}

impl Handler for SocketHandler {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn level(&self) -> Level {
        self.common.level.clone()
    }

    fn handle(&mut self, record: &Record) -> io::Result<()> {
        let Some(record) = self.common.filter(record) else {
            return Ok(());
        };
        let mut frame = self.common.backlog.buffer();
        encode_record(&record, &self.common.formatter, &mut frame)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if self.acks.is_some() && self.full() {
            self.make_room();
        }
        let front = self.common.backlog.first_seq;
        self.common.backlog.push(frame, self.common.limits);
        let dropped = self.common.backlog.first_seq - front;
        if let Some(acks) = self.acks.as_mut().filter(|_| dropped > 0) {
            // The byte bound dropped frames already sent: they count as
            // lost (reported in-band), and what stays sent is recounted.
            acks.sent = acks
                .sent
                .saturating_sub(usize::try_from(dropped).unwrap_or(usize::MAX));
            acks.sent_bytes = (0..acks.sent)
                .filter_map(|i| self.common.backlog.get(i))
                .map(Vec::len)
                .sum();
        }
        if self.unsent_bytes() >= BATCH {
            self.pump(false);
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.pump(false);
        Ok(())
    }

    /// Makes one last attempt, ignoring the backoff schedule; reports what
    /// could not be delivered.
    fn close(&mut self) -> io::Result<()> {
        self.pump(true);
        if self.acks.is_some() {
            // Records are delivered only once acknowledged: wait for that,
            // as long as the listener keeps acknowledging.
            let mut quiet_since = Instant::now();
            while !self.common.backlog.is_empty() && self.conn.is_some() {
                let left = self
                    .common
                    .write_timeout
                    .saturating_sub(quiet_since.elapsed());
                if left.is_zero() {
                    break;
                }
                match self.absorb_acks(Some(left)) {
                    Ok(0) => {}
                    Ok(_) => quiet_since = Instant::now(),
                    Err(_) => self.disconnect(),
                }
                self.pump(true);
            }
        }
        let left = self.common.backlog.len();
        self.disconnect();
        if left > 0 || self.common.backlog.unreported > 0 {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                format!("{left} records could not be delivered before closing"),
            ));
        }
        Ok(())
    }

    fn has_backlog(&self) -> bool {
        !self.common.backlog.is_empty() || self.common.backlog.unreported > 0
    }
}
