//! The report lines producers and writers print on stdout when they are
//! done, one JSON object per line (`bench/bench_common.py` prints the same).

use serde::{Deserialize, Serialize};

/// What one producer measured about itself.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ProducerReport {
    /// Producer number (the `p<id>` of its messages).
    pub id: usize,
    /// Records it logged.
    pub records: u64,
    /// Wall clock (ns since the epoch) just before its first log call.
    pub first_emit_ns: u64,
    /// Wall clock just after its last log call returned.
    pub last_emit_ns: u64,
    /// CPU time (all its threads) from its first log call to the end of its
    /// flush/close.
    pub cpu_ns: u64,
    /// Peak resident memory of the process, KiB.
    pub maxrss_kib: u64,
    /// Median cost of one log call on the calling thread, ns.
    pub p50_ns: u64,
    /// 99th percentile of the same, ns.
    pub p99_ns: u64,
}

/// What a writer measured about itself, for systems where it is not a
/// separate process the bench can account for (in-process queues, the
/// Python QueueListener in the parent of its producers).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct WriterReport {
    /// CPU time of the writing side, ns.
    pub cpu_ns: u64,
    /// Peak resident memory of the writing process, KiB.
    pub maxrss_kib: u64,
    /// Wall clock when everything was written and flushed.
    pub done_ns: u64,
}

/// One report line.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Report {
    /// A producer's line.
    Producer(ProducerReport),
    /// A writer's line.
    Writer(WriterReport),
}

impl Report {
    /// Prints this report as one line on stdout.
    pub fn print(&self) {
        if let Ok(line) = serde_json::to_string(self) {
            println!("{line}");
        }
    }
}

/// Every report line in `output`; other lines are ignored.
pub fn parse_reports(output: &str) -> Vec<Report> {
    output
        .lines()
        .filter(|l| l.starts_with('{'))
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_report_lines_parse() {
        let out = "noise\n{\"kind\": \"producer\", \"id\": 1, \"records\": 5, \"first_emit_ns\": 10, \"last_emit_ns\": 20, \"cpu_ns\": 3, \"maxrss_kib\": 17680, \"p50_ns\": 16975, \"p99_ns\": 123023}\n{\"kind\": \"writer\", \"cpu_ns\": 5, \"maxrss_kib\": 6, \"done_ns\": 7}\n";
        let r = parse_reports(out);
        assert_eq!(r.len(), 2);
        assert!(matches!(&r[0], Report::Producer(p) if p.id == 1 && p.p99_ns == 123_023));
        assert!(matches!(&r[1], Report::Writer(w) if w.done_ns == 7));
    }
}
