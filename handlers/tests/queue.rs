//! The queue with real threads and real files.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Collect, int, int_after};
use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tributary_core::{Formatter, JsonFormatter, Level, Record};
use tributary_handlers::{FileHandler, Handler, Overflow, QueueListener};

fn record(t: i64, i: i64) -> Record {
    Record::builder(Level::INFO, "m")
        .logger("load")
        .field("t", t)
        .field("i", i)
        .build()
}

#[test]
fn block_policy_delivers_every_record_once_from_8_threads() {
    const THREADS: i64 = 8;
    const EACH: i64 = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.log");
    let listener = QueueListener::builder()
        .capacity(1024)
        .handler(FileHandler::append(&path).unwrap())
        .start()
        .unwrap();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let q = listener.queue_handler();
            s.spawn(move || {
                for i in 0..EACH {
                    q.log(record(t, i));
                }
            });
        }
    });
    let stats = listener.stats();
    drop(listener);
    assert_eq!(stats.dropped, 0);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut seen = vec![vec![false; EACH as usize]; THREADS as usize];
    let mut seqs = Vec::with_capacity((THREADS * EACH) as usize);
    let mut lines = 0;
    for line in text.lines() {
        lines += 1;
        // Lines end with `"seq":N,"fields":{"t":T,"i":I}}`: read them from the end.
        let (t, i, seq) = tail_ints(line);
        assert!(!seen[t as usize][i as usize], "duplicate {t}/{i}");
        seen[t as usize][i as usize] = true;
        seqs.push(seq);
    }
    seqs.sort_unstable();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "duplicate seq");
    assert_eq!(lines, THREADS * EACH);
    assert!(seen.iter().flatten().all(|&s| s));
}

/// A full queue under the block policy holds producers back (no record is
/// dropped or lost) and lets every one of them go on once it drains.
#[test]
fn a_full_queue_blocks_producers_until_it_drains_and_starves_none() {
    // 1: producers wait for an empty queue (half of 1 is 0).
    for capacity in [1, 8] {
        full_queue_blocks_producers(capacity);
    }
}

