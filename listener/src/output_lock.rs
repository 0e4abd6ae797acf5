//! One listener per output file: an exclusive lock on a small file beside
//! each output, taken before anything else (before the inputs are bound,
//! before recovery cuts an output back to its journaled length). A second
//! `tributary listen` on the same output — a typo in a unit file, a script
//! run twice — stops with a message naming the running one, having touched
//! nothing; without the lock its recovery would cut records the running
//! listener had written and acknowledged.
//!
//! The lock is `flock(2)` on `.NAME.lock` (in the output's directory,
//! after symlinks are resolved), which holds the owner's pid for the
//! message. The kernel drops the lock when its owner exits, even after
//! `kill -9`, so a stale lock file is never a problem.

use crate::ListenerError;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The held locks, by output; each is handed to its output when it opens
/// ([`OutputLocks::take`]) and released when the writer closes it (at
/// exit, or when a reload removed the output). Those never taken are
/// released when this is dropped.
#[derive(Debug, Default)]
pub(crate) struct OutputLocks {
    files: Vec<(PathBuf, File)>,
}

impl OutputLocks {
    /// Locks every output, refusing the same file named twice (by another
    /// path, e.g. `./logs/a.log` and `logs/a.log`).
    pub(crate) fn acquire(outputs: &[PathBuf]) -> Result<OutputLocks, ListenerError> {
        let mut seen: Vec<(PathBuf, &Path)> = Vec::new();
        let mut files = Vec::new();
        for output in outputs {
            let canonical = canonical(output).map_err(|source| ListenerError::Output {
                path: output.clone(),
                source,
            })?;
            if let Some((_, first)) = seen.iter().find(|(c, _)| *c == canonical) {
                return Err(ListenerError::SameOutput {
                    first: first.to_path_buf(),
                    second: output.clone(),
                });
            }
            // A device or a FIFO (`/dev/stdout`) is not a file a journal
            // cuts, and its directory is no place for a lock file.
            let special = std::fs::metadata(&canonical).is_ok_and(|m| !m.file_type().is_file());
            if !special {
                files.push((output.clone(), lock(output, &lock_path(&canonical))?));
            }
            seen.push((canonical, output));
        }
        Ok(OutputLocks { files })
    }

    /// The lock of `output`, for the output to hold while it is open.
    pub(crate) fn take(&mut self, output: &Path) -> Option<File> {
        let i = self.files.iter().position(|(p, _)| p == output)?;
        Some(self.files.swap_remove(i).1)
    }
}

/// The output's absolute path with symlinks resolved as far as it exists
/// (a new file's directory may not exist yet; `..` in the part that does
/// not is taken lexically).
fn canonical(path: &Path) -> io::Result<PathBuf> {
    let absolute = std::path::absolute(path)?;
    if let Ok(real) = absolute.canonicalize() {
        return Ok(real);
    }
    let mut lexical = PathBuf::new();
    for part in absolute.components() {
        match part {
            std::path::Component::ParentDir => {
                lexical.pop();
            }
            std::path::Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    let mut existing = lexical.clone();
    while !existing.exists() && existing.pop() {}
    let rest = lexical
        .strip_prefix(&existing)
        .unwrap_or(&lexical)
        .to_owned();
    let existing = existing.canonicalize().unwrap_or(existing);
    // Not `join("")`, which adds a trailing `/`: `/dev/stdout/` of a
    // pipe (whose target `pipe:[N]` does not resolve) is no FIFO to
    // `metadata`, and two live tails then fought over `/dev/.stdout.lock`.
    Ok(if rest.as_os_str().is_empty() {
        existing
    } else {
        existing.join(rest)
    })
}

/// `.NAME.lock` beside the output.
fn lock_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map_or_else(|| "tributary".into(), |n| n.to_string_lossy().into_owned());
    output.with_file_name(format!(".{name}.lock"))
}

fn lock(output: &Path, path: &Path) -> Result<File, ListenerError> {
    let failed = |source: io::Error| ListenerError::Lock {
        output: output.to_path_buf(),
        lock: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    // Never through a symlink: a planted one must not make the listener
    // write its pid over another file.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(failed)?;
    loop {
        // SAFETY: a valid open descriptor; flock has no memory effects.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            break;
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => {}
            io::ErrorKind::WouldBlock => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(ListenerError::Running {
                    output: output.to_path_buf(),
                    lock: path.to_path_buf(),
                    pid: text.trim().parse().ok(),
                });
            }
            _ => return Err(failed(e)),
        }
    }
    // The pid, for the message a second instance prints.
    let written = file
        .set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| writeln!(file, "{}", std::process::id()));
    written.map_err(failed)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_by_two_paths_is_refused_and_a_held_lock_names_its_owner() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("logs/a.log");
        let again = dir.path().join("logs/./sub/../a.log");
        let err = OutputLocks::acquire(&[a.clone(), again]).unwrap_err();
        assert!(matches!(err, ListenerError::SameOutput { .. }), "{err}");
        let held = OutputLocks::acquire(std::slice::from_ref(&a)).unwrap();
        let err = OutputLocks::acquire(std::slice::from_ref(&a)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())) && text.contains("a.log"),
            "{text}"
        );
        drop(held);
        OutputLocks::acquire(&[a]).unwrap();
        // Devices are not locked (nor is a lock file put beside them).
        let twice = OutputLocks::acquire(&[PathBuf::from("/dev/null")]).unwrap();
        OutputLocks::acquire(&[PathBuf::from("/dev/null")]).unwrap();
        drop(twice);
        assert!(!Path::new("/dev/.null.lock").exists());
    }

    #[test]
    fn a_pipe_is_not_locked_so_two_outputs_to_pipes_run_at_once() {
        // What `tributary collect --out - | grep …` writes to: the
        // standard output is a pipe, whose link target does not resolve.
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two descriptors.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let pipe = PathBuf::from(format!("/proc/self/fd/{}", fds[1]));
        let first = OutputLocks::acquire(std::slice::from_ref(&pipe)).unwrap();
        OutputLocks::acquire(std::slice::from_ref(&pipe)).unwrap();
        assert!(first.files.is_empty());
        // SAFETY: both descriptors are ours and open.
        unsafe {
            libc::close(fds[0]);
            libc::close(fds[1]);
        }
    }
}
