//! `DatagramHandler`: one native frame per UDP or Unix datagram.

use super::truncate::{Fit, encode_fitting};
use super::{Common, common_builders};
use crate::Handler;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::Instant;
use tributary_core::{Level, Record};

/// The default largest datagram: the most a UDP/IPv4 datagram can carry.
pub const DEFAULT_MAX_DATAGRAM: usize = 65_507;

#[derive(Clone, Debug)]
enum Target {
    Udp(String),
    Unix(PathBuf),
}

enum Sock {
    Udp(UdpSocket, SocketAddr),
    Unix(UnixDatagram),
}

/// Sends each record as one datagram holding a native frame (length prefix
/// included, as Python's `DatagramHandler` does).
///
/// A record larger than the maximum datagram size is never silently lost:
/// it is cut to fit, with `truncated: true` and `original_size` fields.
/// When sending fails (no Unix socket bound at the path, a full receive
/// queue, no route), datagrams are buffered and retried with backoff like
/// [`SocketHandler`](super::SocketHandler). UDP cannot tell whether a
/// datagram arrived; use a stream socket when every record matters.
pub struct DatagramHandler {
    target: Target,
    name: String,
    sock: Option<Sock>,
    max_datagram: usize,
    common: Common,
    /// Records that had to be truncated.
    truncated: u64,
}

common_builders!(DatagramHandler);

impl DatagramHandler {
    /// A handler sending to the UDP address `addr` (`host:port`).
    pub fn udp(addr: impl Into<String>) -> DatagramHandler {
        let addr = addr.into();
        DatagramHandler::new(format!("udp {addr}"), Target::Udp(addr))
    }

    /// A handler sending to the Unix datagram socket at `path`.
    pub fn unix(path: impl Into<PathBuf>) -> DatagramHandler {
        let path = path.into();
        DatagramHandler::new(format!("unix-dgram {}", path.display()), Target::Unix(path))
    }

    fn new(name: String, target: Target) -> DatagramHandler {
        DatagramHandler {
            target,
            name,
            sock: None,
            max_datagram: DEFAULT_MAX_DATAGRAM,
            common: Common::new(),
            truncated: 0,
        }
    }

    /// The largest datagram to send, frame header included (default
    /// 65,507). Lower it to the path MTU to avoid IP fragmentation.
    #[must_use]
    pub fn with_max_datagram(mut self, bytes: usize) -> Self {
        self.max_datagram = bytes.max(512);
        self
    }

    /// How many records were cut to fit a datagram.
    pub fn truncated(&self) -> u64 {
        self.truncated
    }

    fn open(&self) -> io::Result<Sock> {
        match &self.target {
            Target::Udp(addr) => {
                let to = addr.to_socket_addrs()?.next().ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::NotFound,
                        format!("{addr} resolves to no address"),
                    )
                })?;
                let local: SocketAddr = if to.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                };
                let s = UdpSocket::bind(local)?;
                s.set_write_timeout(Some(self.common.write_timeout))?;
                Ok(Sock::Udp(s, to))
            }
            Target::Unix(_) => {
                let s = UnixDatagram::unbound()?;
                s.set_write_timeout(Some(self.common.write_timeout))?;
                Ok(Sock::Unix(s))
            }
        }
    }

    fn send_one(&mut self, frame: &[u8]) -> io::Result<()> {
        if self.sock.is_none() {
            self.sock = Some(self.open()?);
        }
        let sent = match (&self.sock, &self.target) {
            (Some(Sock::Udp(s, to)), _) => s.send_to(frame, to),
            (Some(Sock::Unix(s)), Target::Unix(path)) => s.send_to(frame, path),
            _ => Err(io::ErrorKind::NotConnected.into()),
        };
        match sent {
            Ok(n) if n == frame.len() => Ok(()),
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "datagram sent short",
            )),
            Err(e) => {
                // Resolve and open again on the next attempt.
                self.sock = None;
                Err(e)
            }
        }
    }

    fn pump(&mut self, force: bool) {
        loop {
            if self.common.backlog.unreported > 0 {
                let n = std::mem::take(&mut self.common.backlog.unreported);
                let report = self.common.drop_report(&self.name, n);
                let mut frame = self.common.backlog.buffer();
                if encode_fitting(
                    &report,
                    &self.common.formatter,
                    self.max_datagram,
                    &mut frame,
                ) != Fit::Impossible
                {
                    self.common.backlog.push_front(frame);
                }
            }
            let Some(front) = self.common.backlog.front() else {
                return;
            };
            if !force && !self.common.retry.due(Instant::now()) {
                return;
            }
            let frame = front.to_vec();
            match self.send_one(&frame) {
                Ok(()) => {
                    self.common.backlog.pop_front();
                    if self.common.retry.failing() {
                        self.common.retry.succeeded();
                        self.common.recovered(&self.name);
                    }
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
    }
}

impl Handler for DatagramHandler {
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
        match encode_fitting(
            &record,
            &self.common.formatter,
            self.max_datagram,
            &mut frame,
        ) {
            Fit::Whole => {}
            Fit::Truncated => self.truncated += 1,
            Fit::Impossible => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "a record cannot fit in {} bytes even truncated; raise the maximum datagram size",
                        self.max_datagram
                    ),
                ));
            }
        }
        if self.common.backlog.is_empty() && self.common.backlog.unreported == 0 {
            match self.send_one(&frame) {
                Ok(()) => {
                    self.common.backlog.recycle(frame);
                    return Ok(());
                }
                Err(e) => {
                    self.common
                        .retry
                        .failed(&self.common.backoff, Instant::now());
                    self.common.outage(&self.name, &e);
                }
            }
        }
        self.common.backlog.push(frame, self.common.limits);
        self.pump(false);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.pump(false);
        Ok(())
    }

    fn close(&mut self) -> io::Result<()> {
        self.pump(true);
        let left = self.common.backlog.len();
        self.sock = None;
        if left > 0 {
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
