//! Everything a bench run measured, as written to `--json` and read back by
//! `--compare`.

use crate::oracle::Verdict;
use crate::run::RunFigures;
use serde::{Deserialize, Serialize};

/// The whole run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BenchResults {
    /// Where and when.
    pub meta: Meta,
    /// Criterion micro-benchmarks.
    pub micro: Vec<MicroResult>,
    /// End-to-end cases.
    pub cases: Vec<CaseResult>,
    /// Tributary ÷ alternative.
    pub ratios: Vec<Ratio>,
    /// Scenario s12: reading logs back.
    #[serde(default)]
    pub reads: Vec<crate::read_bench::ReadResult>,
    /// Scenario s10: past one host, through NATS JetStream.
    #[serde(default)]
    pub scale_out: Option<crate::scale_bench::ScaleResult>,
    /// What was skipped and why.
    pub notes: Vec<String>,
}

/// Where and when the figures were taken.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Meta {
    /// `date -u`, RFC 3339.
    pub date: String,
    /// `git rev-parse --short HEAD`, with `-dirty` for uncommitted changes.
    pub commit: String,
    /// CPUs and model.
    pub machine: String,
    /// 1-minute load average when the run started.
    pub load_start: f64,
    /// The same when it ended.
    pub load_end: f64,
    /// `--quick`.
    pub quick: bool,
    /// Runs per case.
    pub runs: usize,
}

/// One criterion benchmark.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MicroResult {
    /// Criterion's id: `group/function/parameter`.
    pub id: String,
    /// Median time per iteration, ns.
    pub median_ns: f64,
    /// Mean time per iteration, ns.
    pub mean_ns: f64,
}

/// One case's figures: medians over its runs, worst-case memory, and the
/// oracle's findings summed over all runs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CaseResult {
    /// `s1` .. `s9`.
    pub scenario: String,
    /// The system.
    pub system: String,
    /// Whether it is Tributary.
    pub tributary: bool,
    /// Producers or threads.
    pub n: usize,
    /// Records per run.
    pub records: u64,
    /// Runs measured.
    pub runs: usize,
    /// Median of the runs.
    pub median: RunFigures,
    /// Every run.
    pub all: Vec<RunFigures>,
    /// Oracle findings over all runs.
    pub verdict: Verdict,
    /// Why the case has no figures, when it failed to run.
    pub error: Option<String>,
}

impl CaseResult {
    /// `s1 tributary tcp n=4`.
    pub fn key(&self) -> String {
        format!("{} {} n={}", self.scenario, self.system, self.n)
    }

    /// Whether every record arrived exactly once in every run.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.verdict.ok()
    }
}

/// A ratio of Tributary to an alternative.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Ratio {
    /// What is compared.
    pub label: String,
    /// Tributary's figure ÷ the alternative's.
    pub value: f64,
    /// Whether a higher value is better (rates) or a lower one (costs).
    pub higher_is_better: bool,
}

