//! Binding Unix socket paths safely: mode 0600 from the first instant, and
//! a stale socket file replaced only when it is a socket nobody answers on.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
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

/// Fails if `path` is in use or is not a socket; Ok when it is absent or a
/// stale socket that may be replaced.
fn check_existing(path: &Path, kind: Kind) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the path exists and is not a socket; refusing to replace it",
        ));
    }
    let alive = match kind {
        Kind::Stream => UnixStream::connect(path).is_ok(),
        Kind::Datagram => UnixDatagram::unbound()
            .and_then(|s| s.connect(path))
            .is_ok(),
    };
    if alive {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "another process is listening on this socket",
        ));
    }
    Ok(())
}

/// Binds in a fresh 0700 directory next to `path`, sets the socket to 0600,
/// then renames it into place: nobody can connect before the mode is set,
/// and a stale socket is replaced atomically.
fn bind_private<S>(
    path: &Path,
    kind: Kind,
    bind: impl FnOnce(&Path) -> io::Result<S>,
) -> io::Result<(S, SocketFile)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
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
        fs::rename(&staged, path)?;
        let meta = fs::symlink_metadata(path)?;
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
}
