//! A listener whose writer stalls at a file size limit (as on a full
//! disk), for the full-disk tests and the HTTP and OTLP tests of a full
//! queue.

use std::path::Path;
use std::process::{Command, Stdio};

/// Kills the listener when a test fails before stopping it.
pub struct Killed(pub std::process::Child);

impl Killed {
    /// Lifts the file size limit: the stalled writer's retry succeeds.
    pub fn lift_file_limit(&self) {
        let lim = libc::rlimit {
            rlim_cur: libc::RLIM_INFINITY,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: prlimit reads `lim` and writes nothing (old is null).
        let raised = unsafe {
            libc::prlimit(
                self.0.id() as i32,
                libc::RLIMIT_FSIZE,
                &lim,
                std::ptr::null_mut(),
            )
        };
        assert_eq!(raised, 0, "prlimit: {}", std::io::Error::last_os_error());
    }
}

/// Makes every file the child of `cmd` writes stop at `bytes`: a write
/// past it fails with EFBIG, as on a full disk (`RLIMIT_FSIZE`, with
/// `SIGXFSZ` ignored so it does not kill the child).
pub fn limit_file_size(cmd: &mut Command, bytes: u64) {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec only async-signal-safe calls are made
    // (signal and setrlimit through libc), touching no shared memory.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a listener whose output file cannot grow past `fsize` bytes
/// (`RLIMIT_FSIZE`, `SIGXFSZ` ignored): its writer stalls there. Returns
/// the child and the address of its first input, an HTTP one.
pub fn start_with_file_limit(dir: &Path, args: &[&str], fsize: u64) -> (Killed, String) {
    use std::io::BufRead;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tributary"));
    cmd.arg("listen")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    limit_file_size(&mut cmd, fsize);
    let mut child = cmd.spawn().expect("spawn tributary");
    let stdout = child.stdout.take().unwrap();
    let line = std::io::BufReader::new(stdout)
        .lines()
        .next()
        .expect("a readiness line")
        .unwrap();
    let addr = line
        .strip_prefix("listening http ")
        .expect("readiness line");
    (Killed(child), addr.to_owned())
}
