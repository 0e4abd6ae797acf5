//! Binding Unix socket paths safely: mode 0600 from the first instant, and
//! a stale socket file replaced only when connecting to it is refused.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Removes the socket file on drop, if it is still the one this listener
/// created (another listener may have replaced it since).
#[derive(Debug)]
pub(crate) struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Ok(meta) = fs::symlink_metadata(&self.path)
            && meta.dev() == self.dev
            && meta.ino() == self.ino
        {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Which kind of socket to probe a stale path with.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Stream,
    Datagram,
}

/// A socket file found at the path: its identity, to remove it only if
/// it is still the same file.
struct Stale {
    dev: u64,
    ino: u64,
}

/// What is at `path`: nothing (`None`), or a stale socket that may be
/// replaced. Fails if it is in use, is not a socket, or cannot be probed.
///
/// Only a refused connection (`ECONNREFUSED`: a socket file nobody
/// listens on) means stale. Any other failure — permission denied on
/// another user's live socket, above all — says nothing about whether
/// someone listens, so the file is left alone. The probe does not block:
/// a live listener whose backlog is full answers `EAGAIN`, in use.
fn check_existing(path: &Path, kind: Kind) -> io::Result<Option<Stale>> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the path exists and is not a socket; refusing to replace it",
        ));
    }
    let ty = match kind {
        Kind::Stream => socket2::Type::STREAM,
        Kind::Datagram => socket2::Type::DGRAM,
    };
    let probe = socket2::Socket::new(socket2::Domain::UNIX, ty, None)?;
    probe.set_nonblocking(true)?;
    match probe.connect(&socket2::SockAddr::unix(path)?) {
        Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => Ok(Some(Stale {
            dev: meta.dev(),
            ino: meta.ino(),
        })),
        Ok(()) => Err(in_use()),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(in_use()),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!(
                "cannot tell whether another process listens on this socket ({e}); refusing to replace it (remove it yourself if it is stale)"
            ),
        )),
    }
}

fn in_use() -> io::Error {
    io::Error::new(
        io::ErrorKind::AddrInUse,
        "another process is listening on this socket",
    )
}

/// Puts the socket bound at `staged` in place at `path`. A hard link
/// never replaces anything, so a socket another listener put there since
/// the probe is never clobbered; a stale socket is first moved aside into
/// `private` and removed only if it is still the file that was probed (if
/// another listener swapped in its own in between, it is put back).
fn place(staged: &Path, path: &Path, kind: Kind, private: &Path) -> io::Result<()> {
    for _ in 0..3 {
        match fs::hard_link(staged, path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        let Some(stale) = check_existing(path, kind)? else {
            continue; // gone meanwhile: link again
        };
        let aside = private.join("stale");
        match fs::rename(path, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
        let moved = fs::symlink_metadata(&aside)?;
        if (moved.dev(), moved.ino()) != (stale.dev, stale.ino) {
            let _ = fs::hard_link(&aside, path);
            let _ = fs::remove_file(&aside);
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "another process put a socket at this path while the stale one was being replaced",
            ));
        }
        fs::remove_file(&aside)?;
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        "the path keeps changing: another process is binding it too",
    ))
}

/// Binds in a fresh 0700 directory next to `path`, sets the socket to 0600,
/// then links it into place: nobody can connect before the mode is set,
/// and only a stale socket is ever replaced.
fn bind_private<S>(
    path: &Path,
    kind: Kind,
    bind: impl FnOnce(&Path) -> io::Result<S>,
) -> io::Result<(S, SocketFile)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // Fails early, before anything is created, on a live socket or
    // another file.
    check_existing(path, kind)?;
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the socket path has no file name",
        )
    })?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let private = parent.join(format!(
        ".tributary-bind-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fs::DirBuilder::new().mode(0o700).create(&private)?;
    let staged = private.join(name);
    let result = (|| {
        let socket = bind(&staged)?;
        fs::set_permissions(&staged, fs::Permissions::from_mode(0o600))?;
        let meta = fs::symlink_metadata(&staged)?;
        place(&staged, path, kind, &private)?;
        Ok((
            socket,
            SocketFile {
                path: path.to_owned(),
                dev: meta.dev(),
                ino: meta.ino(),
            },
        ))
    })();
    let _ = fs::remove_file(&staged);
    let _ = fs::remove_dir(&private);
    result
}

/// A listening Unix stream socket at `path`, mode 0600.
pub(crate) fn bind_stream(path: &Path) -> io::Result<(UnixListener, SocketFile)> {
    bind_private(path, Kind::Stream, |p| UnixListener::bind(p))
}

/// A Unix datagram socket at `path`, mode 0600.
pub(crate) fn bind_datagram(path: &Path) -> io::Result<(UnixDatagram, SocketFile)> {
    bind_private(path, Kind::Datagram, |p| UnixDatagram::bind(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    #[test]
    fn socket_is_private_and_removed_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let (listener, file) = bind_stream(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        UnixStream::connect(&path).unwrap();
        // Only the socket is left in the directory: the staging dir is gone.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        drop(listener);
        drop(file);
        assert!(!path.exists());
    }

    #[test]
    fn stale_socket_is_replaced_live_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let live = UnixListener::bind(&path).unwrap();
        let e = bind_stream(&path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        drop(live); // the file stays: a stale socket
        assert!(path.exists());
        let (_l, _f) = bind_stream(&path).unwrap();
        UnixStream::connect(&path).unwrap();

        let dgram = dir.path().join("d.sock");
        let live = UnixDatagram::bind(&dgram).unwrap();
        assert_eq!(
            bind_datagram(&dgram).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
        drop(live);
        let (_d, _f) = bind_datagram(&dgram).unwrap();
    }

    #[test]
    fn regular_file_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("important.txt");
        fs::write(&path, "data").unwrap();
        let e = bind_stream(&path).unwrap_err();
        assert!(e.to_string().contains("not a socket"), "{e}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "data");
    }

    #[test]
    fn a_live_listener_with_a_full_backlog_is_in_use_not_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("busy.sock");
        let live =
            socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
        let addr = socket2::SockAddr::unix(&path).unwrap();
        live.bind(&addr).unwrap();
        live.listen(0).unwrap();
        let before = fs::symlink_metadata(&path).unwrap().ino();
        // Fill the backlog: the next connection would wait (or EAGAIN).
        let mut waiting = Vec::new();
        loop {
            let s =
                socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
            s.set_nonblocking(true).unwrap();
            let full = s.connect(&addr).is_err();
            waiting.push(s);
            if full {
                break;
            }
            assert!(waiting.len() < 64, "the backlog never filled");
        }
        let e = bind_stream(&path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
        assert_eq!(fs::symlink_metadata(&path).unwrap().ino(), before);
        drop(live);
    }

    #[test]
    fn a_socket_another_listener_put_in_place_meanwhile_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let private = dir.path().join("private");
        fs::create_dir(&private).unwrap();
        let staged = private.join("s.sock");
        let _ours = UnixListener::bind(&staged).unwrap();
        // Another listener won the race: its live socket is at the path.
        let theirs = UnixListener::bind(&path).unwrap();
        let e = place(&staged, &path, Kind::Stream, &private).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
        drop(UnixStream::connect(&path).unwrap());
        assert!(theirs.accept().is_ok(), "their socket is still in place");
        // A stale one is moved aside and replaced.
        drop(theirs);
        place(&staged, &path, Kind::Stream, &private).unwrap();
        UnixStream::connect(&path).unwrap();
        assert!(!private.join("stale").exists());
    }
}