fn full_queue_blocks_producers(capacity: usize) {
    const THREADS: i64 = 4;
    const EACH: i64 = 2_000;
    let collect = Collect::gated();
    let listener = QueueListener::builder()
        .capacity(capacity)
        .handler(collect.clone())
        .start()
        .unwrap();
    let returned = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (q, returned) = (listener.queue_handler(), returned.clone());
            std::thread::spawn(move || {
                for i in 0..EACH {
                    q.log(record(t, i));
                    returned.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    // Wait until the queue is full: at least `capacity` calls get through
    // before any must wait.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while returned.load(Ordering::SeqCst) < capacity {
        assert!(
            std::time::Instant::now() < deadline,
            "fewer than {capacity} calls returned"
        );
        std::thread::yield_now();
    }
    // The handler holds one record; the queue holds the rest of what went
    // through: every other call waits.
    let through = returned.load(Ordering::SeqCst);
    assert!(
        through <= capacity + 1,
        "{through} calls returned while the handler was stuck"
    );
    assert!(producers.iter().all(|p| !p.is_finished()));
    collect.open_gate();
    for p in producers {
        p.join().unwrap();
    }
    assert!(listener.flush());
    let stats = listener.stats();
    drop(listener);
    assert_eq!((stats.dropped, stats.lost_after_stop), (0, 0));
    let records = collect.taken();
    assert_eq!(records.len() as i64, THREADS * EACH);
    for t in 0..THREADS {
        let order: Vec<i64> = records
            .iter()
            .filter(|r| int(r, "t") == t)
            .map(|r| int(r, "i"))
            .collect();
        assert_eq!(order, (0..EACH).collect::<Vec<_>>(), "thread {t}");
    }
}

/// A stop needs one free slot for its marker, so it can overtake producers
/// asleep for room; their records were logged before the stop and must
/// still be written.
#[test]
fn a_stop_waits_for_the_records_of_producers_asleep_for_room() {
    for _ in 0..5 {
        let collect = Collect::gated();
        let listener = QueueListener::builder()
            .capacity(4)
            .handler(collect.clone())
            .start()
            .unwrap();
        let q = listener.queue_handler();
        // One record held by the stuck handler, the queue full, the rest
        // waiting.
        let producer = std::thread::spawn(move || {
            for i in 0..6 {
                q.log(record(0, i));
            }
        });
        // (flume counts the record handed straight to the idle dispatcher
        // against the capacity until it is taken again.)
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let wait_queued = |q: &tributary_handlers::QueueHandler, n: usize| {
            while q.queued() < n {
                assert!(std::time::Instant::now() < deadline, "{n} never queued");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        };
        let q = listener.queue_handler();
        wait_queued(&q, 3);
        assert!(!producer.is_finished(), "the sixth record must be waiting");
        let stopper = std::thread::spawn(move || {
            let mut listener = listener;
            assert!(listener.stop());
            listener.stats()
        });
        // The stop's marker takes the free slot, ahead of the sleepers.
        wait_queued(&q, 4);
        collect.open_gate();
        producer.join().unwrap();
        let stats = stopper.join().unwrap();
        assert_eq!((stats.dropped, stats.lost_after_stop), (0, 0));
        let order: Vec<i64> = collect.taken().iter().map(|r| int(r, "i")).collect();
        assert_eq!(order, (0..6).collect::<Vec<_>>());
    }
}

/// `(t, i, seq)` from the end of a line `…"seq":N,"fields":{"t":T,"i":I}}`,
/// checking that shape exactly. Byte scans, not char iterators or
/// `format!`: 800,000 lines must check quickly in a debug build.
fn tail_ints(line: &str) -> (u64, u64, u64) {
    fn number(rest: &mut &[u8]) -> u64 {
        let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        assert!(n > 0);
        let value = rest[..n]
            .iter()
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
        *rest = &rest[n..];
        value
    }
    fn expect(rest: &mut &[u8], what: &[u8], line: &str) {
        *rest = rest
            .strip_prefix(what)
            .unwrap_or_else(|| panic!("unexpected line end: {line}"));
    }
    let at = line
        .rfind("\"seq\":")
        .unwrap_or_else(|| panic!("no seq: {line}"));
    let mut rest = &line.as_bytes()[at + 6..];
    let seq = number(&mut rest);
    expect(&mut rest, b",\"fields\":{\"t\":", line);
    let t = number(&mut rest);
    expect(&mut rest, b",\"i\":", line);
    let i = number(&mut rest);
    expect(&mut rest, b"}}", line);
    assert!(rest.is_empty(), "{line}");
    (t, i, seq)
}

fn drop_policy_accounts_for_every_record(policy: Overflow, collect: Collect) {
    const SENT: i64 = 5_000;
    let listener = QueueListener::builder()
        .capacity(64)
        .overflow(policy)
        .handler(collect.clone())
        .start()
        .unwrap();
    let q = listener.queue_handler();
    for i in 0..SENT {
        q.log(record(0, i));
    }
    collect.open_gate();
    assert!(listener.flush());
    let stats = listener.stats();
    drop(listener);
    let records = collect.taken();
    let (reports, delivered): (Vec<_>, Vec<_>) =
        records.iter().partition(|r| r.logger == "tributary.queue");
    let reported: i64 = reports.iter().map(|r| int(r, "dropped")).sum();
    assert!(reported > 0, "the queue of 64 must have overflowed");
    assert_eq!(reported + delivered.len() as i64, SENT, "{policy:?}");
    assert_eq!(stats.dropped, reported as u64);
    assert!(
        reports
            .iter()
            .all(|r| r.level == Level::WARNING && r.msg.contains("records dropped"))
    );
    // Delivered records keep their order.
    let order: Vec<i64> = delivered.iter().map(|r| int(r, "i")).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]));
    if policy == Overflow::DropOldest {
        assert_eq!(
            order.last(),
            Some(&(SENT - 1)),
            "drop-oldest keeps the newest"
        );
    } else {
        assert_eq!(order.first(), Some(&0), "drop-newest keeps the oldest");
    }
}

#[test]
fn drop_newest_reports_every_drop_in_band() {
    drop_policy_accounts_for_every_record(Overflow::DropNewest, Collect::gated());
    drop_policy_accounts_for_every_record(Overflow::DropNewest, Collect::gated().taking_lines());
}

#[test]
fn drop_oldest_reports_every_drop_in_band() {
    drop_policy_accounts_for_every_record(Overflow::DropOldest, Collect::gated());
    drop_policy_accounts_for_every_record(Overflow::DropOldest, Collect::gated().taking_lines());
}

#[test]
fn dropping_the_guard_drains_everything_50_times() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..50 {
        let path = dir.path().join(format!("r{round}.log"));
        let listener = QueueListener::builder()
            .capacity(32)
            .handler(FileHandler::append(&path).unwrap())
            .start()
            .unwrap();
        std::thread::scope(|s| {
            for t in 0..2 {
                let q = listener.queue_handler();
                s.spawn(move || (0..500).for_each(|i| q.log(record(t, i))));
            }
        });
        drop(listener);
        let text = std::fs::read_to_string(&path).unwrap();
        let got: HashSet<(i64, i64)> = text
            .lines()
            .map(|l| (int_after(l, "t").unwrap(), int_after(l, "i").unwrap()))
            .collect();
        assert_eq!(
            (text.lines().count(), got.len()),
            (1000, 1000),
            "round {round}"
        );
    }
}

