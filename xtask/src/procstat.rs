//! CPU time and peak memory of processes and threads, from the kernel's own
//! accounting (`getrusage`, `wait4`, `/proc`), so every system in the bench
//! is measured the same way whatever language it is written in.

use anyhow::{Context, bail};
use std::time::{SystemTime, UNIX_EPOCH};

/// CPU time (user + system) and peak resident memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// User plus system CPU time, in nanoseconds.
    pub cpu_ns: u64,
    /// Peak resident set size, in KiB.
    pub maxrss_kib: u64,
}

fn timeval_ns(tv: libc::timeval) -> u64 {
    (tv.tv_sec as u64).saturating_mul(1_000_000_000) + (tv.tv_usec as u64) * 1_000
}

fn usage_of(ru: &libc::rusage) -> Usage {
    Usage {
        cpu_ns: timeval_ns(ru.ru_utime) + timeval_ns(ru.ru_stime),
        maxrss_kib: ru.ru_maxrss.max(0) as u64,
    }
}

/// This process, all its threads included.
pub fn self_usage() -> Usage {
    // SAFETY: an all-zero rusage is valid, and getrusage only writes into it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer cannot fail.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let mut usage = usage_of(&ru);
    // ru_maxrss carries the parent's size over `exec`; VmHWM does not.
    if let Some(peak) = peak_rss_kib(None) {
        usage.maxrss_kib = peak;
    }
    usage
}

/// Peak resident memory (`VmHWM`, KiB) of process `pid`, or of this
/// process with `None`; `None` once the process is gone.
///
/// Used instead of `ru_maxrss`, which Linux carries over from the parent's
/// memory at `exec`: every child of a large bench process would otherwise
/// report at least the bench's own size.
pub fn peak_rss_kib(pid: Option<u32>) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Follows the peak resident memory of `pid` until it exits (`VmHWM`
/// only grows, so the last reading is the peak).
pub fn watch_peak_rss(pid: u32) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let mut peak = 0;
        while let Some(kib) = peak_rss_kib(Some(pid)) {
            peak = peak.max(kib);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        peak
    })
}

/// CPU time of the calling thread, in nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// Wall-clock time as nanoseconds since the Unix epoch: the one clock all
/// processes (Rust and Python) share, for the start barrier and for the
/// first-emit and last-write times.
pub fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Sleeps until the wall clock reaches `at_ns` (returns at once if it has).
pub fn sleep_until(at_ns: u64) {
    let now = wall_ns();
    if at_ns > now {
        std::thread::sleep(std::time::Duration::from_nanos(at_ns - now));
    }
}

/// CPU time a running process has used so far (all its threads, those
/// that have exited too), to the nanosecond, from the process's CPU-time
/// clock. `/proc/PID/stat` counts in clock ticks (10 ms here): taken at
/// a receiver's readiness it read 0 for the few milliseconds the start
/// had cost, and a scenario of 10,000 records charged them to the
/// records as 0.3 µs each.
pub fn proc_cpu_ns(pid: u32) -> anyhow::Result<u64> {
    let pid = libc::pid_t::try_from(pid).context("process id out of range")?;
    let mut clock: libc::clockid_t = 0;
    // SAFETY: `clock` is a valid place for the clock id.
    let rc = unsafe { libc::clock_getcpuclockid(pid, &mut clock) };
    if rc != 0 {
        bail!(
            "no CPU clock for process {pid}: {}",
            std::io::Error::from_raw_os_error(rc)
        );
    }
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid place for the time.
    if unsafe { libc::clock_gettime(clock, &mut now) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("process {pid} is gone"));
    }
    Ok(now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64)
}

/// Waits for child `pid` and returns its exit code and its usage (the
/// process and every descendant it waited for). Use instead of
/// `Child::wait`, which would reap the child and lose its usage.
pub fn wait_child(pid: u32) -> anyhow::Result<(i32, Usage)> {
    let mut status = 0;
    // SAFETY: as in self_usage.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers; pid is our own child.
        let r = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut ru) };
        if r == pid as libc::pid_t {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            bail!("cannot wait for process {pid}: {e}");
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        -1
    };
    Ok((code, usage_of(&ru)))
}

/// Sends `signal` to process `pid`.
pub fn kill(pid: u32, signal: libc::c_int) {
    // SAFETY: sending a signal has no memory-safety preconditions.
    unsafe { libc::kill(pid as libc::pid_t, signal) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_childs_cpu_and_memory_are_accounted() {
        // A child that burns some CPU and touches 32 MiB.
        // Reaped by wait_child, not Child::wait.
        let pid = std::process::Command::new("python3")
            .args(["-c", "b = bytearray(32 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nsum(range(3_000_000))"])
            .spawn()
            .unwrap()
            .id();
        assert!(proc_cpu_ns(pid).is_ok());
        let (code, usage) = wait_child(pid).unwrap();
        assert_eq!(code, 0);
        assert!(usage.cpu_ns > 0);
        assert!(usage.maxrss_kib > 32 * 1024, "{usage:?}");
        assert!(peak_rss_kib(None).is_some_and(|kib| kib > 0));
        assert!(proc_cpu_ns(pid).is_err());
    }

    #[test]
    fn cpu_time_is_counted_finer_than_a_clock_tick() {
        // Read the count until it has moved 50 times: its smallest step
        // is what it resolves, a whole tick (10 ms) when read from /proc.
        // (The smallest, since other test threads add to the same count.)
        let me = std::process::id();
        let mut last = proc_cpu_ns(me).unwrap();
        let mut smallest = u64::MAX;
        for _ in 0..50 {
            let now = loop {
                let now = proc_cpu_ns(me).unwrap();
                if now != last {
                    break now;
                }
            };
            assert!(now > last);
            smallest = smallest.min(now - last);
            last = now;
        }
        assert!(smallest < 1_000_000, "{smallest} ns");
    }
}
