//! s1's `+admin` variant: a scraper that reads the listener's `/metrics`
//! once a second while the producers run, as Prometheus would, so the
//! bench shows what serving metrics costs ingestion.

use anyhow::{Context, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often `/metrics` is read.
const EVERY: Duration = Duration::from_secs(1);

/// A running scraper; [`Scraper::finish`] stops it.
pub struct Scraper {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<anyhow::Result<u64>>,
}

impl Scraper {
    /// Scrapes `http://{addr}/metrics` at `first_at_ns` (wall clock, the
    /// producers' common start: a run shorter than a second still has a
    /// scrape inside its clock) and then every second.
    pub fn start(addr: String, first_at_ns: u64) -> Scraper {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let wait = first_at_ns.saturating_sub(crate::procstat::wall_ns());
            std::thread::sleep(Duration::from_nanos(wait));
            let mut scrapes = 0;
            while !stopping.load(Ordering::Relaxed) {
                scrape(&addr)?;
                scrapes += 1;
                // Sliced, so the end of a run is not held up for a second.
                for _ in 0..10 {
                    if stopping.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(EVERY / 10);
                }
            }
            Ok(scrapes)
        });
        Scraper { stop, thread }
    }

    /// Stops it; how many scrapes answered 200, or the first that failed.
    pub fn finish(self) -> anyhow::Result<u64> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the metrics scraper panicked"))?
    }
}

/// One `GET /metrics`, its answer read whole.
fn scrape(addr: &str) -> anyhow::Result<()> {
    let mut s = TcpStream::connect(addr).with_context(|| format!("cannot reach {addr}"))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)?;
    if !answer.starts_with(b"HTTP/1.1 200 ") {
        let head = String::from_utf8_lossy(&answer[..answer.len().min(200)]).into_owned();
        bail!("/metrics answered {head:?}");
    }
    Ok(())
}
