//! `cargo xtask bench`: build what is measured, run the micro-benchmarks
//! and every end-to-end case with a progress bar per scenario, print the
//! summary, and write the figures.

use crate::plan::{self, Abilities, Case, Scenario, Sizes};
use crate::receivers::Programs;
use crate::results::{self, BenchResults, CaseResult, Meta};
use crate::run::{self, RunContext};
use crate::{micro, plot, read_bench, scale_bench, table};
use anyhow::{Context, bail};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Arguments of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Small sizes, N ∈ {1, 4}, one run per case, no criterion benches:
    /// under 2 minutes with the build (what CI runs).
    #[arg(long)]
    pub quick: bool,
    /// Run only the cases (and criterion benchmarks) whose name contains
    /// this, ignoring case, e.g. `s2`, `cookbook`, `unix n=4`; several
    /// names separated by commas select the cases of any (`s1 ,s7 `).
    #[arg(long, value_name = "NAME")]
    pub filter: Option<String>,
    /// Write every figure to this JSON file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Show the change against a JSON file of an earlier run.
    #[arg(long, value_name = "FILE")]
    pub compare: Option<PathBuf>,
    /// Draw records/s against N for each system as SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Skip the criterion micro-benchmarks in the full run.
    #[arg(long)]
    pub no_micro: bool,
    /// Runs per case (default: 1 with --quick, 3 otherwise).
    #[arg(long, value_name = "N")]
    pub runs: Option<usize>,
    /// Input of the reading scenario s12, per layout, e.g. 256MiB
    /// (default: 64MiB with --quick, 1GiB otherwise).
    #[arg(long, value_name = "SIZE")]
    pub read_size: Option<String>,
    /// Let s10's nats-server use transparent huge pages, as it does when
    /// started plainly; by default the bench starts it with them off, as
    /// docs/scale-out.md advises.
    #[arg(long)]
    pub nats_huge_pages: bool,
}

