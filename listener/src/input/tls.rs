//! TLS on accepted TCP connections: the handshake runs on the connection's
//! own task, bounded by `tls-handshake-timeout`, and the stream it yields
//! ends the way a TCP stream does.

use super::accept::{Acceptor, Peer};
use crate::tls::ServerTls;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// A TCP listener whose connections must speak TLS.
pub(crate) struct TlsListener {
    listener: TcpListener,
    tls: ServerTls,
}

impl TlsListener {
    pub(crate) fn new(listener: TcpListener, tls: ServerTls) -> TlsListener {
        TlsListener { listener, tls }
    }
}

impl Acceptor for TlsListener {
    type Accepted = TcpStream;
    type Stream = TlsConn;

    async fn next(&self) -> io::Result<(TcpStream, Peer)> {
        self.listener.next().await
    }

    fn open(&self, tcp: TcpStream) -> impl Future<Output = io::Result<TlsConn>> + Send + 'static {
        let acceptor = self.tls.acceptor.clone();
        let limit = self.tls.handshake_timeout;
        let handshake = async move {
            // A producer that was not told the port speaks TLS sends frames
            // or JSON: say so rather than relay rustls's record-layer error.
            let mut first = [0u8; 1];
            if tcp.peek(&mut first).await? == 1 && first[0] != TLS_HANDSHAKE_RECORD {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "not a TLS client (first byte {:#04x}); this port takes TLS only, so configure the producer for TLS",
                        first[0]
                    ),
                ));
            }
            acceptor.accept(tcp).await.map(TlsConn).map_err(explain)
        };
        async move {
            match tokio::time::timeout(limit, handshake).await {
                Ok(r) => r,
                Err(_) => Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no TLS handshake within {:.1}s (tls-handshake-timeout)",
                        limit.as_secs_f64()
                    ),
                )),
            }
        }
    }
}

/// A handshake error with what to check, for the listener's operator.
fn explain(e: io::Error) -> io::Error {
    use rustls::Error;
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return io::Error::new(
            e.kind(),
            "the client closed the connection during the handshake",
        );
    }
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) else {
        return e;
    };
    let hint = match tls {
        Error::NoCertificatesPresented => {
            "the client presented no certificate; this input requires one signed by a CA of tls-client-ca"
        }
        Error::InvalidCertificate(_) => {
            "the client's certificate was refused; it must be valid and signed by a CA of tls-client-ca"
        }
        Error::AlertReceived(_) => {
            "the client refused the handshake; check that it trusts the CA that signed tls-cert and connects by a name tls-cert carries"
        }
        _ => return e,
    };
    io::Error::new(e.kind(), format!("{tls} ({hint})"))
}

/// A served TLS connection. A peer that closes TCP without TLS's
/// `close_notify` (Python's `ssl` sockets do on `close()`) ends the stream
/// like a TCP EOF: frames are length-prefixed, so truncation is seen by the
/// frame decoder anyway.
pub(crate) struct TlsConn(tokio_rustls::server::TlsStream<TcpStream>);

impl AsyncRead for TlsConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.0).poll_read(cx, buf) {
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => Poll::Ready(Ok(())),
            other => other,
        }
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl super::stream::ReadReady for TlsConn {
    /// rustls may hold decrypted bytes the socket no longer shows, so a
    /// TLS connection reads (with its buffer) at once.
    const TELLS: bool = false;
    fn poll_read_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsRawFd for TlsConn {
    /// The TCP socket's: what the kernel has buffered there is ciphertext,
    /// a slight overestimate of the records waiting, which is all a drain
    /// on shutdown needs.
    fn as_raw_fd(&self) -> RawFd {
        self.0.get_ref().0.as_raw_fd()
    }
}
