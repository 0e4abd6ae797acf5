//! A blocking TLS client connection for `SocketHandler`: rustls over a TCP
//! socket, with writes that report what reached the kernel and a check for
//! what the listener sent meanwhile (its close, or its refusal of this
//! client's certificate).

use super::tls::TlsTarget;
use rustls::{ClientConnection, StreamOwned};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::io::{AsRawFd, RawFd};
use std::time::Duration;

/// Plaintext per write: one TLS record, so a write either reached the
/// kernel whole or did not count (a record cut short is useless to the
/// listener, and is sent again whole like a cut TCP frame).
const RECORD: usize = 16 * 1024;

/// An open TLS connection; sends `close_notify` when dropped.
pub(crate) struct TlsStream(StreamOwned<ClientConnection, TcpStream>);

impl TlsStream {
    /// Completes the handshake on a connected socket, waiting at most
    /// `timeout` for each read or write of it.
    pub(crate) fn handshake(
        target: &TlsTarget,
        sock: TcpStream,
        timeout: Duration,
    ) -> io::Result<TlsStream> {
        let conn = ClientConnection::new(target.config.clone(), target.server_name.clone())
            .map_err(io::Error::other)?;
        let mut s = StreamOwned::new(conn, sock);
        s.sock.set_read_timeout(Some(timeout))?;
        while s.conn.is_handshaking() {
            if let Err(e) = s.conn.complete_io(&mut s.sock) {
                let e = match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "TLS handshake with {} not done within {timeout:?}",
                            target.addr
                        ),
                    ),
                    kind => io::Error::new(
                        kind,
                        format!("TLS handshake with {} failed: {e}", target.addr),
                    ),
                };
                return Err(e);
            }
        }
        s.sock.set_read_timeout(None)?;
        Ok(TlsStream(s))
    }

    /// Writes up to one record of `buf`; `Ok(n)` only once its ciphertext
    /// is all in the kernel. First takes in what the listener sent, so a
    /// closed or refusing listener fails the write, with its reason.
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.take_incoming()?;
        let s = &mut self.0;
        flush(s)?;
        let n = s.conn.writer().write(&buf[..buf.len().min(RECORD)])?;
        flush(s)?;
        Ok(n)
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }

    pub(crate) fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.sock.set_read_timeout(timeout)
    }

    /// Whether decrypted bytes (or the listener's close) wait in rustls,
    /// where polling the socket cannot see them.
    pub(crate) fn has_buffered(&self) -> bool {
        !self.0.conn.wants_read()
    }

    pub(crate) fn fd(&self) -> RawFd {
        self.0.sock.as_raw_fd()
    }

    /// Reads and processes the TLS records that have arrived, without
    /// waiting; decrypted bytes stay buffered for [`TlsStream::read`].
    fn take_incoming(&mut self) -> io::Result<()> {
        let s = &mut self.0;
        while s.conn.wants_read() {
            match s.conn.read_tls(&mut DontWait(&s.sock)) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the listener closed the connection",
                    ));
                }
                Ok(_) => {
                    let state = s.conn.process_new_packets().map_err(|e| {
                        io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            format!("the listener ended the TLS session: {e}"),
                        )
                    })?;
                    if state.peer_has_closed() {
                        return Err(io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            "the listener closed the TLS session",
                        ));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Drop for TlsStream {
    /// Ends the session the way TLS expects, then waits (at most the write
    /// timeout) for the listener to close its side: bytes it sends after
    /// this end has closed (a session ticket, an acknowledgement) would make
    /// the kernel reset the connection, and a reset discards what the
    /// listener has not read yet. A connection dropped because its writes
    /// stalled is not waited on again.
    fn drop(&mut self) {
        let _ = self.take_incoming();
        let s = &mut self.0;
        if s.conn.wants_write() {
            return;
        }
        s.conn.send_close_notify();
        if flush(s).is_err() || s.sock.shutdown(std::net::Shutdown::Write).is_err() {
            return;
        }
        let wait = s.sock.write_timeout().ok().flatten();
        if s.sock.set_read_timeout(wait).is_err() {
            return;
        }
        let mut unread = [0u8; 4096];
        while matches!(s.sock.read(&mut unread), Ok(n) if n > 0) {}
    }
}

/// Writes all ciphertext rustls holds.
fn flush(s: &mut StreamOwned<ClientConnection, TcpStream>) -> io::Result<()> {
    while s.conn.wants_write() {
        if s.conn.write_tls(&mut s.sock)? == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
    }
    Ok(())
}

/// Reads from a blocking socket without blocking.
struct DontWait<'a>(&'a TcpStream);

fn sys_len(n: isize) -> io::Result<usize> {
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

impl Read for DontWait<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: buf is valid for writes of buf.len() bytes and the
        // descriptor is an open socket borrowed for the call.
        let n = unsafe {
            libc::recv(
                self.0.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        sys_len(n)
    }
}