fn median_f(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn median_u(v: Vec<u64>) -> u64 {
    median_f(v.into_iter().map(|x| x as f64).collect()) as u64
}

/// Medians of each figure over `runs` (peak memory: the largest).
pub fn aggregate(runs: &[RunFigures]) -> (RunFigures, Verdict) {
    let mut verdict = Verdict::default();
    for r in runs {
        verdict.add(&r.verdict);
    }
    let f = |get: fn(&RunFigures) -> f64| median_f(runs.iter().map(get).collect());
    let u = |get: fn(&RunFigures) -> u64| median_u(runs.iter().map(get).collect());
    let median = RunFigures {
        elapsed_s: f(|r| r.elapsed_s),
        records_per_s: f(|r| r.records_per_s),
        producer_cpu_ns: f(|r| r.producer_cpu_ns),
        receiver_cpu_ns: f(|r| r.receiver_cpu_ns),
        producer_rss_kib: runs.iter().map(|r| r.producer_rss_kib).max().unwrap_or(0),
        receiver_rss_kib: runs.iter().map(|r| r.receiver_rss_kib).max().unwrap_or(0),
        p50_ns: u(|r| r.p50_ns),
        p99_ns: u(|r| r.p99_ns),
        verdict: verdict.clone(),
    };
    (median, verdict)
}

/// The ratios the issues ask for, where both sides were measured.
pub fn ratios(cases: &[CaseResult]) -> Vec<Ratio> {
    let find = |scenario: &str, system: &str, n: usize| {
        cases
            .iter()
            .find(|c| c.scenario == scenario && c.system == system && c.n == n && c.error.is_none())
    };
    let mut out = Vec::new();
    let mut push = |label: String, value: f64, higher_is_better: bool| {
        if value.is_finite() && value > 0.0 {
            out.push(Ratio {
                label,
                value,
                higher_is_better,
            });
        }
    };
    let ns: Vec<usize> = {
        let mut v: Vec<usize> = cases.iter().map(|c| c.n).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    for &n in &ns {
        if let (Some(t), Some(a)) = (
            find("s2", "tributary listener", n),
            find("s3", "cookbook receiver", n),
        ) {
            push(
                format!("s2÷s3 records/s, listener vs cookbook receiver, N={n}"),
                t.median.records_per_s / a.median.records_per_s,
                true,
            );
            push(
                format!("s2÷s3 receiver CPU/record, N={n}"),
                t.median.receiver_cpu_ns / a.median.receiver_cpu_ns,
                false,
            );
        }
        if let (Some(t), Some(a)) = (
            find("s2", "tributary listener, python ack handler", n),
            find("s2", "tributary listener", n),
        ) {
            // Issue 19: the acknowledged handler's call within 1.2x the stdlib's.
            push(
                format!("s2 per-call p50, python ack handler ÷ stdlib SocketHandler, N={n}"),
                t.median.p50_ns as f64 / a.median.p50_ns as f64,
                false,
            );
            push(
                format!("s2 per-call p99, python ack handler ÷ stdlib SocketHandler, N={n}"),
                t.median.p99_ns as f64 / a.median.p99_ns as f64,
                false,
            );
        }
        if let (Some(t), Some(a)) = (
            find("s2", "tributary listener", n),
            find("s4", "QueueHandler+mp.Queue", n),
        ) {
            push(
                format!("s2÷s4 records/s, listener vs QueueHandler+mp.Queue, N={n}"),
                t.median.records_per_s / a.median.records_per_s,
                true,
            );
        }
        if let (Some(t), Some(a)) = (
            find("s11", "tributary syslog-tcp", n),
            find("s11", "rsyslog imtcp", n),
        ) {
            // Issue 15: ≥ 1.5× rsyslog's records/s at ≤ 0.5× its CPU per record.
            push(
                format!(
                    "s11 records/s, tributary --syslog-tcp ÷ rsyslog imtcp, N={n} (target ≥ 1.5)"
                ),
                t.median.records_per_s / a.median.records_per_s,
                true,
            );
            push(
                format!(
                    "s11 receiver CPU/record, tributary --syslog-tcp ÷ rsyslog imtcp, N={n} (target ≤ 0.5)"
                ),
                t.median.receiver_cpu_ns / a.median.receiver_cpu_ns,
                false,
            );
        }
        if let (Some(t), Some(a)) = (find("s1", "tributary tcp", n), find("s7", "rsyslog", n)) {
            push(
                format!("s1÷s7 records/s, listener vs rsyslog, N={n}"),
                t.median.records_per_s / a.median.records_per_s,
                true,
            );
        }
        if let (Some(t), Some(a)) = (
            find("s5", "tributary layer", n),
            find("s5", "tracing-subscriber json", n),
        ) {
            push(
                format!("s5 per-call p50, tributary layer ÷ tracing-subscriber json, T={n}"),
                t.median.p50_ns as f64 / a.median.p50_ns as f64,
                false,
            );
            push(
                format!("s5 per-call p99, T={n}"),
                t.median.p99_ns as f64 / a.median.p99_ns as f64,
                false,
            );
            push(
                format!("s5 events/s, T={n}"),
                t.median.records_per_s / a.median.records_per_s,
                true,
            );
        }
    }
    if let (Some(t), Some(a)) = (
        find("s6", "in-process rotate+gzip", 4),
        find("s6", "log4rs rolling gzip", 4),
    ) {
        push(
            "s6 per-call p99, tributary in-process ÷ log4rs".into(),
            t.median.p99_ns as f64 / a.median.p99_ns as f64,
            false,
        );
        push(
            "s6 records/s, tributary in-process ÷ log4rs".into(),
            t.median.records_per_s / a.median.records_per_s,
            true,
        );
    }
    if let (Some(t), Some(a)) = (
        find("s6", "listener rotate+gzip", 4),
        find("s6", "listener no rotation", 4),
    ) {
        push(
            "s6 records/s, listener with rotation+gzip ÷ without".into(),
            t.median.records_per_s / a.median.records_per_s,
            true,
        );
    }
    if let (Some(d), Some(a)) = (
        find("s9", "listener acked durable", 4),
        find("s9", "listener acked", 4),
    ) {
        push(
            "s9 records/s, acknowledged --durable ÷ acknowledged after write".into(),
            d.median.records_per_s / a.median.records_per_s,
            true,
        );
    }
    if let (Some(t), Some(a)) = (
        find("s1", "tributary tcp", 4),
        find("s8", "write 64 KiB", 4),
    ) {
        push(
            "s1÷s8 records/s, listener (4 producers, TCP) ÷ the write limit".into(),
            t.median.records_per_s / a.median.records_per_s,
            true,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rate: f64, p99: u64, lost: u64) -> RunFigures {
        RunFigures {
            records_per_s: rate,
            p99_ns: p99,
            producer_rss_kib: p99,
            verdict: Verdict {
                expected: 10,
                delivered: 10 - lost,
                lost,
                ..Verdict::default()
            },
            ..RunFigures::default()
        }
    }

    #[test]
    fn medians_peaks_and_summed_losses() {
        let (m, v) = aggregate(&[run(3.0, 9, 0), run(1.0, 5, 2), run(2.0, 7, 0)]);
        assert_eq!((m.records_per_s, m.p99_ns, m.producer_rss_kib), (2.0, 7, 9));
        assert_eq!((v.expected, v.lost, v.ok()), (30, 2, false));
        let (m, _) = aggregate(&[run(1.0, 1, 0), run(2.0, 2, 0)]);
        assert_eq!(m.records_per_s, 1.5);
    }

    #[test]
    fn ratios_pair_tributary_with_its_alternative() {
        let case = |scenario: &str, system: &str, rate: f64| CaseResult {
            scenario: scenario.into(),
            system: system.into(),
            n: 4,
            median: run(rate, 1, 0),
            ..CaseResult::default()
        };
        let r = ratios(&[
            case("s2", "tributary listener", 120_000.0),
            case("s3", "cookbook receiver", 40_000.0),
        ]);
        let rate = r
            .iter()
            .find(|r| r.label.starts_with("s2÷s3 records/s"))
            .unwrap();
        assert_eq!(rate.value, 3.0);
        assert!(rate.higher_is_better);
    }

    #[test]
    fn the_python_ack_handler_call_is_compared_with_the_stdlib_one() {
        let case = |system: &str, p50: u64, p99: u64| CaseResult {
            scenario: "s2".into(),
            system: system.into(),
            n: 1,
            median: RunFigures {
                p50_ns: p50,
                p99_ns: p99,
                ..run(1.0, p99, 0)
            },
            ..CaseResult::default()
        };
        let r = ratios(&[
            case("tributary listener", 10_000, 40_000),
            case("tributary listener, python ack handler", 11_000, 20_000),
        ]);
        let value = |prefix: &str| {
            let found = r.iter().find(|r| r.label.starts_with(prefix)).unwrap();
            assert!(!found.higher_is_better);
            found.value
        };
        assert_eq!(value("s2 per-call p50, python ack handler"), 1.1);
        assert_eq!(value("s2 per-call p99, python ack handler"), 0.5);
    }
}
