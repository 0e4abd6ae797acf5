//! `xtask inproc`: systems that log inside one process, T threads calling
//! the logging macro and one writer behind them (scenarios 5 and 6).
//!
//! Each thread reports its own CPU time (the thread clock) and per-call
//! latency; the writer's CPU is the process's minus the threads'.

use crate::histogram::Histogram;
use crate::procstat::{self, self_usage, thread_cpu_ns, wall_ns};
use crate::report::{ProducerReport, Report, WriterReport};
use crate::shape::PAYLOAD;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The in-process systems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum System {
    /// `tracing::info!` → tributary's layer → queue → file (native JSON),
    /// written per batch.
    TracingTributary,
    /// `tracing::info!` → `tracing_subscriber::fmt().json()` →
    /// `tracing_appender::non_blocking` (lossy(false): blocks when full) →
    /// 64 KiB-buffered file, written per batch.
    TracingJson,
    /// `log::info!` → tributary's log bridge → queue → `RotatingFile`
    /// (1 MiB, gzip on a background thread).
    LogTributaryRotating,
    /// `log::info!` → log4rs `RollingFileAppender` (JSON encoder, 1 MiB size
    /// trigger, fixed-window roller with gzip), flushed per record.
    Log4rsRolling,
}

/// Arguments of `xtask inproc`.
#[derive(Debug, clap::Args)]
pub struct InprocArgs {
    /// The system to run.
    #[arg(long, value_enum)]
    pub system: System,
    /// Threads logging at once.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Records per thread.
    #[arg(long, value_parser = crate::units::parse_count)]
    pub records: u64,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// Wall-clock ns to start logging at.
    #[arg(long, default_value_t = 0)]
    pub start_at: u64,
    /// Size that triggers a rotation in the rotating systems.
    #[arg(long, value_parser = crate::units::parse_size, default_value = "1MiB")]
    pub rotate_bytes: u64,
}

/// Runs the system and prints one report per thread and one for the writer.
pub fn inproc(args: &InprocArgs) -> anyhow::Result<()> {
    let cpu0 = self_usage().cpu_ns;
    let reports = match args.system {
        System::TracingJson => tracing_json(args)?,
        System::Log4rsRolling => log4rs_rolling(args)?,
        System::TracingTributary => tracing_tributary(args)?,
        System::LogTributaryRotating => log_tributary_rotating(args)?,
    };
    let done = wall_ns();
    let usage = self_usage();
    let peak = usage.maxrss_kib;
    let threads_cpu: u64 = reports.iter().map(|r| r.cpu_ns).sum();
    for mut r in reports {
        r.maxrss_kib = peak;
        Report::Producer(r).print();
    }
    Report::Writer(WriterReport {
        cpu_ns: (usage.cpu_ns - cpu0).saturating_sub(threads_cpu),
        maxrss_kib: peak,
        done_ns: done,
    })
    .print();
    Ok(())
}

/// Runs `emit(thread, seq)` for every record on `args.threads` threads,
/// started together, timing each call.
fn run_threads(args: &InprocArgs, emit: impl Fn(usize, u64) + Sync) -> Vec<ProducerReport> {
    let emit = &emit;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.threads)
            .map(|id| {
                s.spawn(move || {
                    let mut hist = Histogram::default();
                    procstat::sleep_until(args.start_at);
                    let cpu0 = thread_cpu_ns();
                    let first = wall_ns();
                    for seq in 0..args.records {
                        let t0 = Instant::now();
                        emit(id, seq);
                        hist.record(t0.elapsed().as_nanos() as u64);
                    }
                    ProducerReport {
                        id,
                        records: args.records,
                        first_emit_ns: first,
                        last_emit_ns: wall_ns(),
                        cpu_ns: thread_cpu_ns() - cpu0,
                        maxrss_kib: 0,
                        p50_ns: hist.quantile(0.5),
                        p99_ns: hist.quantile(0.99),
                    }
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    })
}

fn trace_event(id: usize, seq: u64) {
    tracing::info!(
        user = "ann",
        bytes = seq,
        ok = true,
        "p{id} #{seq:06} {PAYLOAD}"
    );
}

fn log_event(id: usize, seq: u64) {
    log::info!(user = "ann", bytes = seq, ok = true; "p{id} #{seq:06} {PAYLOAD}");
}

fn tracing_json(args: &InprocArgs) -> anyhow::Result<Vec<ProducerReport>> {
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::with_capacity(64 * 1024, file));
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(writer)
        .with_thread_ids(true)
        .with_thread_names(true)
        .with_file(true)
        .with_line_number(true)
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .context("a tracing subscriber is already installed")?;
    let reports = run_threads(args, trace_event);
    drop(guard); // flushes everything queued
    Ok(reports)
}

