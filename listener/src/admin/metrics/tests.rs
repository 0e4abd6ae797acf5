//! The exposition against the stats line, and its escaping.

use super::*;
use crate::CommitLatencySnapshot;
use crate::stats::{InputSnapshot, OutputSnapshot, StatsSnapshot, WriterSnapshot};
use std::collections::HashMap;

/// Series by (name, sorted labels).
type Series = HashMap<(String, Vec<(String, String)>), f64>;

/// Series of a rendered exposition: (name, sorted labels) → value. A
/// small reader for what [`render`] writes (the integration test reads it
/// with Prometheus' own parser).
fn series(text: &str) -> Series {
    let mut out = HashMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (head, value) = line.rsplit_once(' ').expect("a sample line");
        let (name, labels) = match head.split_once('{') {
            Some((name, rest)) => {
                let rest = rest.strip_suffix('}').expect("labels end with }");
                let mut labels: Vec<(String, String)> = rest
                    .split("\",")
                    .map(|kv| {
                        let (k, v) = kv.split_once("=\"").expect("key=\"value\"");
                        (k.to_owned(), v.trim_end_matches('"').to_owned())
                    })
                    .collect();
                labels.sort();
                (name.to_owned(), labels)
            }
            None => (head.to_owned(), Vec::new()),
        };
        out.insert((name, labels), value.parse().expect("a number"));
    }
    out
}

