//! The `tributary` binary: a thin shell over the library that adds signal
//! handling, readiness lines and error reports.

use anyhow::Context;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::signal::unix::{SignalKind, signal};
use tributary_listener::{ListenerBuilder, ReloadSource, Settings, cli};

/// Pins glibc's mmap threshold. Left dynamic, it rises to the size of the
/// largest buffer freed, after which read buffers and the buffers of large
/// frames come from the heap and their memory stays resident once freed:
/// 1,000 connections each sending most of a 1 MiB frame (closed by the
/// frame budget) left the listener at 95 MiB instead of 37.
fn pin_mmap_threshold() {
    // Buffers from 64 KiB up (a read's) are mapped on their own and given
    // back to the system when freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 * 1024);
    }
}

/// For `tributary collect`: buffers up to 4 MiB come from the heap and
/// 16 MiB of free heap stays mapped. A collector has no connections of
/// producers whose idle buffers the 64 KiB threshold is for; its buffers
/// are JetStream messages and the batches made of them (64 KiB and more,
/// one or two per message), which mapped and unmapped each time cost page
/// faults on every page of every message. What it holds is bounded all
/// the same, by its pull size and `--queue-bytes`.
fn collector_allocation() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: as in pin_mmap_threshold; clap's parsing starts no thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
    }
}

fn main() -> ExitCode {
    pin_mmap_threshold();
    let matches = cli::command().get_matches();
    let result = match matches.subcommand() {
        Some(("listen", args)) => {
            // A reload reads the file and these same flags again.
            let again = args.clone();
            cli::listen_settings(args)
                .context("configuration refused")
                .and_then(|s| listen(s, Arc::new(move || cli::listen_settings(&again))))
        }
        Some(("collect", args)) => {
            collector_allocation();
            let again = args.clone();
            cli::collect_settings(args)
                .context("configuration refused")
                .and_then(|s| listen(s, Arc::new(move || cli::collect_settings(&again))))
        }
        Some(("check-config", args)) => check_config(args),
        Some(("reload", args)) => reload(args),
        Some((name @ ("cat" | "tail"), args)) => {
            read(tributary_listener::read::run_subcommand(name, args).unwrap_or(Ok(())))
        }
        // `subcommand_required`: clap has already refused anything else.
        _ => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tributary: error: {}", chain(&e));
            ExitCode::FAILURE
        }
    }
}

fn listen(settings: Settings, source: ReloadSource) -> anyhow::Result<()> {
    let to_stdout = settings
        .outputs
        .iter()
        .any(|o| o.path.as_os_str() == "/dev/stdout");
    let scratch_journal = settings.ack_journal.clone().filter(|j| {
        to_stdout
            && settings.collect.is_some()
            && j.starts_with(std::env::temp_dir())
            && j.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".tributary-collect-"))
    });
    let result = serve(settings, source, to_stdout);
    if let Some(journal) = scratch_journal {
        let _ = std::fs::remove_file(journal);
    }
    result
}

/// Runs `listen` or `collect` until a signal, printing the readiness lines.
fn serve(settings: Settings, source: ReloadSource, to_stdout: bool) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tributary-io")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = ListenerBuilder::from_settings(settings)
            .reload_from(move || source())
            .bind()
            .await?;
        // Handlers go in before the readiness lines: a signal sent as soon
        // as a script sees them must drain, not kill.
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut hup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
        {
            let mut out = std::io::stdout().lock();
            for input in listener.bound() {
                // A closed stdout must not stop the listener.
                let _ = writeln!(out, "listening {input}");
            }
            if let Some(addr) = listener.admin_addr() {
                let _ = writeln!(out, "listening admin {addr}");
            }
            if let Some(line) = listener.forwarding() {
                let _ = writeln!(out, "{line}");
            }
            if let Some(source) = listener.collecting() {
                // With `--out -` the records are on stdout.
                if to_stdout {
                    eprintln!("collecting {source}");
                } else {
                    let _ = writeln!(out, "collecting {source}");
                }
            }
            let _ = out.flush();
        }
        let controller = listener.controller();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = term.recv() => controller.shutdown(),
                    _ = int.recv() => controller.shutdown(),
                    // Reload: the outcome goes to stderr either way; a
                    // reload waits for the writer, so signals are not
                    // held up behind it.
                    _ = hup.recv() => {
                        let controller = controller.clone();
                        tokio::spawn(async move { let _ = controller.reload().await; });
                    }
                }
            }
        });
        let summary = listener.run().await?;
        eprintln!("tributary: summary: {summary}");
        anyhow::Ok(())
    })
}

/// `tributary reload --admin ADDR`: prints what the listener did; an
/// error (refused, unreachable) exits non-zero.
#[cfg(feature = "http")]
fn reload(args: &clap::ArgMatches) -> anyhow::Result<()> {
    let addr = args
        .get_one::<String>(cli::RELOAD_ADMIN)
        .context("--admin ADDR is required")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let answer = runtime
        .block_on(tributary_listener::admin::request_reload(addr))
        .context("reload")?;
    println!("{answer}");
    Ok(())
}

#[cfg(not(feature = "http"))]
fn reload(_: &clap::ArgMatches) -> anyhow::Result<()> {
    anyhow::bail!("this build has no HTTP client: build with the `http` feature (on by default)")
}

/// `tributary check-config FILE`: the settings in effect on stdout, or
/// the refusal.
fn check_config(args: &clap::ArgMatches) -> anyhow::Result<()> {
    let Some(path) = args.get_one::<std::path::PathBuf>(cli::CHECK_CONFIG_FILE) else {
        return Ok(()); // required: clap has refused its absence
    };
    let shown = tributary_listener::config::check_file(path).context("configuration refused")?;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(shown.as_bytes());
    let _ = out.flush();
    Ok(())
}

/// A reader's outcome: a closed stdout (`| head`) ends it quietly.
fn read(result: Result<(), tributary_listener::read::ReadError>) -> anyhow::Result<()> {
    match result {
        Err(tributary_listener::read::ReadError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::BrokenPipe =>
        {
            Ok(())
        }
        other => Ok(other?),
    }
}

/// The error and its causes, `: `-separated, skipping a cause whose text the
/// message before it already includes (library errors often do).
fn chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
