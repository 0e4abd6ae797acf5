//! `SocketHandler`: native frames over TCP or a Unix stream socket.

use super::conn::{Conn, Target, connect};
use super::{Common, common_builders};
use crate::Handler;
use std::io;
use std::path::PathBuf;
use std::time::Instant;
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
pub struct SocketHandler {
    target: Target,
    name: String,
    conn: Option<Conn>,
    common: Common,
    batch: Vec<u8>,
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
        }
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Sends what is buffered, connecting first when the schedule allows
    /// (or always, with `force`). Undeliverable frames stay buffered.
    fn pump(&mut self, force: bool) {
        let mut broken_once = false;
        loop {
            if self.common.backlog.is_empty() && self.common.backlog.unreported == 0 {
                return;
            }
            if self.conn.is_none() {
                if !force && !self.common.retry.due(Instant::now()) {
                    return;
                }
                match connect(
                    &self.target,
                    self.common.connect_timeout,
                    self.common.write_timeout,
                ) {
                    Ok(c) => {
                        self.conn = Some(c);
                        self.common.retry.succeeded();
                        self.common.recovered(&self.name);
                    }
                    Err(e) => {
                        self.common
                            .retry
                            .failed(&self.common.backoff, Instant::now());
                        self.common.outage(&self.name, &e);
                        return;
                    }
                }
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
        self.common.backlog.push(frame, self.common.limits);
        if self.common.backlog.bytes() >= BATCH {
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
        let left = self.common.backlog.len();
        self.conn = None;
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