/// Runs the bench; an error when a Tributary system failed its oracle.
pub fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let began = Instant::now();
    let root = workspace_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let compare = match &args.compare {
        Some(path) => Some(read_results(path)?),
        None => None,
    };
    let mut sizes = if args.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    if let Some(runs) = args.runs {
        sizes.runs = runs.max(1);
    }
    let target_dir = target_dir(&cargo, &root)?;
    eprintln!("xtask bench: building the tributary listener (release)");
    let status = Command::new(&cargo)
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "tributary-listener",
            "--bin",
            "tributary",
        ])
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("building the tributary binary failed");
    }
    eprintln!(
        "xtask bench: tributary built in {:.0} s",
        began.elapsed().as_secs_f64()
    );
    let programs = Programs {
        tributary: target_dir.join("release").join("tributary"),
        xtask: std::env::current_exe().context("cannot find the xtask binary")?,
        bench: root.join("bench"),
    };
    let can = Abilities {
        python: Command::new("python3")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        rsyslog: find_program("rsyslogd").is_some(),
        handlers: cfg!(feature = "handlers"),
    };
    let (cases, notes) = plan::plan(&sizes, &can);
    let cases = plan::filter(cases, args.filter.as_deref());
    let mut results = BenchResults {
        meta: meta(&root, args.quick, sizes.runs),
        notes,
        ..BenchResults::default()
    };
    if args.quick || args.no_micro {
        results
            .notes
            .push("criterion micro-benchmarks skipped (run without --quick and --no-micro)".into());
    } else {
        eprintln!("xtask bench: criterion micro-benchmarks (cargo bench --workspace --bench '*')");
        match micro::run(&cargo, &root, &target_dir, args.filter.as_deref()) {
            Ok(m) => results.micro = m,
            Err(e) => results
                .notes
                .push(format!("criterion micro-benchmarks failed: {e:#}")),
        }
    }
    let ctx = RunContext {
        programs,
        // One directory per bench process: two benches at once (two
        // engineers on one machine) must not share output files.
        work: target_dir
            .join("xtask-bench")
            .join(std::process::id().to_string()),
        timeout: Duration::from_secs(if args.quick { 90 } else { 300 }),
    };
    results.cases = run_cases(&ctx, &cases, sizes.runs);
    let read_size = match &args.read_size {
        Some(text) => crate::units::parse_size(text)?,
        None if args.quick => 64 << 20,
        None => 1 << 30,
    };
    results.reads = read_bench::run(
        &ctx.programs.tributary,
        &ctx.work,
        read_size,
        sizes.runs,
        args.quick,
        args.filter.as_deref(),
        &mut results.notes,
    );
    let client = if can.handlers {
        crate::producer::Client::Handler
    } else {
        crate::producer::Client::Raw
    };
    results.scale_out = scale_bench::run(
        &ctx,
        client,
        sizes.rust_records,
        sizes.runs,
        args.filter.as_deref(),
        args.nats_huge_pages,
    );
    // Outputs of failed cases stay for inspection; otherwise nothing is left.
    let _ = std::fs::remove_dir(&ctx.work);
    results.ratios = results::ratios(&results.cases);
    results.meta.load_end = load_average();

    let color = table::use_color();
    println!();
    println!(
        "Tributary bench — {} — commit {} — {} — load {:.2} → {:.2}{}",
        results.meta.date,
        results.meta.commit,
        results.meta.machine,
        results.meta.load_start,
        results.meta.load_end,
        if args.quick {
            " — QUICK (1 run, small sizes)"
        } else {
            ""
        }
    );
    println!();
    print!("{}", table::summary(&results, color));
    if !results.reads.is_empty() {
        println!("\nReading it back (s12):");
        print!("{}", read_bench::table(&results.reads));
    }
    if let Some(s10) = &results.scale_out {
        println!("\nPast one host (s10): {}:", Scenario::S10.title());
        print!("{}", scale_bench::table(s10));
    }
    if !results.ratios.is_empty() {
        println!("\nTributary ÷ alternative:");
        print!("{}", table::ratios(&results));
    }
    if !results.micro.is_empty() {
        println!("\ncriterion medians:");
        for m in &results.micro {
            println!("  {:<60} {}", m.id, crate::units::fmt_ns(m.median_ns));
        }
    }
    for note in &results.notes {
        println!("note: {note}");
    }
    if let Some(old) = &compare {
        println!();
        print!("{}", table::compare(old, &results));
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&results)?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("figures written to {}", path.display());
    }
    if let Some(path) = &args.plot {
        let title = format!(
            "records/s against N — commit {} — {}",
            results.meta.commit, results.meta.date
        );
        std::fs::write(path, plot::svg(&results.cases, &title))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("plot written to {}", path.display());
    }
    println!("bench finished in {:.0} s", began.elapsed().as_secs_f64());
    let failed: Vec<String> = results
        .cases
        .iter()
        .filter(|c| c.tributary && !c.ok())
        .map(CaseResult::key)
        .chain(
            results
                .reads
                .iter()
                .filter(|r| r.system.starts_with("tributary") && r.error.is_some())
                .map(read_bench::ReadResult::key),
        )
        .chain(
            results
                .scale_out
                .iter()
                .filter(|s| !s.ok())
                .map(|_| scale_bench::LABEL.to_owned()),
        )
        .collect();
    if !failed.is_empty() {
        bail!(
            "Tributary lost, duplicated or garbled records, or failed to run, in: {}",
            failed.join("; ")
        );
    }
    Ok(())
}

