//! Input sockets: binding, and the per-input context the connection and
//! datagram tasks share.

mod accept;
#[cfg(feature = "tls")]
mod cert_names;
pub(crate) mod connections;
mod datagram;
#[cfg(feature = "http")]
pub(crate) mod http;
mod stream;
mod syslog;
mod template;
#[cfg(feature = "tls")]
mod tls;
mod unix_path;

pub(crate) use template::{InputTemplate, Serving, Stop, StopHandle, stop_pair};

pub(crate) use accept::{accept_tcp, accept_unix};
pub(crate) use connections::Connections;
pub(crate) use datagram::{serve_udp, serve_unix_dgram};
pub(crate) use stream::READ_CHUNK;

use crate::ListenerError;
use crate::diag::{Diag, Event};
use crate::passthrough::{self, TsCache};
use crate::pipeline::{Batch, Queue};
use crate::settings::InputSpec;
use crate::stats::InputCounters;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tributary_core::{CompactString, DecodeOptions, Record, decode_payload_into};

/// The kind of an input socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// TCP stream.
    Tcp,
    /// UDP datagrams.
    Udp,
    /// Unix stream socket.
    Unix,
    /// Unix datagram socket.
    UnixDgram,
    /// Syslog over TCP.
    SyslogTcp,
    /// Syslog over UDP.
    SyslogUdp,
    /// Syslog on a Unix datagram socket.
    SyslogUnix,
    /// Syslog on a Unix stream socket.
    SyslogUnixStream,
    /// HTTP (`/log`).
    Http,
}

impl InputKind {
    /// The word used in readiness lines and flags: `tcp`, `udp`, `unix`, `unix-dgram`.
    pub fn name(self) -> &'static str {
        match self {
            InputKind::Tcp => "tcp",
            InputKind::Udp => "udp",
            InputKind::Unix => "unix",
            InputKind::UnixDgram => "unix-dgram",
            InputKind::SyslogTcp => "syslog-tcp",
            InputKind::SyslogUdp => "syslog-udp",
            InputKind::SyslogUnix => "syslog-unix",
            InputKind::SyslogUnixStream => "syslog-unix-stream",
            InputKind::Http => "http",
        }
    }

    /// Whether the input speaks syslog rather than Tributary's frames.
    pub fn is_syslog(self) -> bool {
        matches!(
            self,
            InputKind::SyslogTcp
                | InputKind::SyslogUdp
                | InputKind::SyslogUnix
                | InputKind::SyslogUnixStream
        )
    }

    fn of(spec: &InputSpec) -> InputKind {
        match spec {
            InputSpec::Tcp(_) => InputKind::Tcp,
            InputSpec::Udp(_) => InputKind::Udp,
            InputSpec::Unix(_) => InputKind::Unix,
            InputSpec::UnixDgram(_) => InputKind::UnixDgram,
            InputSpec::SyslogTcp(_) => InputKind::SyslogTcp,
            InputSpec::SyslogUdp(_) => InputKind::SyslogUdp,
            InputSpec::SyslogUnix(_) => InputKind::SyslogUnix,
            InputSpec::SyslogUnixStream(_) => InputKind::SyslogUnixStream,
            InputSpec::Http(_) => InputKind::Http,
        }
    }
}

/// An input socket once bound: its real address (the port the system chose
/// when port 0 was asked) or path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoundInput {
    kind: InputKind,
    addr: Option<SocketAddr>,
    path: Option<PathBuf>,
}

impl BoundInput {
    /// The kind of socket.
    pub fn kind(&self) -> InputKind {
        self.kind
    }

    /// The bound address of a TCP or UDP input.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// The path of a Unix input.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

#[cfg(test)]
impl BoundInput {
    /// A bound input that was never bound, for tests of what is said about it.
    pub(crate) fn for_test(kind: InputKind, addr: Option<SocketAddr>) -> BoundInput {
        BoundInput {
            kind,
            addr,
            path: None,
        }
    }
}

impl fmt::Display for BoundInput {
    /// `tcp 127.0.0.1:9020`, `unix /run/app.sock`: the readiness line
    /// without its leading `listening `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.addr, &self.path) {
            (Some(addr), _) => write!(f, "{} {addr}", self.kind.name()),
            (None, Some(path)) => write!(f, "{} {}", self.kind.name(), path.display()),
            (None, None) => f.write_str(self.kind.name()),
        }
    }
}

