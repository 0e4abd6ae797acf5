//! Many producers at once, over every transport: Python's stdlib
//! `SocketHandler` (TCP and Unix) and `DatagramHandler` (UDP), and Rust
//! processes logging through tributary-handlers' `QueueHandler` and
//! `SocketHandler`. Every record lands exactly once, with its fields,
//! exception text and logger name, and the text output matches what
//! Python's own `logging.Formatter` makes of the same records.

#![allow(clippy::unwrap_used)] // helpers of tests: a failure should fail the test

mod common;

use common::*;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};

/// Names the producer a re-run of this test binary plays; see
/// [`rust_producer_process`].
const PRODUCER_ENV: &str = "TRIBUTARY_TEST_RUST_PRODUCER";

/// Starts a Rust producer process: this test binary again, running only
/// [`rust_producer_process`], with `tcp ADDR NAME COUNT` in the environment.
fn rust_producer(tcp: &str, name: &str, count: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["rust_producer_process", "--exact", "--ignored", "--quiet"])
        .env(PRODUCER_ENV, format!("tcp {tcp} {name} {count}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The body of a Rust producer process (see [`rust_producer`]): logs
/// `rust_record`s as an application would, through a `QueueHandler` in
/// front of tributary-handlers' `SocketHandler`.
#[test]
#[ignore = "run as a child process by every_record_from_every_producer_lands_exactly_once"]
fn rust_producer_process() {
    use tributary_handlers::QueueListener;
    use tributary_handlers::net::SocketHandler;
    let spec = std::env::var(PRODUCER_ENV).expect("started by rust_producer()");
    let [transport, addr, name, count] = spec.split(' ').collect::<Vec<_>>()[..] else {
        panic!("bad {PRODUCER_ENV}: {spec}");
    };
    assert_eq!(transport, "tcp");
    let mut queue = QueueListener::builder()
        .handler(SocketHandler::tcp(addr))
        .start()
        .unwrap();
    let log = queue.queue_handler();
    for n in 0..count.parse().unwrap() {
        log.log(rust_record(name, n));
    }
    assert!(queue.stop(), "not every record was sent");
}

const PATTERN: &str =
    "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s [%(producer)s] %(message)s";

#[test]
fn every_record_from_every_producer_lands_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("tributary.toml"),
        format!(
            "out = \"all.log\"\n\n[[output]]\nfile = \"py-text.log\"\nloggers = [\"py\"]\npattern = \"{PATTERN}\"\npattern-fields = [\"producer\"]\n"
        ),
    )
    .unwrap();
    let sock = d.join("log.sock");
    let t = Tributary::start(
        d,
        &[
            "--config",
            "tributary.toml",
            "--tcp",
            "127.0.0.1:0",
            "--udp",
            "127.0.0.1:0",
            "--unix",
            sock.to_str().unwrap(),
        ],
    );
    let tcp = t.tcp(0).to_string();
    let udp = t.udp(0).to_string();

    let mut producers: Vec<(String, u64)> = Vec::new();
    let mut children = Vec::new();
    let count = 200;
    let mut py = |name: String, transport: &[&str], extra: &[&str]| {
        let text = d.join(format!("{name}.expected.txt"));
        let mut args = transport.to_vec();
        let count_s = count.to_string();
        args.extend(["--name", &name, "--count", &count_s, "--pattern", PATTERN]);
        args.extend(["--text-out", text.to_str().unwrap()]);
        args.extend(extra);
        children.push((name.clone(), python(&args)));
        producers.push((name, count));
    };
    for i in 0..4 {
        py(format!("tcp{i}"), &["--tcp", &tcp], &[]);
    }
    for i in 0..2 {
        py(format!("unix{i}"), &["--unix", sock.to_str().unwrap()], &[]);
    }
    // Paced, so the kernel's small default buffer rarely overflows; what it
    // drops anyway is counted below (/proc/net/udp), never assumed away.
    py("udp0".into(), &["--udp", &udp], &["--pace", "0.002"]);

    let rust_count = 1000;
    for i in 0..4 {
        let name = format!("rust{i}");
        children.push((name.clone(), rust_producer(&tcp, &name, rust_count)));
        producers.push((name, rust_count));
    }
    for (name, child) in children {
        wait_ok(child, &name);
    }

    let total: u64 = producers.iter().map(|(_, c)| c).sum();
    // Every record but those the kernel dropped before the listener could
    // read them.
    let drops = udp_kernel_drops(t.udp(0));
    wait_for_lines(&d.join("all.log"), (total - drops) as usize);
    assert_eq!(udp_kernel_drops(t.udp(0)), drops);
    let (status, stderr) = t.stop();
    assert!(status.success(), "exit {status:?}\n{stderr}");
    assert_eq!(summary_counter(&stderr, "malformed"), 0, "{stderr}");

    let lines = read_json(&d.join("all.log"));
    let mut seen = tally(&lines);
    // Each datagram the kernel dropped is one record of udp0 missing, and
    // nothing else: the rest must be there exactly once like all others.
    let udp_seen = (0..count)
        .filter(|n| seen.get(&("udp0".to_owned(), *n)) == Some(&1))
        .count() as u64;
    assert_eq!(
        udp_seen + drops,
        count,
        "udp0: {udp_seen} seen, {drops} dropped by the kernel"
    );
    if drops > 0 {
        eprintln!("udp0: the kernel dropped {drops} of {count} datagrams");
        for n in 0..count {
            seen.entry(("udp0".to_owned(), n)).or_insert(1);
        }
    }
    assert_exactly_once(&seen, &producers);

    // Fields, exception text, logger names and levels survive the trip.
    let find = |producer: &str, n: u64| {
        lines
            .iter()
            .find(|l| l["fields"]["producer"] == producer && l["fields"]["n"] == n)
            .unwrap()
            .clone()
    };
    for p in ["tcp0", "unix1", "udp0"] {
        let failed = find(p, 25);
        assert_eq!(failed["logger"], format!("py.{p}"));
        assert_eq!(failed["level"], "ERROR");
        assert_eq!(failed["msg"], format!("record 25 from {p} failed"));
        let exc = failed["exc"].as_str().unwrap();
        assert!(
            exc.starts_with("Traceback (most recent call last):"),
            "{exc}"
        );
        assert!(
            exc.ends_with(&format!("ValueError: failure 25 in {p}")),
            "{exc}"
        );
        assert_eq!(
            failed["fields"]["ctx"]["tags"],
            serde_json::json!(["a", "b"])
        );
        let warning = find(p, 2);
        assert_eq!(
            (warning["level"].as_str(), warning["levelno"].as_u64()),
            (Some("WARNING"), Some(30))
        );
        assert_eq!(warning["process"], "MainProcess");
        assert!(warning.get("exc").is_none());
    }
    // The Rust processes' records, with what their handler stamped.
    let r = find("rust3", 999);
    assert_eq!(
        (r["logger"].as_str(), r["seq"].as_u64()),
        (Some("rust.rust3"), Some(999))
    );
    assert!(
        r["pid"]
            .as_u64()
            .is_some_and(|pid| pid != u64::from(std::process::id()))
    );
    let pids: std::collections::BTreeSet<_> = (0..4)
        .map(|i| find(&format!("rust{i}"), 0)["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 4, "four Rust processes");

    // Text output: the same lines Python's logging.Formatter wrote locally.
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for (p, _) in producers.iter().filter(|(p, _)| !p.starts_with("rust")) {
        for line in std::fs::read_to_string(d.join(format!("{p}.expected.txt")))
            .unwrap()
            .lines()
        {
            *expected.entry(line.to_owned()).or_default() += 1;
        }
    }
    // One line per record (exceptions add their traceback lines).
    let records_text = expected
        .iter()
        .filter(|(l, _)| l.contains("] record "))
        .map(|(_, c)| c)
        .sum::<usize>();
    assert_eq!(records_text, 7 * count as usize, "Python's own text lines");
    let mut got: BTreeMap<String, usize> = BTreeMap::new();
    for line in std::fs::read_to_string(d.join("py-text.log"))
        .unwrap()
        .lines()
    {
        *got.entry(line.to_owned()).or_default() += 1;
    }
    if drops > 0 {
        // Datagrams the kernel dropped never reached the listener: compare
        // the records' own lines, less those of the dropped records
        // (traceback lines are shared between producers and cannot be
        // told apart).
        let dropped: Vec<String> = (0..count)
            .filter(|n| {
                !lines
                    .iter()
                    .any(|l| l["fields"]["producer"] == "udp0" && l["fields"]["n"] == *n)
            })
            .map(|n| format!("[udp0] record {n} from udp0"))
            .collect();
        expected.retain(|l, _| {
            l.contains("] record ") && !dropped.iter().any(|d| l.contains(d.as_str()))
        });
        got.retain(|l, _| l.contains("] record "));
    }
    let missing: Vec<_> = expected
        .iter()
        .filter(|(l, c)| got.get(*l) != Some(c))
        .take(5)
        .collect();
    let extra: Vec<_> = got
        .iter()
        .filter(|(l, c)| expected.get(*l) != Some(c))
        .take(5)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "text differs\nmissing: {missing:#?}\nextra: {extra:#?}"
    );
}
