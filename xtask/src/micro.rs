//! The criterion micro-benchmarks of every crate: run through `cargo bench`
//! and read back from criterion's `estimates.json` files.

use crate::results::MicroResult;
use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::Path;
use std::process::Command;
use std::time::SystemTime;

/// Criterion settings short enough for the whole bench to fit in 15 minutes.
const CRITERION_ARGS: [&str; 5] = ["--warm-up-time", "1", "--measurement-time", "2", "--noplot"];

/// Runs every bench target of the workspace (those whose id matches
/// `filter`, if given) and returns their medians and means.
pub fn run(
    cargo: &str,
    root: &Path,
    target_dir: &Path,
    filter: Option<&str>,
) -> anyhow::Result<Vec<MicroResult>> {
    let started = SystemTime::now();
    let mut cmd = Command::new(cargo);
    // `--bench '*'` selects the bench targets only: `--benches` would also
    // build every library's unit tests as a bench harness.
    cmd.current_dir(root)
        .args(["bench", "--workspace", "--bench", "*", "--"])
        .args(CRITERION_ARGS);
    if let Some(f) = filter {
        cmd.arg(crate::filter::criterion_regex(f));
    }
    // Criterion's own report goes to our stdout; the figures are read back
    // from its files.
    let status = cmd.status().context("cannot run cargo bench")?;
    if !status.success() {
        bail!("cargo bench failed ({status})");
    }
    let mut results = Vec::new();
    collect(&target_dir.join("criterion"), started, &mut results);
    results.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(results)
}

#[derive(Deserialize)]
struct Estimate {
    point_estimate: f64,
}

#[derive(Deserialize)]
struct Estimates {
    mean: Estimate,
    median: Estimate,
}

#[derive(Deserialize)]
struct Benchmark {
    full_id: String,
}

/// Every `new/estimates.json` under `dir` written since `since`.
fn collect(dir: &Path, since: SystemTime, out: &mut Vec<MicroResult>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            if let Some(r) = read_one(&path, since) {
                out.push(r);
            }
        } else if path
            .file_name()
            .is_none_or(|n| n != "base" && n != "report" && n != "change")
        {
            collect(&path, since, out);
        }
    }
}

fn read_one(new_dir: &Path, since: SystemTime) -> Option<MicroResult> {
    let estimates = new_dir.join("estimates.json");
    let fresh = std::fs::metadata(&estimates)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= since);
    if !fresh {
        return None;
    }
    let e: Estimates = serde_json::from_slice(&std::fs::read(&estimates).ok()?).ok()?;
    let b: Benchmark =
        serde_json::from_slice(&std::fs::read(new_dir.join("benchmark.json")).ok()?).ok()?;
    Some(MicroResult {
        id: b.full_id,
        median_ns: e.median.point_estimate,
        mean_ns: e.mean.point_estimate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_criterion_files_are_read_and_stale_ones_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let write = |group: &str, id: &str, median: f64| {
            let new = dir.path().join(group).join("new");
            std::fs::create_dir_all(&new).unwrap();
            std::fs::write(
                new.join("benchmark.json"),
                format!(r#"{{"group_id":"{group}","full_id":"{id}"}}"#),
            )
            .unwrap();
            let est = format!(
                r#"{{"mean":{{"point_estimate":{}}},"median":{{"point_estimate":{median}}}}}"#,
                median + 1.0
            );
            std::fs::write(new.join("estimates.json"), est).unwrap();
        };
        write("old", "old/x", 5.0);
        let since = SystemTime::now() + std::time::Duration::from_secs(3600);
        let mut out = Vec::new();
        collect(dir.path(), since, &mut out);
        assert!(out.is_empty());
        write("json", "json/format", 120.0);
        collect(dir.path(), SystemTime::UNIX_EPOCH, &mut out);
        out.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(out.len(), 2);
        assert_eq!(
            (out[0].id.as_str(), out[0].median_ns, out[0].mean_ns),
            ("json/format", 120.0, 121.0)
        );
    }
}
