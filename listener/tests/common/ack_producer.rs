//! Acknowledged producers for the fault and scale-out tests: a Rust
//! `SocketHandler::acknowledged()` behind a queue, retrying fast, on a
//! thread of the test or in a process of its own (the test binary run
//! again for one ignored test, so the process can be killed).

use super::{PATIENCE, rust_record};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tributary_handlers::QueueListener;
use tributary_handlers::net::{Backoff, BufferLimits, SocketHandler, SpoolConfig};

/// What a producer process is to do: `ADDR NAME COUNT [KEY=VALUE]...`.
pub const PRODUCER_ENV: &str = "TRIBUTARY_TEST_ACK_PRODUCER";

/// Reconnects every 20 ms at first, at most every 200 ms: a restarted
/// listener is found again at once.
pub fn fast_backoff() -> Backoff {
    Backoff {
        start: Duration::from_millis(20),
        factor: 2.0,
        max: Duration::from_millis(200),
    }
}

/// An acknowledged handler to `addr` as producer `id`, with room for
/// `records` in memory, closing within [`PATIENCE`].
pub fn acked_handler(addr: &str, id: &str, records: usize) -> SocketHandler {
    SocketHandler::tcp(addr)
        .with_producer_id(id)
        .with_backoff(fast_backoff())
        .with_buffer(BufferLimits {
            records,
            bytes: 1 << 30,
        })
        .with_close_timeout(PATIENCE)
}

/// Logs [`rust_record`]s `range` saying `name` through `handler` behind a
/// queue, at most `pace` records per millisecond when given (so the
/// stream spans what the test does meanwhile); `before_last` runs before
/// the last record. Whether every record was acknowledged.
pub fn log_through(
    handler: SocketHandler,
    name: &str,
    range: std::ops::Range<u64>,
    pace: Option<u64>,
    before_last: impl FnOnce(),
) -> bool {
    let mut queue = QueueListener::builder().handler(handler).start().unwrap();
    let log = queue.queue_handler();
    let started = Instant::now();
    let mut before_last = Some(before_last);
    for n in range.clone() {
        if let Some(ms) = pace.and_then(|pace| n.checked_div(pace))
            && let Some(wait) = Duration::from_millis(ms).checked_sub(started.elapsed())
        {
            std::thread::sleep(wait);
        }
        if n + 1 == range.end
            && let Some(f) = before_last.take()
        {
            f();
        }
        log.log(rust_record(name, n));
    }
    queue.stop()
}

/// Starts a producer process: this test binary again, running only its
/// test `ack_producer_process` (which calls [`producer_process`]):
/// `count` records as `name` to `addr`, with `extra` settings
/// `spool=PATH buffer=N pace=N hold=PATH` (buffer: records in memory,
/// default all of them; pace: records per millisecond at most; hold: the
/// last record waits until PATH exists, so the producer is still running
/// when the test needs it to be). Its stderr is piped.
pub fn spawn_ack_producer(addr: &str, name: &str, count: u64, extra: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["ack_producer_process", "--exact", "--ignored", "--quiet"])
        .env(PRODUCER_ENV, format!("{addr} {name} {count} {extra}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The body of a producer process started by [`spawn_ack_producer`].
pub fn producer_process() {
    let spec = std::env::var(PRODUCER_ENV).expect("started by spawn_ack_producer()");
    let words: Vec<&str> = spec.split_whitespace().collect();
    let [addr, name, count, ref extra @ ..] = words[..] else {
        panic!("bad {PRODUCER_ENV}: {spec}");
    };
    let count: u64 = count.parse().unwrap();
    let setting = |key: &str| {
        extra
            .iter()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
    };
    let buffer = setting("buffer").map_or(count as usize + 16, |b| b.parse().unwrap());
    let pace = setting("pace").map(|p| p.parse().unwrap());
    let hold = setting("hold").map(std::path::Path::new);
    let mut handler = acked_handler(addr, name, buffer);
    if let Some(path) = setting("spool") {
        handler = handler.with_spool(SpoolConfig::new(path)).unwrap();
    }
    let held = || {
        let Some(hold) = hold else { return };
        let deadline = Instant::now() + PATIENCE * 2;
        while !hold.exists() {
            assert!(
                Instant::now() < deadline,
                "never released from {}",
                hold.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    assert!(
        log_through(handler, name, 0..count, pace, held),
        "not every record was acknowledged"
    );
}

/// Waits (up to twice [`PATIENCE`]: a slow scale-out run) for a producer
/// process to finish, and fails with its stderr unless it succeeded.
pub fn wait_producer(p: &mut Child, name: &str) {
    let status = super::child::exit_by(p, Instant::now() + PATIENCE * 2)
        .unwrap_or_else(|| panic!("producer {name} did not finish"));
    let mut err = String::new();
    std::io::Read::read_to_string(p.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "producer {name} failed: {err}");
}
