//! The producer's side of acknowledged delivery (docs/protocol.md): the
//! hello on each new connection, and the listener's acknowledgements that
//! let the `SocketHandler` forget records only once they are written.

use super::conn::Conn;
use crate::process::process_info;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::time::{Duration, Instant};
use tributary_core::frame::FrameDecoder;
use tributary_core::frame::handshake::{Hello, Reply};

/// Control frames from the listener are tiny; anything bigger is not one.
const MAX_REPLY: usize = 64 * 1024;

/// Acknowledged-delivery state of a `SocketHandler`.
pub(crate) struct Acks {
    /// The producer's name, the listener's key for deduplication.
    pub producer: String,
    /// The numbering's epoch: random per handler (its records live in its
    /// memory), or the spool's when records are spooled (a resumed spool
    /// keeps its numbering).
    pub epoch: String,
    /// The shared secret the hello carries, for a listener started with
    /// `--producer-secret`.
    pub secret: Option<String>,
    /// Frames at the front of the backlog written to the current
    /// connection but not yet acknowledged.
    pub sent: usize,
    /// Bytes of those `sent` frames.
    pub sent_bytes: usize,
    /// The number the listener gives the next frame written to this
    /// connection: frames carry no numbers, so the buffer's numbering must
    /// never jump while connected (a gap cut out of the spool, frames
    /// dropped by the byte bound); when it would, the handler reconnects
    /// and says the right number in the hello.
    pub next: u64,
    /// Whether the listener acknowledges only after fsync.
    pub durable: bool,
    /// How long to wait for the welcome, and for acknowledgements when the
    /// buffer is full, before considering the connection broken.
    pub timeout: Duration,
    replies: FrameDecoder,
}

/// What the listener said after the hello.
pub(crate) struct Welcome {
    /// First sequence number the listener has not written.
    pub next: u64,
}

impl Acks {
    pub(crate) fn new(producer: Option<String>, timeout: Duration) -> Acks {
        Acks {
            producer: producer.unwrap_or_else(default_producer_id),
            epoch: super::epoch::new_epoch(),
            secret: None,
            sent: 0,
            sent_bytes: 0,
            next: 0,
            durable: false,
            timeout,
            replies: FrameDecoder::new(MAX_REPLY),
        }
    }

    /// Forgets what belonged to the previous connection.
    pub(crate) fn reset(&mut self) {
        self.sent = 0;
        self.sent_bytes = 0;
        self.replies = FrameDecoder::new(MAX_REPLY);
    }

    /// Sends the hello naming `next`, the sequence number of the oldest
    /// frame still held, and waits for the welcome.
    pub(crate) fn handshake(&mut self, conn: &mut Conn, next: u64) -> io::Result<Welcome> {
        self.reset();
        let mut hello = Vec::new();
        Hello {
            producer: self.producer.clone(),
            epoch: self.epoch.clone(),
            next,
            secret: self.secret.clone(),
        }
        .encode(&mut hello);
        let mut written = 0;
        while written < hello.len() {
            match conn.write(&hello[written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            if let Some(reply) = self.next_reply()? {
                return match reply {
                    Reply::Welcome { next, durable } => {
                        self.durable = durable;
                        self.next = next;
                        Ok(Welcome { next })
                    }
                    Reply::Refused { reason } => Err(io::Error::new(
                        io::ErrorKind::ConnectionRefused,
                        format!("the listener refused the hello: {reason}"),
                    )),
                    Reply::Ack { .. } => Err(protocol("an ack before the welcome")),
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !self.fill(conn, Some(left))? {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no welcome within {:?}: is the peer a Tributary listener? (acknowledged mode needs one)",
                        self.timeout
                    ),
                ));
            }
        }
    }

    /// Reads the acknowledgements that have arrived, waiting up to `wait`
    /// for the first one (`None`: only what is already there). Returns the
    /// highest `next` acknowledged, if any.
    pub(crate) fn read_acks(
        &mut self,
        conn: &mut Conn,
        wait: Option<Duration>,
    ) -> io::Result<Option<u64>> {
        let mut acked = None;
        let mut wait = wait;
        loop {
            while let Some(reply) = self.next_reply()? {
                match reply {
                    Reply::Ack { next } => acked = acked.max(Some(next)),
                    Reply::Refused { reason } => {
                        return Err(io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            format!("the listener closed the connection: {reason}"),
                        ));
                    }
                    Reply::Welcome { .. } => return Err(protocol("a second welcome")),
                }
            }
            if acked.is_some() {
                wait = None;
            }
            if !self.fill(conn, wait.take())? {
                return Ok(acked);
            }
        }
    }

    fn next_reply(&mut self) -> io::Result<Option<Reply>> {
        match self.replies.next_frame() {
            Ok(Some(payload)) => Reply::parse(payload)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
            Ok(None) => Ok(None),
            Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
    }

    /// Reads what is available (waiting up to `wait` for it); false when
    /// nothing came. EOF is an error: the listener closed the connection.
    fn fill(&mut self, conn: &mut Conn, wait: Option<Duration>) -> io::Result<bool> {
        if !conn.wait_readable(wait.unwrap_or(Duration::ZERO))? {
            return Ok(false);
        }
        let mut buf = [0u8; 4096];
        conn.set_read_timeout(Some(self.timeout))?;
        let n = loop {
            match conn.read(&mut buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the listener closed the connection",
            ));
        }
        self.replies.push(&buf[..n]);
        Ok(true)
    }
}

fn protocol(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("protocol error: the listener sent {what}"),
    )
}

/// `host/pid/random`: unique per handler, so two handlers of one process
/// (or a restarted process reusing a pid) never share a deduplication key.
fn default_producer_id() -> String {
    let info = process_info();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_usize(&raw const info as usize);
    format!("{}/{}/{:016x}", info.host, info.pid, h.finish())
}