fn run_cases(ctx: &RunContext, cases: &[Case], runs: usize) -> Vec<CaseResult> {
    let progress = MultiProgress::new();
    let style = ProgressStyle::with_template(
        "{prefix:>3} [{bar:28.cyan/blue}] {pos}/{len} {elapsed:>4} {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let mut bars: Vec<(Scenario, ProgressBar)> = Vec::new();
    for case in cases {
        match bars.iter().find(|(s, _)| *s == case.scenario) {
            Some((_, bar)) => bar.inc_length(runs as u64),
            None => {
                let bar = progress.add(ProgressBar::new(runs as u64));
                bar.set_style(style.clone());
                bar.set_prefix(case.scenario.id());
                bar.set_message(case.scenario.title());
                bars.push((case.scenario, bar));
            }
        }
    }
    // The runs of a scenario's systems alternate (A B A B ...), so a
    // machine whose speed drifts (a shared VM does) slows every system
    // alike instead of whichever happened to run last.
    let mut results = Vec::new();
    for (scenario, bar) in &bars {
        let group: Vec<&Case> = cases.iter().filter(|c| c.scenario == *scenario).collect();
        let mut figures: Vec<Vec<_>> = group.iter().map(|_| Vec::new()).collect();
        let mut errors: Vec<Option<String>> = group.iter().map(|_| None).collect();
        for _ in 0..runs {
            for (i, case) in group.iter().enumerate() {
                if errors[i].is_some() {
                    bar.inc(1);
                    continue;
                }
                bar.set_message(format!("{} n={}", case.system, case.n));
                match run::run_case(ctx, case) {
                    Ok((f, dir)) => {
                        if !f.verdict.ok() {
                            progress.suspend(|| {
                                eprintln!(
                                    "{}: oracle failed, output kept in {}",
                                    case.label(),
                                    dir.display()
                                )
                            });
                        }
                        figures[i].push(f);
                    }
                    Err(e) => errors[i] = Some(format!("{e:#}")),
                }
                bar.inc(1);
            }
        }
        for ((case, figures), error) in group.iter().zip(figures).zip(errors) {
            let (median, verdict) = results::aggregate(&figures);
            let result = CaseResult {
                scenario: case.scenario.id().into(),
                system: case.system.into(),
                tributary: case.tributary,
                n: case.n,
                records: case.total(),
                runs: figures.len(),
                median,
                all: figures,
                verdict,
                error,
            };
            progress.suspend(|| {
                println!(
                    "{:<40} {:>9} records/s  {}",
                    case.label(),
                    crate::units::fmt_rate(result.median.records_per_s),
                    table::verdict_cell(&result)
                );
            });
            results.push(result);
        }
        bar.finish_with_message(scenario.title());
    }
    results
}

fn read_results(path: &Path) -> anyhow::Result<BenchResults> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_slice(&text).with_context(|| {
        format!(
            "{} is not a bench JSON file (write one with --json)",
            path.display()
        )
    })
}

/// The workspace root: xtask's parent directory.
fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn target_dir(cargo: &str, root: &Path) -> anyhow::Result<PathBuf> {
    let out = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .context("cannot run cargo metadata")?;
    #[derive(serde::Deserialize)]
    struct Metadata {
        target_directory: PathBuf,
    }
    let m: Metadata =
        serde_json::from_slice(&out.stdout).context("unexpected cargo metadata output")?;
    Ok(m.target_directory)
}

/// `name` on the PATH, or in /usr/sbin or /sbin (Debian puts servers there).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|l| l.parse().ok()))
        .unwrap_or(0.0)
}

fn command_output(root: &Path, program: &str, args: &[&str]) -> String {
    Command::new(program)
        .current_dir(root)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn meta(root: &Path, quick: bool, runs: usize) -> Meta {
    let mut commit = command_output(root, "git", &["rev-parse", "--short", "HEAD"]);
    if !command_output(
        root,
        "git",
        &["status", "--porcelain", "--untracked-files=no"],
    )
    .is_empty()
    {
        commit.push_str("-dirty");
    }
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    Meta {
        date: command_output(root, "date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]),
        commit,
        machine: format!("{cores} cores, {model}"),
        load_start: load_average(),
        load_end: 0.0,
        quick,
        runs,
    }
}
