//! A listener whose writer stalls at a file size limit (as on a full
//! disk), for the HTTP and OTLP tests of a full queue.

use std::path::Path;
use std::process::{Command, Stdio};

/// Kills the listener when a test fails before stopping it.
pub struct Killed(pub std::process::Child);

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
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tributary"));
    cmd.arg("listen")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // SAFETY: between fork and exec only async-signal-safe calls are made
    // (signal and setrlimit through libc), touching no shared memory.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: fsize,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
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
