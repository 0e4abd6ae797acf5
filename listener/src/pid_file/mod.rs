//! `--pid-file`: the listener's pid, for supervisors and scripts that
//! signal it (`kill -HUP $(cat FILE)` to reload). Written once every input
//! is bound, so a process that reads it finds a listener able to take
//! signals; removed when the listener is dropped, if it still holds this
//! process's pid. A file naming a running process is refused: another
//! listener (or something else) owns it.

use crate::ListenerError;
use std::io;
use std::path::{Path, PathBuf};

/// The written pid file; removed on drop.
#[derive(Debug)]
pub(crate) struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    /// Writes this process's pid to `path` (through a temporary file
    /// renamed over it, so a reader never sees it half-written).
    pub(crate) fn create(path: &Path) -> Result<PidFile, ListenerError> {
        let pid = std::process::id();
        let fail = |source: io::Error| ListenerError::PidFile {
            path: path.to_owned(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                if let Ok(other) = text.trim().parse::<i32>()
                    && other > 0
                    && other as u32 != pid
                    && running(other)
                {
                    return Err(ListenerError::PidFileHeld {
                        path: path.to_owned(),
                        pid: other,
                    });
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(e)),
        }
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".{pid}.tmp"));
        let tmp = PathBuf::from(tmp);
        std::fs::write(&tmp, format!("{pid}\n"))
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                fail(e)
            })?;
        Ok(PidFile {
            path: path.to_owned(),
            pid,
        })
    }
}

/// Whether a process with this pid exists (one we may not signal exists
/// too).
fn running(pid: i32) -> bool {
    // SAFETY: signal 0 sends nothing; it only checks the pid.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Only ours: a listener started after this one may have taken it.
        let ours = std::fs::read_to_string(&self.path)
            .is_ok_and(|t| t.trim().parse::<u32>() == Ok(self.pid));
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_removed_and_refused_while_its_process_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.pid");
        let file = PidFile::create(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        drop(file);
        assert!(!path.exists(), "removed on drop");
        // A running process (pid 1 always runs) holds it: refused.
        std::fs::write(&path, "1\n").unwrap();
        let e = PidFile::create(&path).unwrap_err().to_string();
        assert!(e.contains("names process 1, which is running"), "{e}");
        // A stale file (no such process) is taken over.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        std::fs::write(&path, format!("{gone}\n")).unwrap();
        let file = PidFile::create(&path).unwrap();
        drop(file);
        assert!(!path.exists());
    }
}
