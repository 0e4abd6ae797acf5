//! The summary printed at the end: one row per case, the ratios, and the
//! deltas against a previous run (`--compare`).

use crate::results::{BenchResults, CaseResult};
use crate::units::{fmt_kib, fmt_ns, fmt_rate};
use std::fmt::Write as _;

/// Whether to colour: stdout is a terminal, or `CLICOLOR_FORCE` is set.
pub fn use_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none()
        && (std::io::stdout().is_terminal() || std::env::var_os("CLICOLOR_FORCE").is_some())
}

fn red(text: &str, color: bool) -> String {
    if color {
        format!("\x1b[31;1m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// The oracle column: `ok`, or what went wrong.
pub fn verdict_cell(case: &CaseResult) -> String {
    if let Some(e) = &case.error {
        return format!("FAILED: {}", e.lines().next().unwrap_or(""));
    }
    let v = &case.verdict;
    if v.ok() {
        return "ok".into();
    }
    let mut parts = Vec::new();
    for (n, what) in [
        (v.lost, "lost"),
        (v.duplicated, "dup"),
        (v.unparseable, "unparseable"),
        (v.extra, "extra"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    format!("LOSS: {}", parts.join(", "))
}

/// The results table, Markdown-compatible.
pub fn summary(results: &BenchResults, color: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| scen | system | N | records/s | producer CPU/rec | receiver CPU/rec | producer RSS MiB | receiver RSS MiB | call p50 | call p99 | oracle |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for c in &results.cases {
        let m = &c.median;
        let cell = verdict_cell(c);
        let row = if c.error.is_some() {
            format!(
                "| {} | {} | {} | | | | | | | | {cell} |",
                c.scenario, c.system, c.n
            )
        } else {
            format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {cell} |",
                c.scenario,
                c.system,
                c.n,
                fmt_rate(m.records_per_s),
                fmt_ns(m.producer_cpu_ns),
                fmt_ns(m.receiver_cpu_ns),
                fmt_kib(m.producer_rss_kib),
                fmt_kib(m.receiver_rss_kib),
                if m.p50_ns > 0 {
                    fmt_ns(m.p50_ns as f64)
                } else {
                    "-".into()
                },
                if m.p99_ns > 0 {
                    fmt_ns(m.p99_ns as f64)
                } else {
                    "-".into()
                },
            )
        };
        let _ = writeln!(s, "{}", if c.ok() { row } else { red(&row, color) });
    }
    s
}

/// The ratios, one per line.
pub fn ratios(results: &BenchResults) -> String {
    let mut s = String::new();
    for r in &results.ratios {
        let better = if r.higher_is_better {
            "higher is better"
        } else {
            "lower is better"
        };
        let _ = writeln!(s, "  {:<72} {:>6.2}×  ({better})", r.label, r.value);
    }
    s
}

fn delta(old: f64, new: f64) -> String {
    if old <= 0.0 {
        return "new".into();
    }
    format!("{:+.1}%", (new / old - 1.0) * 100.0)
}

/// Each case and micro-benchmark next to the same one in `old`.
pub fn compare(old: &BenchResults, new: &BenchResults) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "compared with {} ({}):", old.meta.commit, old.meta.date);
    let _ = writeln!(
        s,
        "| case | records/s before → now | Δ | call p99 before → now | Δ |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|");
    for c in &new.cases {
        let Some(o) = old.cases.iter().find(|o| o.key() == c.key()) else {
            let _ = writeln!(s, "| {} | (new) | | | |", c.key());
            continue;
        };
        let _ = writeln!(
            s,
            "| {} | {} → {} | {} | {} → {} | {} |",
            c.key(),
            fmt_rate(o.median.records_per_s),
            fmt_rate(c.median.records_per_s),
            delta(o.median.records_per_s, c.median.records_per_s),
            fmt_ns(o.median.p99_ns as f64),
            fmt_ns(c.median.p99_ns as f64),
            delta(o.median.p99_ns as f64, c.median.p99_ns as f64),
        );
    }
    for m in &new.micro {
        if let Some(o) = old.micro.iter().find(|o| o.id == m.id) {
            let _ = writeln!(
                s,
                "| {} | {} → {} | {} | | |",
                m.id,
                fmt_ns(o.median_ns),
                fmt_ns(m.median_ns),
                delta(o.median_ns, m.median_ns)
            );
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::Verdict;

    fn case(lost: u64) -> CaseResult {
        CaseResult {
            scenario: "s3".into(),
            system: "cookbook receiver".into(),
            n: 4,
            verdict: Verdict {
                expected: 10,
                delivered: 10 - lost,
                lost,
                ..Verdict::default()
            },
            ..CaseResult::default()
        }
    }

    #[test]
    fn a_case_with_losses_is_red_and_says_so() {
        let results = BenchResults {
            cases: vec![case(0), case(3)],
            ..BenchResults::default()
        };
        let table = summary(&results, true);
        let rows: Vec<&str> = table.lines().skip(2).collect();
        assert!(!rows[0].contains("\x1b[31") && rows[0].ends_with("| ok |"));
        assert!(rows[1].starts_with("\x1b[31;1m") && rows[1].contains("LOSS: 3 lost"));
        assert!(!summary(&results, false).contains('\x1b'));
    }

    #[test]
    fn compare_shows_deltas() {
        let mut old = BenchResults {
            cases: vec![case(0)],
            ..BenchResults::default()
        };
        old.cases[0].median.records_per_s = 100.0;
        let mut new = old.clone();
        new.cases[0].median.records_per_s = 150.0;
        assert!(compare(&old, &new).contains("+50.0%"));
    }
}