struct Faulty {
    n: u64,
}

impl Handler for Faulty {
    fn name(&self) -> String {
        "faulty".into()
    }
    fn handle(&mut self, _: &Record) -> io::Result<()> {
        self.n += 1;
        match self.n % 10 {
            0 => panic!("handler bug on record {}", self.n),
            5 => Err(io::Error::other("disk on fire")),
            _ => Ok(()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn panicking_and_failing_handlers_do_not_stop_the_dispatcher() {
    let collect = Collect::default();
    let listener = QueueListener::builder()
        .handler(Faulty { n: 0 })
        .handler(collect.clone())
        .start()
        .unwrap();
    let q = listener.queue_handler();
    for i in 0..1000 {
        q.log(record(0, i));
    }
    assert!(listener.flush());
    let stats = listener.stats();
    drop(listener);
    assert_eq!(collect.taken().len(), 1000);
    assert_eq!((stats.handler_panics, stats.handler_errors), (100, 100));
}

#[test]
fn handler_levels_are_respected_unless_disabled() {
    for respect in [true, false] {
        let errors = Collect {
            level: Some(Level::ERROR),
            ..Collect::default()
        };
        let listener = QueueListener::builder()
            .respect_handler_level(respect)
            .handler(errors.clone())
            .start()
            .unwrap();
        let q = listener.queue_handler();
        for level in [Level::DEBUG, Level::INFO, Level::ERROR, Level::CRITICAL] {
            q.log(Record::new(level, "x", "m"));
        }
        drop(listener);
        let levels: Vec<i32> = errors.taken().iter().map(|r| r.level.no()).collect();
        assert_eq!(
            levels,
            if respect {
                vec![40, 50]
            } else {
                vec![10, 20, 40, 50]
            }
        );
    }
}

#[test]
fn stopping_twice_is_safe_and_late_records_never_block() {
    let collect = Collect::default();
    let mut listener = QueueListener::builder()
        .capacity(1)
        .handler(collect.clone())
        .start()
        .unwrap();
    let q = listener.queue_handler();
    q.log(record(0, 0));
    assert!(listener.stop());
    assert!(listener.stop());
    assert!(!listener.flush());
    for i in 1..10 {
        q.log(record(0, i)); // block policy, capacity 1: must not hang
    }
    assert_eq!(collect.taken().len(), 1);
    assert_eq!(q.stats().lost_after_stop, 9);
}

#[test]
fn records_are_stamped_with_producer_identity() {
    producer_identity(Collect::default());
    producer_identity(Collect::default().taking_lines());
}

fn producer_identity(collect: Collect) {
    let listener = QueueListener::builder()
        .handler(collect.clone())
        .start()
        .unwrap();
    let q = listener.queue_handler();
    std::thread::Builder::new()
        .name("producer-1".into())
        .spawn(move || q.log(Record::new(Level::INFO, "x", "m")))
        .unwrap()
        .join()
        .unwrap();
    drop(listener);
    let r = &collect.taken()[0];
    assert_eq!(r.thread.as_deref(), Some("producer-1"));
    assert_eq!(r.pid, Some(std::process::id()));
    assert!(r.tid.is_some_and(|t| t != u64::from(std::process::id())));
    assert!(r.host.is_some() && r.process.is_some() && r.seq.is_some());
}

#[cfg(feature = "rotation")]
#[test]
fn rotating_handler_behind_the_queue_keeps_every_line_whole() {
    use tributary_handlers::RotatingFileHandler;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rot.log");
    let file = tributary_rotation::RotatingFile::builder(&path)
        .max_bytes(16 * 1024)
        .backup_count(1000)
        .open()
        .unwrap();
    let listener = QueueListener::builder()
        .handler(RotatingFileHandler::rotating(file))
        .start()
        .unwrap();
    let q = listener.queue_handler();
    for i in 0..2000 {
        q.log(record(0, i));
    }
    drop(listener);
    let mut got = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            assert!(line.starts_with('{') && line.ends_with("}}"), "{line}");
            got.push(int_after(line, "i").unwrap());
        }
    }
    got.sort_unstable();
    assert_eq!(got, (0..2000).collect::<Vec<_>>());
    assert!(
        std::fs::read_dir(dir.path()).unwrap().count() > 5,
        "rotated"
    );
}

/// A handler that tells which way records reached it: as records (the
/// dispatcher formats) or as lines (the producer formatted).
#[derive(Clone)]
struct Probe {
    formatter: Option<Arc<dyn Formatter>>,
    got: Arc<Mutex<Vec<String>>>,
}

impl Probe {
    fn new(formatter: Option<Arc<dyn Formatter>>) -> Probe {
        Probe {
            formatter,
            got: Arc::default(),
        }
    }
    fn got(&self) -> Vec<String> {
        self.got.lock().unwrap().clone()
    }
}

impl Handler for Probe {
    fn name(&self) -> String {
        "probe".into()
    }
    fn handle(&mut self, record: &Record) -> io::Result<()> {
        self.got
            .lock()
            .unwrap()
            .push(format!("record {}", record.msg));
        Ok(())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn line_formatter(&self) -> Option<Arc<dyn Formatter>> {
        self.formatter.clone()
    }
    fn handle_formatted(&mut self, line: &[u8]) -> io::Result<()> {
        let text = std::str::from_utf8(line).unwrap();
        assert!(text.ends_with('\n'));
        let msg = int_after(text, "levelno").unwrap();
        self.got.lock().unwrap().push(format!("line {msg}"));
        Ok(())
    }
}

fn probe_paths(handlers: &[&Probe]) {
    let mut builder = QueueListener::builder();
    for h in handlers {
        builder = builder.handler((*h).clone());
    }
    let listener = builder.start().unwrap();
    listener
        .queue_handler()
        .log(Record::new(Level::INFO, "x", "m"));
    drop(listener);
}

#[test]
fn producers_format_only_when_every_handler_takes_the_same_formatter_output() {
    let json: Arc<dyn Formatter> = Arc::new(JsonFormatter::native());
    let other: Arc<dyn Formatter> = Arc::new(JsonFormatter::native());
    let (a, b) = (
        Probe::new(Some(json.clone())),
        Probe::new(Some(json.clone())),
    );
    probe_paths(&[&a, &b]);
    assert_eq!(
        (a.got(), b.got()),
        (vec!["line 20".to_owned()], vec!["line 20".to_owned()])
    );

    let (a, b) = (Probe::new(Some(json.clone())), Probe::new(Some(other)));
    probe_paths(&[&a, &b]);
    assert_eq!(
        (a.got(), b.got()),
        (vec!["record m".to_owned()], vec!["record m".to_owned()])
    );

    let (a, b) = (Probe::new(Some(json)), Probe::new(None));
    probe_paths(&[&a, &b]);
    assert_eq!(
        (a.got(), b.got()),
        (vec!["record m".to_owned()], vec!["record m".to_owned()])
    );
}

#[test]
fn handler_levels_apply_to_lines_formatted_by_producers() {
    let dir = tempfile::tempdir().unwrap();
    for respect in [true, false] {
        let all = dir.path().join(format!("all-{respect}.log"));
        let errors = dir.path().join(format!("errors-{respect}.log"));
        let listener = QueueListener::builder()
            .respect_handler_level(respect)
            .handler(FileHandler::append(&all).unwrap())
            .handler(
                FileHandler::append(&errors)
                    .unwrap()
                    .with_level(Level::ERROR),
            )
            .start()
            .unwrap();
        let q = listener.queue_handler();
        for level in [Level::DEBUG, Level::INFO, Level::ERROR, Level::CRITICAL] {
            q.log(Record::new(level, "x", "m"));
        }
        drop(listener);
        let levels = |p: &std::path::Path| -> Vec<i64> {
            let text = std::fs::read_to_string(p).unwrap();
            text.lines()
                .map(|l| int_after(l, "levelno").unwrap())
                .collect()
        };
        assert_eq!(levels(&all), [10, 20, 40, 50]);
        assert_eq!(
            levels(&errors),
            if respect {
                vec![40, 50]
            } else {
                vec![10, 20, 40, 50]
            }
        );
    }
}

/// Panics on records whose message is `boom`.
struct Fragile;

impl Formatter for Fragile {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        assert_ne!(record.msg, "boom", "formatter bug");
        JsonFormatter::native().format(record, out);
    }
}

#[test]
fn a_formatter_panicking_on_the_producer_thread_is_contained_like_a_handler_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fragile.log");
    let listener = QueueListener::builder()
        .handler(FileHandler::append(&path).unwrap().with_formatter(Fragile))
        .start()
        .unwrap();
    let q = listener.queue_handler();
    for i in 0..10 {
        let msg = if i == 4 {
            "boom".to_owned()
        } else {
            format!("m{i}")
        };
        q.log(Record::new(Level::INFO, "x", msg));
    }
    assert!(listener.flush());
    let stats = listener.stats();
    drop(listener);
    assert_eq!((stats.handler_panics, stats.processed), (1, 10));
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().count(), 9);
    assert!(!text.contains("boom"));
}
