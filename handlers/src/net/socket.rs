//! `SocketHandler`: native frames over TCP or a Unix stream socket.

use super::ack::Acks;
use super::backlog::Backlog;
use super::conn::{Conn, Target, connect};
use super::spool::{Spool, SpoolConfig, SpoolError};
use super::{Common, common_builders};
use crate::Handler;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tributary_core::frame::{self, encode_record};
use tributary_core::{Formatter, Level, Record};

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
    acks: Option<Acks>,
    close_timeout: Duration,
    /// The disk spool. Once a frame overflows the memory buffer it holds
    /// every undelivered frame, in order, those in memory included, and
    /// keeps each until it is delivered; memory then holds the oldest of
    /// them while connected, for sending.
    spool: Option<Spool>,
    /// Whether the current spool failure was reported.
    spool_failing: bool,
    /// The in-band report of what the spool held at open, with the number
    /// reserved for it there: right after the recovered frames. It waits
    /// here rather than in the spool, whose bound may leave no room for it,
    /// and joins the memory buffer when the spool hands over the frames
    /// before it. Not kept across runs: each open makes its own.
    recovery_report: Option<(u64, Vec<u8>)>,
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
            acks: None,
            close_timeout: Duration::from_secs(10),
            spool: None,
            spool_failing: false,
            recovery_report: None,
        }
    }

    /// Adds a disk spool: when the in-memory buffer is full (a long
    /// outage), records go to a bounded, checksummed file and are sent, in
    /// order, once the listener is back; only beyond the spool's bound are
    /// records dropped (counted, reported in-band; the count is kept in the
    /// spool, so the next run reports what this one could not). Frames left
    /// by an earlier run of the program are sent first, after a report of
    /// what was recovered; damage found in the file is reported on stderr
    /// and in-band, never skipped silently.
    ///
    /// In acknowledged mode the spool remembers the producer id and the
    /// epoch of its numbering, so a restarted program resumes as the same
    /// producer (call
    /// [`acknowledged`](SocketHandler::acknowledged) or
    /// [`with_producer_id`](SocketHandler::with_producer_id) first).
    ///
    /// # Errors
    /// The spool file cannot be created or opened (permissions, another
    /// process owns it, not a spool file).
    pub fn with_spool(mut self, config: SpoolConfig) -> io::Result<Self> {
        let id = self
            .acks
            .as_ref()
            .map_or_else(|| self.name.clone(), |a| a.producer.clone());
        let (spool, recovered) = Spool::open(&config, &id).map_err(io::Error::other)?;
        if let Some(acks) = &mut self.acks {
            // A resumed spool resumes its numbering: same id, same epoch.
            acks.producer = spool.producer_id().to_owned();
            acks.epoch = spool.epoch().to_owned();
        }
        if let Some(first) = spool.first_seq() {
            self.common.backlog.first_seq = first;
        } else if let Some(last) = spool.max_seq() {
            self.common.backlog.first_seq = last.saturating_add(1);
        }
        // Drops an earlier run could not report are reported by this one.
        self.common.backlog.unreported += spool.unreported_drops();
        if !recovered.is_clean() || !spool.is_empty() {
            let level = if recovered.is_clean() {
                Level::INFO
            } else {
                Level::WARNING
            };
            let msg = format!("spool {}: recovered {recovered}", config.path().display());
            eprintln!("tributary: {}: {msg}", self.name);
            let mut record = Record::builder(level, msg)
                .logger("tributary.network")
                .field("spooled", recovered.frames as u64)
                .field("corrupt_bytes", recovered.bytes_cut())
                .build();
            crate::process::stamp(&mut record);
            let mut frame = Vec::new();
            if encode_record(&record, &self.common.formatter, &mut frame).is_ok() {
                // After the recovered frames, with the next number: a number
                // below them may already be written (and so skipped).
                match spool.max_seq() {
                    Some(last) if !spool.is_empty() => {
                        self.recovery_report = Some((last.saturating_add(1), frame));
                    }
                    _ => self.common.backlog.push_back_unbounded(frame),
                }
            }
        }
        self.spool = Some(spool);
        Ok(self)
    }

    /// Records in the disk spool: not delivered yet (those sent and not
    /// yet acknowledged, and those in memory, included).
    pub fn spooled(&self) -> usize {
        self.spool.as_ref().map_or(0, Spool::len)
    }

    /// The number the next new record gets.
    fn next_seq(&self) -> u64 {
        let memory = self
            .common
            .backlog
            .first_seq
            .wrapping_add(self.common.backlog.len() as u64);
        let reserved = self.recovery_report.as_ref().map(|(seq, _)| *seq);
        match self.spool.as_ref().and_then(Spool::max_seq).max(reserved) {
            Some(last) => memory.max(last.saturating_add(1)),
            None => memory,
        }
    }

    /// Whether a new frame would go to the spool (or be dropped) rather
    /// than to the memory buffer.
    fn would_spool(&self) -> bool {
        self.spool.is_some() && (self.full() || self.spooled() > 0)
    }

    /// Keeps the count of drops not yet reported in the spool, so that a
    /// run ending before its report went out leaves it to the next.
    fn keep_drop_count(&mut self) {
        let unreported = self.common.backlog.unreported;
        let Some(spool) = self.spool.as_mut() else {
            return;
        };
        if let Err(e) = spool.set_unreported_drops(unreported)
            && !std::mem::replace(&mut self.spool_failing, true)
        {
            eprintln!(
                "tributary: {}: cannot keep the drop count in {}: {e}",
                self.name,
                spool.path().display()
            );
        }
    }

    /// Puts a new frame in the spool when the memory buffer is full (or
    /// the spool already holds older frames: order). Gives the frame back
    /// when it belongs in memory.
    fn spool_frame(&mut self, frame: Vec<u8>) -> Option<Vec<u8>> {
        let seq = self.next_seq();
        let full = self.full();
        let report_waits = self.recovery_report.is_some();
        let Some(spool) = self.spool.as_mut() else {
            return Some(frame);
        };
        if spool.is_empty() && !report_waits && !full {
            return Some(frame);
        }
        if spool.is_empty() {
            // The spool begins: the frames in memory, older, go first, so
            // from now on the file holds every undelivered frame in order
            // and a producer killed during the outage loses none of them.
            spool_memory(spool, &self.common.backlog);
        }
        // Committed (fdatasync with `SpoolSync::Disk`) once per batch, in flush.
        let pushed = spool.push(seq, &frame);
        match pushed {
            Ok(()) => {
                self.spool_failing = false;
                self.common.backlog.recycle(frame);
                None
            }
            Err(SpoolError::Full { .. }) => {
                // The newest is dropped: numbers stay contiguous.
                self.common.backlog.unreported += 1;
                self.common.backlog.dropped += 1;
                self.common.backlog.recycle(frame);
                None
            }
            Err(e) => {
                if !std::mem::replace(&mut self.spool_failing, true) {
                    eprintln!(
                        "tributary: {}: cannot spool to {}: {e}; keeping records in memory only",
                        self.name,
                        spool.path().display()
                    );
                }
                if spool.is_empty() {
                    Some(frame)
                } else {
                    self.common.backlog.unreported += 1;
                    self.common.backlog.dropped += 1;
                    None
                }
            }
        }
    }

    /// At close: frames still in memory go to the spool when it holds
    /// nothing (else they are in it already, unless it refused them when
    /// it began), so the next run sends them. Returns how many records the
    /// spool keeps, and how many in memory it does not hold.
    fn spool_leftovers(&mut self) -> (usize, usize) {
        let Some(spool) = self.spool.as_mut() else {
            return (0, self.common.backlog.len());
        };
        if spool.is_empty() {
            while let Some(front) = self.common.backlog.front() {
                let seq = self.common.backlog.first_seq;
                if spool.push(seq, front).is_err() {
                    break;
                }
                self.common.backlog.pop_front();
            }
            if let Err(e) = spool.commit() {
                eprintln!(
                    "tributary: {}: spool {}: {e}",
                    self.name,
                    spool.path().display()
                );
            }
        }
        let backlog = &self.common.backlog;
        let first = backlog.first_seq;
        let in_memory = backlog.len();
        let held = match spool.count_in(first..first.saturating_add(in_memory as u64)) {
            Ok(held) => held,
            Err(e) => {
                eprintln!(
                    "tributary: {}: spool {}: {e}",
                    self.name,
                    spool.path().display()
                );
                0
            }
        };
        (spool.len(), in_memory.saturating_sub(held))
    }

    /// Consumes from the spool the frames numbered below memory's first:
    /// they left memory delivered (acknowledged, or written without
    /// acknowledgements), or the listener's welcome said it has them.
    fn forget_delivered(&mut self) {
        let Some(below) = self.common.backlog.first_seq.checked_sub(1) else {
            return;
        };
        let Some(spool) = self.spool.as_mut() else {
            return;
        };
        if spool.first_seq().is_none_or(|first| first > below) {
            return;
        }
        if let Err(e) = spool.consume_through(below) {
            eprintln!(
                "tributary: {}: spool {}: {e}",
                self.name,
                spool.path().display()
            );
        }
    }

    /// Whether the spool holds frames memory has not read yet.
    fn spool_unread(&self) -> bool {
        self.spool
            .as_ref()
            .is_some_and(|spool| unread(spool, last_seq(&self.common.backlog)))
    }

    /// Reads spooled frames into the memory buffer while it has room, and
    /// takes in the recovery report when its turn comes. Only while
    /// connected, and without consuming them: the spool keeps each frame
    /// until it leaves memory delivered ([`SocketHandler::forget_delivered`]),
    /// so a producer killed (or restarted) during an outage loses nothing
    /// the spool held.
    fn refill(&mut self) {
        if self.conn.is_none() {
            return;
        }
        let Some(spool) = self.spool.as_mut() else {
            return;
        };
        let limits = self.common.limits;
        let backlog = &mut self.common.backlog;
        loop {
            let room = limits.records.max(1).saturating_sub(backlog.len());
            let bytes = limits.bytes.saturating_sub(backlog.bytes());
            if room == 0 || bytes == 0 {
                return;
            }
            let after = last_seq(backlog);
            if !unread(spool, after) {
                take_in_reserved(backlog, &mut self.recovery_report);
                return;
            }
            let frames = match spool.read_after(after, bytes.min(BATCH), room) {
                Ok(frames) => frames,
                Err(e) => {
                    eprintln!(
                        "tributary: {}: spool {}: {e}",
                        self.name,
                        spool.path().display()
                    );
                    // Damage is cut out, so the next read goes on; an I/O
                    // error is tried again at the next pump.
                    if matches!(e, SpoolError::Corrupt { .. }) {
                        continue;
                    }
                    return;
                }
            };
            let mut taken = 0;
            for f in frames {
                if self
                    .recovery_report
                    .as_ref()
                    .is_some_and(|(r, _)| *r < f.seq)
                {
                    // The recovery report goes between the frames it
                    // reports and the newer ones.
                    if !take_in_reserved(backlog, &mut self.recovery_report) {
                        break;
                    }
                }
                if !take_in(backlog, f.seq) {
                    break;
                }
                backlog.push_back_unbounded(f.frame);
                taken += 1;
            }
            if taken == 0 {
                return;
            }
        }
    }

    /// In acknowledged mode, how long closing keeps reconnecting and
    /// waiting for acknowledgements before reporting what was not
    /// delivered (default 10 s): logs are not lost at exit just because
    /// the listener was restarting at that moment.
    #[must_use]
    pub fn with_close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
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

    /// Acknowledged delivery whose hello carries `secret`, for a listener
    /// started with `--producer-secret FILE`: give it the file's content
    /// (a listener that requires a secret refuses hellos without it). The
    /// secret is sent on every connection, so use it over TLS or Unix
    /// sockets when others can watch the network; it is never logged.
    #[must_use]
    pub fn with_producer_secret(mut self, secret: impl Into<String>) -> Self {
        let secret = Some(secret.into());
        match &mut self.acks {
            Some(acks) => acks.secret = secret,
            None => {
                let mut acks = Acks::new(None, self.common.write_timeout);
                acks.secret = secret;
                self.acks = Some(acks);
            }
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
                if self.acks.is_some() {
                    // Spooled frames the welcome says are written.
                    self.forget_delivered();
                }
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
            acks.sent_bytes -= backlog.front().map_or(0, <[u8]>::len);
            backlog.pop_front();
            n += 1;
        }
        acks.sent -= n;
        if n > 0 {
            self.forget_delivered();
        }
        Ok(n)
    }

    /// Whether the buffer is at its bounds.
    fn full(&self) -> bool {
        let limits = self.common.limits;
        self.common.backlog.len() >= limits.records.max(1)
            || self.common.backlog.bytes() >= limits.bytes
    }

    /// Whether a new `frame_len`-byte frame finds no place: the memory
    /// buffer is full, or the frame belongs in a spool with no room.
    fn blocked(&self, frame_len: usize) -> bool {
        self.full()
            || self
                .spool
                .as_ref()
                .is_some_and(|s| !s.is_empty() && !s.fits(frame_len))
    }

    /// Acknowledged mode, no place for a new `frame_len`-byte frame while
    /// connected (buffer full, or a full spool ahead of it): waits for the
    /// listener to acknowledge, which frees memory and drains the spool,
    /// rather than dropping records. A listener silent for the whole
    /// timeout is considered gone.
    fn make_room(&mut self, frame_len: usize) {
        let timeout = self.common.write_timeout;
        let mut quiet_since = Instant::now();
        while self.blocked(frame_len) && self.conn.is_some() {
            self.pump_acked(false);
            if !self.blocked(frame_len) {
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
            self.refill();
            if let Err(e) = self.absorb_acks(None) {
                self.disconnect();
                self.common.outage(&self.name, &e);
                if std::mem::replace(&mut broken_once, true) {
                    return;
                }
            }
            let sent = self.acks.as_ref().map_or(0, |a| a.sent);
            // The drop report waits until the spool is drained: the
            // number it would take belongs to the first spooled frame.
            let report_due = self.common.backlog.unreported > 0
                && self.spooled() == 0
                && self.recovery_report.is_none();
            let idle = self.common.backlog.len() == sent && !report_due;
            // Spooled frames are read only once connected.
            if idle && (self.conn.is_some() || !self.spool_unread()) {
                return;
            }
            if !self.ensure_connected(force) {
                return;
            }
            if idle {
                continue;
            }
            if report_due {
                let n = std::mem::take(&mut self.common.backlog.unreported);
                let report = self.common.drop_report(&self.name, n);
                let mut frame = self.common.backlog.buffer();
                if encode_record(&report, &self.common.formatter, &mut frame).is_ok() {
                    self.common.backlog.push_back_unbounded(frame);
                }
                self.keep_drop_count();
            }
            let sent = self.acks.as_ref().map_or(0, |a| a.sent);
            let next = self.common.backlog.first_seq.wrapping_add(sent as u64);
            if self.acks.as_ref().is_some_and(|a| a.next != next) {
                // The numbering jumped: the hello of a new connection says
                // where it stands.
                self.disconnect();
                continue;
            }
            let (data, frames) = self.common.backlog.run(sent, BATCH);
            let (written, error) = write_all(self.conn.as_mut(), data);
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
                acks.next += done as u64;
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
            self.refill();
            let idle = self.common.backlog.is_empty() && self.common.backlog.unreported == 0;
            // Spooled frames are read only once connected.
            if idle && (self.conn.is_some() || !self.spool_unread()) {
                return;
            }
            if !self.ensure_connected(force) {
                return;
            }
            if idle {
                continue;
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
                self.keep_drop_count();
            }
            let (data, _) = self.common.backlog.run(0, BATCH);
            let (written, error) = write_all(self.conn.as_mut(), data);
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
            if done > 0 {
                self.forget_delivered();
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

    /// Buffers one encoded frame (or spools it, or waits for room in
    /// acknowledged mode) and sends once a batch's worth is waiting.
    fn push_frame(&mut self, frame: Vec<u8>) {
        self.refill();
        if self.would_spool() {
            // The spool is for when the listener cannot be reached: try it
            // first (when the retry schedule allows), or a buffer smaller
            // than a batch never sends before closing, and a full spool
            // left by the last run drops new records with the listener up.
            self.pump(false);
        }
        if self.acks.is_some() && self.blocked(frame.len()) {
            self.make_room(frame.len());
        }
        let Some(frame) = self.spool_frame(frame) else {
            self.keep_drop_count();
            return;
        };
        let front = self.common.backlog.first_seq;
        self.common.backlog.push(frame, self.common.limits);
        let dropped = self.common.backlog.first_seq.wrapping_sub(front);
        if dropped > 0 {
            self.keep_drop_count();
        }
        if let Some(acks) = self.acks.as_mut().filter(|_| dropped > 0) {
            // The byte bound dropped frames already sent: they count as
            // lost (reported in-band), and what stays sent is recounted.
            acks.sent = acks
                .sent
                .saturating_sub(usize::try_from(dropped).unwrap_or(usize::MAX));
            acks.sent_bytes = (0..acks.sent)
                .filter_map(|i| self.common.backlog.get(i))
                .map(<[u8]>::len)
                .sum();
        }
        if self.unsent_bytes() >= BATCH {
            self.pump(false);
        }
    }
}

/// The number of the last frame in `backlog`, if any.
fn last_seq(backlog: &Backlog) -> Option<u64> {
    (!backlog.is_empty()).then(|| {
        backlog
            .first_seq
            .wrapping_add(backlog.len() as u64)
            .wrapping_sub(1)
    })
}

/// Whether `spool` holds frames numbered above `after` (any, with `None`).
fn unread(spool: &Spool, after: Option<u64>) -> bool {
    !spool.is_empty() && after.is_none_or(|after| spool.max_seq().is_some_and(|last| last > after))
}

/// Puts the frames in `backlog` into `spool`, in order, as the spool
/// begins. Stops at the first it refuses (full, or an I/O error, which the
/// new frame's push then meets and reports): those stay in memory only,
/// and a close that cannot deliver them counts them as dropped.
fn spool_memory(spool: &mut Spool, backlog: &Backlog) {
    for (i, frame) in backlog.iter().enumerate() {
        let seq = backlog.first_seq.wrapping_add(i as u64);
        if spool.max_seq().is_some_and(|last| seq <= last) {
            continue; // numbered below what the spool had: cannot go in order
        }
        if spool.push(seq, frame).is_err() {
            return;
        }
    }
}

/// Whether the frame numbered `seq` may join the back of `backlog` now,
/// renumbering an empty backlog to start there. A gap (damage cut out of
/// the spool, or a number reserved and never used) waits until the
/// backlog has drained, then the numbering continues from `seq`.
fn take_in(backlog: &mut Backlog, seq: u64) -> bool {
    let expected = backlog.first_seq.wrapping_add(backlog.len() as u64);
    if seq != expected {
        if !backlog.is_empty() {
            return false;
        }
        backlog.first_seq = seq;
    }
    true
}

/// Moves the recovery report into the backlog under its reserved number,
/// when that is the backlog's next; false when it has to wait.
fn take_in_reserved(backlog: &mut Backlog, report: &mut Option<(u64, Vec<u8>)>) -> bool {
    let Some((seq, _)) = report else {
        return true;
    };
    if !take_in(backlog, *seq) {
        return false;
    }
    if let Some((_, frame)) = report.take() {
        backlog.push_back_unbounded(frame);
    }
    true
}

/// Writes `data` (whole frames, straight from the backlog) to `conn`;
/// returns how much went out before an error, if any.
fn write_all(conn: Option<&mut Conn>, data: &[u8]) -> (usize, Option<io::Error>) {
    let Some(conn) = conn else {
        return (0, Some(io::ErrorKind::NotConnected.into()));
    };
    let mut written = 0;
    while written < data.len() {
        match conn.write(&data[written..]) {
            Ok(0) => return (written, Some(io::ErrorKind::WriteZero.into())),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (written, Some(e)),
        }
    }
    (written, None)
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
        self.push_frame(frame);
        Ok(())
    }

    /// Without filters, a queue's producers format records with this
    /// handler's formatter: the dispatcher then only frames and sends
    /// bytes, and each record is built, formatted and freed on the thread
    /// that logged it.
    fn line_formatter(&self) -> Option<Arc<dyn Formatter>> {
        self.common.line_formatter()
    }

    fn handle_formatted(&mut self, line: &[u8]) -> io::Result<()> {
        let json = line.strip_suffix(b"\n").unwrap_or(line);
        if self.acks.is_none() && self.spool.is_none() {
            // Nothing to decide per frame: encode it straight into the
            // backlog, which the next write sends from.
            self.common
                .backlog
                .push_payload(json, self.common.limits)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if self.common.backlog.bytes() >= BATCH {
                self.pump(false);
            }
            return Ok(());
        }
        let mut frame = self.common.backlog.buffer();
        frame::encode(json, &mut frame)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        self.push_frame(frame);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Some(spool) = self.spool.as_mut() {
            spool.commit().map_err(io::Error::other)?;
        }
        self.pump(false);
        Ok(())
    }

    /// Makes one last attempt, ignoring the backoff schedule; reports what
    /// could not be delivered.
    fn close(&mut self) -> io::Result<()> {
        self.pump(true);
        if self.acks.is_some() {
            // Records are delivered only once acknowledged: wait for that,
            // reconnecting if the listener is away, up to the close timeout.
            let deadline = Instant::now() + self.close_timeout;
            while self.has_backlog() {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                let step = left.min(Duration::from_millis(50));
                if self.conn.is_none() {
                    std::thread::sleep(step);
                } else if let Err(e) = self.absorb_acks(Some(step)) {
                    self.disconnect();
                    self.common.outage(&self.name, &e);
                }
                self.pump(false);
            }
        }
        self.disconnect();
        let (kept, lost) = self.spool_leftovers();
        if lost > 0 && self.spool.is_some() {
            // Counted as dropped in the spool: the next run reports them
            // in-band.
            self.common.backlog.unreported += lost as u64;
            self.common.backlog.dropped += lost as u64;
        }
        self.keep_drop_count();
        if let Some(spool) = self.spool.as_mut()
            && let Err(e) = spool.commit()
        {
            eprintln!(
                "tributary: {}: spool {}: {e}",
                self.name,
                spool.path().display()
            );
        }
        let unreported = self.common.backlog.unreported;
        if lost > 0 || unreported > 0 {
            let mut what = if lost > 0 {
                format!("{lost} records could not be delivered before closing")
            } else {
                "records were dropped before closing".to_owned()
            };
            if lost > 0 && self.spool.is_some() {
                what.push_str(" nor spooled (the spool refused them when it began)");
            }
            let mut later = Vec::new();
            if kept > 0 {
                later.push(format!(
                    "{kept} undelivered wait in the spool for the next run"
                ));
            }
            if unreported > 0 {
                later.push(match &self.spool {
                    Some(spool) if spool.unreported_drops() == unreported => format!(
                        "{unreported} dropped records{} are counted in the spool and the next run reports them",
                        if lost > 0 { ", those included," } else { "" }
                    ),
                    _ => format!("{unreported} dropped records were never reported"),
                });
            }
            let later = if later.is_empty() {
                String::new()
            } else {
                format!(" ({})", later.join("; "))
            };
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                format!("{what}{later}"),
            ));
        }
        if kept > 0 {
            eprintln!(
                "tributary: {}: {kept} records wait in the spool; the next run sends them",
                self.name
            );
        }
        Ok(())
    }

    fn has_backlog(&self) -> bool {
        !self.common.backlog.is_empty()
            || self.common.backlog.unreported > 0
            || self.spooled() > 0
            || self.recovery_report.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FileHandler, QueueListener};

    /// Without filters the socket handler lets the producing threads format
    /// (and shares the file handler's formatter); a filter needs whole
    /// records, so the dispatcher formats again.
    #[test]
    fn producers_format_only_when_no_handler_needs_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let file = || FileHandler::append(dir.path().join("out.log")).unwrap();
        let mut q = QueueListener::builder()
            .handler(SocketHandler::tcp("127.0.0.1:9"))
            .handler(file())
            .start()
            .unwrap();
        assert!(q.queue_handler().formats_lines());
        q.stop();
        let mut q = QueueListener::builder()
            .handler(SocketHandler::tcp("127.0.0.1:9").with_filter(crate::filter::when(|_| true)))
            .handler(file())
            .start()
            .unwrap();
        assert!(!q.queue_handler().formats_lines());
        q.stop();
    }
}
