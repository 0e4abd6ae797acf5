//! A raw acknowledged client speaking docs/protocol.md by hand (hello,
//! record frames, welcome and acks), for tests that need to control what
//! a producer says: its epoch, the number in its hello, when it drops the
//! connection.

use super::{PATIENCE, rust_record};
use std::io::{Read, Write};
use std::net::TcpStream;
use tributary_core::JsonFormatter;
use tributary_core::frame::handshake::{Hello, Reply};
use tributary_core::frame::{FrameDecoder, encode_record};

/// One acknowledged connection.
pub struct RawClient {
    stream: TcpStream,
    replies: FrameDecoder,
}

/// What the welcome said.
pub struct Welcome {
    /// The first number the listener expects.
    pub next: u64,
    /// Whether acknowledgements follow an fsync.
    pub durable: bool,
}

impl RawClient {
    /// Connects and says hello as `producer` (no epoch), holding records
    /// from `next`; returns the welcome's `next`.
    pub fn connect(addr: &str, producer: &str, next: u64) -> (RawClient, u64) {
        let (c, welcome) = RawClient::hello(addr, producer, "", next);
        (c, welcome.next)
    }

    /// [`connect`](Self::connect) within `epoch`.
    pub fn connect_in_epoch(
        addr: &str,
        producer: &str,
        epoch: &str,
        next: u64,
    ) -> (RawClient, u64) {
        let (c, welcome) = RawClient::hello(addr, producer, epoch, next);
        (c, welcome.next)
    }

    /// Connects and says hello (`epoch` "" for none); the whole welcome.
    pub fn hello(addr: &str, producer: &str, epoch: &str, next: u64) -> (RawClient, Welcome) {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut c = RawClient {
            stream,
            replies: FrameDecoder::new(1 << 16),
        };
        let mut hello = Vec::new();
        Hello {
            producer: producer.into(),
            epoch: epoch.into(),
            next,
            secret: None,
        }
        .encode(&mut hello);
        c.stream.write_all(&hello).unwrap();
        match c.reply() {
            Reply::Welcome { next, durable } => (c, Welcome { next, durable }),
            other => panic!("expected a welcome, got {other:?}"),
        }
    }

    /// The listener's next control frame.
    pub fn reply(&mut self) -> Reply {
        loop {
            if let Some(p) = self.replies.next_frame().unwrap() {
                return Reply::parse(p).unwrap();
            }
            let mut buf = [0u8; 4096];
            let n = self.stream.read(&mut buf).unwrap();
            assert!(n > 0, "the listener closed the connection");
            self.replies.push(&buf[..n]);
        }
    }

    /// Sends [`rust_record`]s `from..to` of `producer` as native frames.
    pub fn send(&mut self, producer: &str, from: u64, to: u64) {
        let f = JsonFormatter::native();
        let mut out = Vec::new();
        for n in from..to {
            encode_record(&rust_record(producer, n), &f, &mut out).unwrap();
        }
        self.stream.write_all(&out).unwrap();
    }

    /// Waits until everything below `next` is acknowledged.
    pub fn wait_acked(&mut self, next: u64) {
        loop {
            match self.reply() {
                Reply::Ack { next: n } if n >= next => return,
                Reply::Ack { .. } => {}
                other => panic!("expected an ack, got {other:?}"),
            }
        }
    }
}