/// Sum of the series named `name` whose labels include `with`.
fn sum(series: &Series, name: &str, with: &[(&str, &str)]) -> f64 {
    series
        .iter()
        .filter(|((n, labels), _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .map(|(_, v)| v)
        .sum()
}

/// A snapshot in which every counter has its own value (so a metric fed
/// from the wrong counter shows), the writer's totals the sums of its
/// outputs' as the writer keeps them.
fn snapshot() -> StatsSnapshot {
    let input = |label: &str, base: u64| InputSnapshot {
        input: label.to_owned(),
        connections: base + 1,
        active: base + 2,
        rejected: base + 3,
        records: base + 4,
        bytes: base + 5,
        malformed: base + 6 + 7,
        dropped: base + 8,
        filtered: base + 9,
        duplicates: base + 10,
        acknowledged: base + 11,
        lenient: base + 12,
        replaced_utf8: base + 13,
        evicted: base + 14,
        malformed_by: vec![
            ("undecodable", base + 6),
            ("framing", 7),
            ("unfinished", 0),
            ("slow_frame", 0),
            ("hello_refused", 0),
        ],
    };
    let output = |path: &str, base: u64| OutputSnapshot {
        output: path.to_owned(),
        records: base + 1,
        bytes: base + 2,
        rotations: base + 3,
        last_rotation: Some(1_700_000_000 + base),
        write_errors: base + 4,
        stalled: base > 500,
        stalls: base + 5,
        unwritten: base + 6,
    };
    let outputs = vec![output("logs/a.log", 300), output("logs/b\"c.log", 700)];
    let total = |f: fn(&OutputSnapshot) -> u64| outputs.iter().map(f).sum::<u64>();
    StatsSnapshot {
        inputs: vec![
            input("tcp 127.0.0.1:9020", 100),
            input("udp 127.0.0.1:9021", 200),
        ],
        writer: WriterSnapshot {
            records: 1001,
            bytes: total(|o| o.bytes),
            write_errors: total(|o| o.write_errors) + 17,
            queue_depth: 42,
            rotations: total(|o| o.rotations),
            stalled: total(|o| u64::from(o.stalled)),
            stalls: total(|o| o.stalls),
            unwritten: total(|o| o.unwritten),
            queue_bytes: 4242,
            journal_errors: 17,
            journal_failing: true,
            outputs,
            ack_commit: CommitLatencySnapshot::default(),
        },
        reloads_ok: 3,
        reloads_failed: 1,
        last_reload: None,
        forward: None,
    }
}

/// Every `key=value` of the stats line (`Display` of the snapshot) has a
/// metric with that value: the line's sections are split, each key looked
/// up in this table, and a key the table lacks fails the test, so a
/// counter added to the stats line without its metric is caught.
#[test]
fn every_counter_of_the_stats_line_has_a_metric_with_its_value() {
    let snapshot = snapshot();
    let view = View {
        stats: snapshot.clone(),
        ..View::default()
    };
    let series = series(&render(&view));
    let line = snapshot.to_string();
    let mut checked = 0;
    for section in line.split("; ") {
        let (label, counters) = section.split_once(": ").expect("LABEL: counters");
        for pair in counters.split(' ') {
            let (key, value) = pair.split_once('=').expect("key=value");
            let value: f64 = value.parse().expect("a number");
            let metric = if label == "reloads" {
                // Shown once there was a reload (with the reload branch).
                match key {
                    "ok" => sum(&series, "tributary_reloads_total", &[("result", "ok")]),
                    "failed" => sum(&series, "tributary_reloads_total", &[("result", "error")]),
                    other => panic!("the stats line's reload counter {other} has no metric"),
                }
            } else if label == "writer" {
                match key {
                    "records" => sum(&series, "tributary_writer_records_total", &[]),
                    "bytes" => sum(&series, "tributary_written_bytes_total", &[]),
                    "write_errors" => {
                        sum(&series, "tributary_write_errors_total", &[])
                            + sum(&series, "tributary_journal_errors_total", &[])
                    }
                    "queue" => sum(&series, "tributary_queue_records", &[]),
                    "rotations" => sum(&series, "tributary_rotations_total", &[]),
                    "stalled" => sum(&series, "tributary_output_stalled", &[]),
                    "stalls" => sum(&series, "tributary_output_stalls_total", &[]),
                    "unwritten" => sum(&series, "tributary_unwritten_records_total", &[]),
                    other => panic!("the stats line's writer counter {other} has no metric"),
                }
            } else {
                let input = [("input", label)];
                let reason = |r| [("input", label), ("reason", r)];
                match key {
                    "records" => sum(&series, "tributary_received_records_total", &input),
                    "bytes" => sum(&series, "tributary_received_bytes_total", &input),
                    "connections" => sum(&series, "tributary_connections_accepted_total", &input),
                    "active" => sum(&series, "tributary_connections", &input),
                    "rejected" => sum(&series, "tributary_connections_rejected_total", &input),
                    "malformed" => sum(&series, "tributary_malformed_total", &input),
                    "dropped" => sum(
                        &series,
                        "tributary_dropped_records_total",
                        &reason("queue_full"),
                    ),
                    "filtered" => sum(
                        &series,
                        "tributary_dropped_records_total",
                        &reason("filtered"),
                    ),
                    "duplicates" => sum(
                        &series,
                        "tributary_dropped_records_total",
                        &reason("duplicate"),
                    ),
                    "acknowledged" => {
                        sum(&series, "tributary_acknowledged_connections_total", &input)
                    }
                    "lenient" => sum(&series, "tributary_syslog_lenient_total", &input),
                    "replaced_utf8" => sum(&series, "tributary_replaced_utf8_total", &input),
                    "evicted" => sum(&series, "tributary_connections_evicted_total", &input),
                    other => panic!("the stats line's input counter {other} has no metric"),
                }
            };
            assert_eq!(metric, value, "{label}: {key}");
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        line.matches('=').count(),
        "every counter of the line was checked"
    );
    assert!(checked >= 2 * 13 + 8, "{line}");
}

#[test]
fn label_values_are_escaped_and_every_family_is_introduced() {
    let view = View {
        stats: snapshot(),
        ..View::default()
    };
    let text = render(&view);
    assert!(
        text.contains(r#"tributary_written_bytes_total{output="logs/b\"c.log"} 702"#),
        "{text}"
    );
    let mut escaped = String::new();
    escape_label(&mut escaped, "a\\b\"c\nd");
    assert_eq!(escaped, r#"a\\b\"c\nd"#);
    // Every sample's family has HELP and TYPE before it.
    let mut introduced = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            introduced.insert(rest.split(' ').next().unwrap_or("").to_owned());
        } else if !line.starts_with('#') {
            let name = line.split(['{', ' ']).next().unwrap_or("");
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| introduced.contains(*f)))
                .unwrap_or(name);
            assert!(introduced.contains(family), "{name} before its # TYPE");
        }
    }
    assert!(text.contains("tributary_reloads_total{result=\"error\"} 1"));
    assert!(text.contains("tributary_ack_commit_seconds_bucket{le=\"+Inf\"} 0"));
}
