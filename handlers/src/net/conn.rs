//! The stream connection a `SocketHandler` writes to: TCP, TLS over TCP
//! (feature `tls`) or Unix.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// Where a stream handler connects.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    Tcp(String),
    #[cfg(feature = "tls")]
    Tls(Box<super::tls::TlsTarget>),
    Unix(PathBuf),
}

/// An open stream connection.
pub(crate) enum Conn {
    Tcp(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<super::tls_stream::TlsStream>),
    Unix(UnixStream),
}

impl Conn {
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Conn::Tls(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
        }
    }

    /// Reads what the peer sent (acknowledgements), waiting at most the
    /// read timeout set with [`Conn::set_read_timeout`].
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Conn::Tls(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
        }
    }

    /// Bounds how long [`Conn::read`] waits (`None`: forever).
    pub(crate) fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.set_read_timeout(timeout),
            #[cfg(feature = "tls")]
            Conn::Tls(s) => s.set_read_timeout(timeout),
            Conn::Unix(s) => s.set_read_timeout(timeout),
        }
    }

    /// Waits up to `wait` for bytes from the peer (or its EOF) to be
    /// readable; zero only looks.
    pub(crate) fn wait_readable(&self, wait: Duration) -> io::Result<bool> {
        #[cfg(feature = "tls")]
        if let Conn::Tls(s) = self
            && s.has_buffered()
        {
            return Ok(true);
        }
        let mut pfd = libc::pollfd {
            fd: self.fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
        loop {
            // SAFETY: one valid pollfd for the duration of the call.
            let rc = unsafe { libc::poll(&raw mut pfd, 1, ms) };
            if rc >= 0 {
                return Ok(rc > 0);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    pub(crate) fn fd(&self) -> RawFd {
        match self {
            Conn::Tcp(s) => s.as_raw_fd(),
            #[cfg(feature = "tls")]
            Conn::Tls(s) => s.fd(),
            Conn::Unix(s) => s.as_raw_fd(),
        }
    }

    /// Whether the peer has closed (or reset) the connection, checked
    /// without blocking: Python's `SocketHandler` only learns this by
    /// losing the next record. Over TLS this peeks at ciphertext: EOF is
    /// seen when nothing precedes it, and a TLS write first reads what
    /// arrived (an alert, a `close_notify`), so a close is never missed.
    pub(crate) fn peer_closed(&self) -> bool {
        let mut byte = 0u8;
        // SAFETY: valid descriptor and a 1-byte buffer we own.
        let n = unsafe {
            libc::recv(
                self.fd(),
                (&raw mut byte).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        match n {
            0 => true,
            n if n > 0 => false,
            _ => {
                let e = io::Error::last_os_error();
                !matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                )
            }
        }
    }
}

/// Opens a connection to `target`.
pub(crate) fn connect(
    target: &Target,
    connect_timeout: Duration,
    write_timeout: Duration,
) -> io::Result<Conn> {
    let timeout = Some(write_timeout);
    match target {
        Target::Tcp(addr) => Ok(Conn::Tcp(connect_tcp(
            addr,
            connect_timeout,
            write_timeout,
        )?)),
        #[cfg(feature = "tls")]
        Target::Tls(t) => {
            let sock = connect_tcp(&t.addr, connect_timeout, write_timeout)?;
            let stream = super::tls_stream::TlsStream::handshake(t, sock, write_timeout)?;
            Ok(Conn::Tls(Box::new(stream)))
        }
        Target::Unix(path) => {
            let s = UnixStream::connect(path)?;
            s.set_write_timeout(timeout)?;
            Ok(Conn::Unix(s))
        }
    }
}

/// Connects to the first address `addr` resolves to that accepts.
fn connect_tcp(
    addr: &str,
    connect_timeout: Duration,
    write_timeout: Duration,
) -> io::Result<TcpStream> {
    let mut last = io::Error::new(
        io::ErrorKind::NotFound,
        format!("{addr} resolves to no address"),
    );
    for sa in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&sa, connect_timeout) {
            Ok(s) => {
                s.set_nodelay(true)?;
                s.set_write_timeout(Some(write_timeout))?;
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}