fn log4rs_rolling(args: &InprocArgs) -> anyhow::Result<Vec<ProducerReport>> {
    use log4rs::append::rolling_file::RollingFileAppender;
    use log4rs::append::rolling_file::policy::compound::CompoundPolicy;
    use log4rs::append::rolling_file::policy::compound::roll::fixed_window::FixedWindowRoller;
    use log4rs::append::rolling_file::policy::compound::trigger::size::SizeTrigger;
    use log4rs::config::{Appender, Config, Root};

    // Keep every archive for the oracle: a window as large as the output
    // needs (the roller renames the whole window at each rotation).
    let window = archive_window(args);
    let pattern = format!("{}.{{}}.gz", args.out.display());
    let roller = FixedWindowRoller::builder().build(&pattern, window)?;
    let policy = CompoundPolicy::new(
        Box::new(SizeTrigger::new(args.rotate_bytes)),
        Box::new(roller),
    );
    let appender = RollingFileAppender::builder()
        .encoder(Box::new(log4rs::encode::json::JsonEncoder::new()))
        .build(&args.out, Box::new(policy))?;
    let config = Config::builder()
        .appender(Appender::builder().build("file", Box::new(appender)))
        .build(
            Root::builder()
                .appender("file")
                .build(log::LevelFilter::Info),
        )?;
    let handle = log4rs::init_config(config)?;
    let reports = run_threads(args, log_event);
    log::logger().flush();
    drop(handle);
    Ok(reports)
}

fn archive_window(args: &InprocArgs) -> u32 {
    let bytes = args.threads as u64 * args.records * 600;
    u32::try_from(bytes / args.rotate_bytes.max(1) * 2 + 16).unwrap_or(u32::MAX)
}

/// Output files of a rotating system: the active file and its archives.
pub fn outputs(out: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (out.parent(), out.file_name().and_then(|n| n.to_str())) else {
        return vec![out.to_path_buf()];
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![out.to_path_buf()];
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n == name
                    || (n.starts_with(name)
                        && n[name.len()..].starts_with('.')
                        && !n.ends_with(".tmp"))
            })
        })
        .collect();
    files.sort();
    files
}

#[cfg(feature = "handlers")]
fn tracing_tributary(args: &InprocArgs) -> anyhow::Result<Vec<ProducerReport>> {
    use tracing_subscriber::layer::SubscriberExt;
    use tributary_handlers::{FileHandler, QueueListener, TributaryLayer};
    let mut listener = QueueListener::builder()
        .handler(FileHandler::append(&args.out)?)
        .start()?;
    let subscriber =
        tracing_subscriber::registry().with(TributaryLayer::new(listener.queue_handler()));
    tracing::subscriber::set_global_default(subscriber)
        .context("a tracing subscriber is already installed")?;
    let reports = run_threads(args, trace_event);
    listener.stop(); // drains and flushes
    Ok(reports)
}

#[cfg(feature = "handlers")]
fn log_tributary_rotating(args: &InprocArgs) -> anyhow::Result<Vec<ProducerReport>> {
    use tributary_handlers::RotatingFileHandler;
    use tributary_rotation::{Compression, RotatingFile};
    let file = RotatingFile::builder(&args.out)
        .max_bytes(args.rotate_bytes)
        .compression(Compression::gzip())
        .open()?;
    let mut listener = tributary_handlers::builder()
        .handler(RotatingFileHandler::rotating(file))
        .init_log()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let reports = run_threads(args, log_event);
    listener.stop(); // drains, flushes and waits for the last compression
    Ok(reports)
}

#[cfg(not(feature = "handlers"))]
fn tracing_tributary(_: &InprocArgs) -> anyhow::Result<Vec<ProducerReport>> {
    anyhow::bail!("xtask was built without the `handlers` feature")
}

#[cfg(not(feature = "handlers"))]
fn log_tributary_rotating(_: &InprocArgs) -> anyhow::Result<Vec<ProducerReport>> {
    anyhow::bail!("xtask was built without the `handlers` feature")
}