/// A bound socket, not yet served.
pub(crate) enum Socket {
    Tcp(tokio::net::TcpListener),
    /// A TCP socket served by the HTTP input (without the `http` feature,
    /// binding one is refused before it gets here).
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    Http(tokio::net::TcpListener),
    Udp(tokio::net::UdpSocket),
    Unix(tokio::net::UnixListener, unix_path::SocketFile),
    UnixDgram(tokio::net::UnixDatagram, unix_path::SocketFile),
}

/// Asks for a large kernel receive buffer on datagram sockets, so bursts
/// wait in the kernel instead of being dropped there, unseen and uncounted.
fn enlarge_receive_buffer(fd: std::os::fd::RawFd) {
    let size: libc::c_int = 4 << 20;
    // SAFETY: fd is an open socket owned by the caller; the option value is
    // a c_int that outlives the call. Failure only leaves the default size.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&raw const size).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Pending connections the kernel queues before `accept` (capped by
/// `net.core.somaxconn`): a fleet reconnecting at once after a listener
/// restart must not see SYNs dropped and retried a second later, as with
/// the usual 128.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds a TCP listener on the first address `addr` resolves to that
/// works, with [`LISTEN_BACKLOG`].
async fn bind_tcp(addr: &str) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{addr} resolves to no address"),
    );
    for sa in tokio::net::lookup_host(addr).await? {
        let socket = if sa.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(sa).and_then(|()| socket.listen(LISTEN_BACKLOG)) {
            Ok(l) => return Ok(l),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Raises a listening socket's backlog to [`LISTEN_BACKLOG`] (listen may be
/// called again on Linux to change it; failure keeps the old one).
fn widen_backlog(fd: std::os::fd::RawFd) {
    // SAFETY: fd is a listening socket owned by the caller.
    unsafe {
        libc::listen(fd, LISTEN_BACKLOG as libc::c_int);
    }
}

/// Binds one input. Must run inside a tokio runtime.
pub(crate) async fn bind(spec: &InputSpec) -> Result<(BoundInput, Socket), ListenerError> {
    use std::os::fd::AsRawFd;
    let fail = |source: std::io::Error| ListenerError::Bind {
        input: spec.to_string(),
        source,
    };
    let kind = InputKind::of(spec);
    Ok(match spec {
        InputSpec::Tcp(addr) | InputSpec::SyslogTcp(addr) | InputSpec::Http(addr) => {
            let l = bind_tcp(addr).await.map_err(fail)?;
            let bound = BoundInput {
                kind,
                addr: Some(l.local_addr().map_err(fail)?),
                path: None,
            };
            match spec {
                InputSpec::Http(_) => (bound, Socket::Http(l)),
                _ => (bound, Socket::Tcp(l)),
            }
        }
        InputSpec::Udp(addr) | InputSpec::SyslogUdp(addr) => {
            let s = tokio::net::UdpSocket::bind(addr.as_str())
                .await
                .map_err(fail)?;
            enlarge_receive_buffer(s.as_raw_fd());
            let bound = BoundInput {
                kind,
                addr: Some(s.local_addr().map_err(fail)?),
                path: None,
            };
            (bound, Socket::Udp(s))
        }
        InputSpec::Unix(path) | InputSpec::SyslogUnixStream(path) => {
            let (l, file) = unix_path::bind_stream(path).map_err(fail)?;
            widen_backlog(l.as_raw_fd());
            l.set_nonblocking(true).map_err(fail)?;
            let l = tokio::net::UnixListener::from_std(l).map_err(fail)?;
            let bound = BoundInput {
                kind,
                addr: None,
                path: Some(path.clone()),
            };
            (bound, Socket::Unix(l, file))
        }
        InputSpec::UnixDgram(path) | InputSpec::SyslogUnix(path) => {
            let (s, file) = unix_path::bind_datagram(path).map_err(fail)?;
            s.set_nonblocking(true).map_err(fail)?;
            enlarge_receive_buffer(s.as_raw_fd());
            let s = tokio::net::UnixDatagram::from_std(s).map_err(fail)?;
            let bound = BoundInput {
                kind,
                addr: None,
                path: Some(path.clone()),
            };
            (bound, Socket::UnixDgram(s, file))
        }
    })
}

/// What every task of one input shares.
pub(crate) struct InputCtx {
    /// `tcp 127.0.0.1:9020`, for messages.
    pub(crate) label: String,
    pub(crate) counters: Arc<InputCounters>,
    pub(crate) queue: Queue,
    pub(crate) diag: Arc<Diag>,
    pub(crate) max_frame: usize,
    pub(crate) idle_timeout: Option<Duration>,
    /// How long a connection may stay open without completing its first
    /// frame or line.
    pub(crate) first_frame_timeout: Option<Duration>,
    /// Every open stream connection, over all inputs (per-peer cap, frame
    /// budget, room for new producers).
    pub(crate) connections: Arc<Connections>,
    pub(crate) drain_timeout: Duration,
    pub(crate) decode: DecodeOptions,
    /// Producers using acknowledged delivery, shared by every input.
    pub(crate) producers: Arc<crate::acks::Producers>,
    /// Whether acknowledgements follow an fsync (`--durable`).
    pub(crate) durable: bool,
    /// What a hello must prove (`producer-ids-from-cert`, `producer-secret`).
    pub(crate) auth: Arc<crate::acks::ProducerAuth>,
    /// How long a started frame or line may take (slow-loris bound).
    pub(crate) frame_timeout: Option<Duration>,
    /// How long a stream connection lets bytes gather after a small read
    /// (`--read-linger`).
    pub(crate) read_linger: Option<Duration>,
    /// On a syslog input, its parser; payloads are syslog messages.
    pub(crate) syslog: Option<tributary_core::syslog::SyslogParser>,
}

/// What [`InputCtx::accept_fast`] did with a payload.
pub(crate) enum Fast {
    /// Written into the batch.
    Written,
    /// Routed to no output: the caller counts it.
    Filtered,
    /// Left for the general decode.
    Decode,
}

/// What a connection (or a datagram socket, or the collector's consumer)
/// keeps between payloads.
#[derive(Default)]
pub(crate) struct PeerState {
    /// Bad payloads so far (only the first few are described).
    pub(crate) reports: u32,
    pub(crate) ts: TsCache,
    /// Where a foreign record's fields are put in order (`reorder`).
    reorder: passthrough::reorder::Scratch,
    /// The record payloads are decoded into, reused so a connection's
    /// records cost no allocation once it is warm.
    pub(crate) record: Record,
    /// The `host` a record without one gets: the address of a peer on
    /// another host (none on loopback, over Unix sockets, or for the
    /// collector, whose records name their host).
    remote_host: Option<(IpAddr, CompactString)>,
}

impl PeerState {
    /// Records without `host` that arrive from `ip` (per connection, or
    /// per datagram) get its address, unless it is loopback: every local
    /// process shares that address, and their records go on as sent.
    pub(crate) fn peer_ip(&mut self, ip: Option<IpAddr>) {
        let ip = ip.and_then(remote_ip);
        if ip != self.remote_host.as_ref().map(|(known, _)| *known) {
            self.remote_host = ip.map(|ip| (ip, ip.to_string().into()));
        }
    }
}

/// The address a peer's records without `host` get, if it is on another
/// host: an IPv4 client of a dual-stack socket (`::ffff:a.b.c.d`) as its
/// IPv4 address, loopback (every local process shares it) as none.
pub(crate) fn remote_ip(ip: IpAddr) -> Option<IpAddr> {
    Some(ip.to_canonical()).filter(|ip| !ip.is_loopback())
}

impl InputCtx {
    /// A batch for the records of a read of about `bytes` bytes.
    pub(crate) fn batch(&self, bytes: usize) -> Batch {
        // Lines are about as long as the payloads they come from.
        Batch::new(self.queue.encoder(), bytes + bytes / 8)
    }

    /// Decodes one payload, routes it and formats it into `batch`; a bad
    /// payload is counted and reported, and costs only itself.
    pub(crate) fn accept(
        &self,
        payload: &[u8],
        peer: &dyn fmt::Display,
        batch: &mut Batch,
        state: &mut PeerState,
    ) {
        match self.accept_fast(payload, batch, state) {
            Fast::Written => return,
            Fast::Filtered => {
                self.filtered(1);
                return;
            }
            Fast::Decode => {}
        }
        match decode_payload_into(payload, self.decode, &mut state.record) {
            Ok(()) => {
                if state.record.host.is_none()
                    && let Some((_, host)) = &state.remote_host
                {
                    state.record.host = Some(host.clone());
                }
                let record = &state.record;
                let mask = batch.encoder().route(record);
                if mask == 0 {
                    self.filtered(1);
                } else {
                    batch.push(record, mask);
                }
            }
            Err(e) => self.malformed(peer, &e, &mut state.reports),
        }
    }

    /// The paths that write a JSON record without decoding it, routed and
    /// formatted as the batch's configuration says: a native record
    /// already in the output's form is written as it is (from a remote
    /// peer, only when it names its host: else it gets the peer's), and
    /// another producer's key order has its values moved into native
    /// order. Every JSON input goes through them first (stream frames
    /// and lines, datagrams, HTTP bodies); what they leave is decoded.
    #[inline]
    pub(crate) fn accept_fast(
        &self,
        payload: &[u8],
        batch: &mut Batch,
        state: &mut PeerState,
    ) -> Fast {
        let canonical = passthrough::check(payload, &mut state.ts);
        if let Some(c) = &canonical
            && (c.has_host || state.remote_host.is_none())
        {
            let mask = batch.encoder().route_parts(c.level_no, c.logger);
            if mask == 0 {
                return Fast::Filtered;
            }
            if batch.encoder().all_native(mask) {
                batch.push_native(payload, mask);
                return Fast::Written;
            }
            Fast::Decode
        } else {
            self.reordered(payload, batch, state)
        }
    }

    /// Another producer's key order (or a canonical record that needs the
    /// peer's host), its values moved into native order. Kept out of line
    /// so the pass-through's path in `accept` stays as short as it was.
    #[inline(never)]
    fn reordered(&self, payload: &[u8], batch: &mut Batch, state: &mut PeerState) -> Fast {
        let Some(f) = passthrough::reorder::parse(payload, &mut state.ts, &mut state.reorder)
        else {
            return Fast::Decode;
        };
        let mask = batch.encoder().route_parts(f.level_no, f.logger);
        if mask == 0 {
            return Fast::Filtered;
        }
        if !batch.encoder().all_native(mask) {
            return Fast::Decode;
        }
        let host = state.remote_host.as_ref().map(|(_, h)| h.as_str());
        batch.push_native_with(mask, |out| f.write(host, out));
        Fast::Written
    }

    /// Counts and reports a bad payload or frame.
    pub(crate) fn malformed(
        &self,
        peer: &dyn fmt::Display,
        what: &dyn fmt::Display,
        reports: &mut u32,
    ) {
        *reports += 1;
        self.emit(crate::diag::input::Malformed {
            peer,
            what,
            nth: *reports,
        });
    }

    /// Counts and reports something that happened to this input.
    pub(crate) fn emit<E: Event<Context = InputCtx>>(&self, event: E) {
        self.diag.emit(self, event);
    }

    /// What a stream connection of this input sends, for messages:
    /// `frame or line`, or a syslog `message`.
    pub(crate) fn unit(&self) -> &'static str {
        if self.syslog.is_some() {
            "message"
        } else {
            "frame or line"
        }
    }

    /// Records were queued.
    pub(crate) fn queued(&self, n: usize) {
        self.counters.records.fetch_add(n as u64, Relaxed);
    }

    /// Records were routed to no output.
    pub(crate) fn filtered(&self, n: u64) {
        self.counters.filtered.fetch_add(n, Relaxed);
    }
}

/// Per connection, only the first few bad payloads are described; the rest
/// are counted and summed up when the connection closes.
pub(crate) const MALFORMED_REPORTS_PER_PEER: u32 = 5;
