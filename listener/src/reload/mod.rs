//! Reloading a running listener's configuration (SIGHUP, the admin
//! endpoint's `POST /reload`, [`Controller::reload`](crate::Controller::reload)):
//! one function for all of them.
//!
//! The new settings are read (the config file and the flags the listener
//! was started with, flags winning, as at start) and checked completely
//! before anything changes: [`Settings::check`], the settings that need a
//! restart (`restart`), every output's pattern, the new outputs opened and
//! locked, the new inputs bound. Any failure keeps the configuration in
//! effect and says why. Then the writer takes the new outputs at a batch
//! boundary (reopening every file, as SIGHUP did before reloads), the
//! queue's encoder is swapped so new batches are routed and formatted the
//! new way (batches of the old one still go to the old outputs: see
//! `pipeline::writer::reconfigure`), the new inputs start and the removed
//! ones stop accepting. Inputs in both configurations keep their sockets
//! and every open connection.

mod live;
pub(crate) mod restart;

pub(crate) use live::{Live, LiveInput};

use crate::ListenerError;
use crate::config::ConfigError;
use crate::diag::reload as event;
use crate::input::{self, BoundInput};
use crate::output_lock::OutputLocks;
use crate::pipeline::{Encoder, Msg, Reconfigure, open_outputs};
use crate::settings::{InputSpec, OutputSpec, Settings};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// Where a reload reads the settings from: for `tributary listen`, the
/// config file and the flags it was started with.
pub type ReloadSource = Arc<dyn Fn() -> Result<Settings, ConfigError> + Send + Sync>;

/// How long a reload waits for the previous one's removed outputs to be
/// closed (they stay open while batches routed to them are in flight).
const PREVIOUS_RELOAD_WAIT: Duration = Duration::from_secs(5);

/// What a reload changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Outputs added, by file.
    pub outputs_added: Vec<PathBuf>,
    /// Outputs removed (closed once the records routed to them before the
    /// reload are written).
    pub outputs_removed: Vec<PathBuf>,
    /// Outputs whose format, filter or rotation changed.
    pub outputs_changed: Vec<PathBuf>,
    /// Inputs added, as in their readiness line (`tcp 127.0.0.1:9022`).
    pub inputs_added: Vec<String>,
    /// Inputs removed: they accept no more connections; connections open
    /// on them go on until their peers close them.
    pub inputs_removed: Vec<String>,
    /// How long the writer stopped writing records to switch outputs
    /// (reopening every file included).
    pub writer_pause: Duration,
    /// Outputs that could not be reopened (each goes on in the file it had
    /// open, so a file logrotate renamed away keeps growing): the reason
    /// for each.
    pub reopen_failed: Vec<String>,
}

impl fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        let paths = |sign: &str, v: &[PathBuf]| {
            v.iter()
                .map(|p| format!("{sign}{}", p.display()))
                .collect::<Vec<_>>()
        };
        let outputs: Vec<String> = [
            paths("+", &self.outputs_added),
            paths("-", &self.outputs_removed),
            paths("~", &self.outputs_changed),
        ]
        .concat();
        if !outputs.is_empty() {
            parts.push(format!("outputs {}", outputs.join(" ")));
        }
        let inputs: Vec<String> = self
            .inputs_added
            .iter()
            .map(|i| format!("+{i}"))
            .chain(self.inputs_removed.iter().map(|i| format!("-{i}")))
            .collect();
        if !inputs.is_empty() {
            parts.push(format!("inputs {}", inputs.join(", ")));
        }
        if parts.is_empty() {
            parts.push("no change".into());
        }
        let reopened = if self.reopen_failed.is_empty() {
            "every output reopened".to_owned()
        } else {
            format!("outputs reopened except: {}", self.reopen_failed.join("; "))
        };
        write!(
            f,
            "{}; {reopened}; writer paused {:.1} ms",
            parts.join("; "),
            self.writer_pause.as_secs_f64() * 1e3
        )
    }
}

/// Why a reload was refused. In every case the configuration in effect
/// stays, whole.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The new configuration cannot be read or is invalid.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// It changes settings that only a restart can change.
    #[error(
        "{} cannot change while the listener runs; restart it to change them",
        .0.join("; ")
    )]
    NeedsRestart(Vec<String>),
    /// A new output cannot be opened, a new input cannot be bound, or a
    /// pattern is invalid.
    #[error("{0}")]
    Refused(#[from] ListenerError),
    /// The writer could not take the new outputs.
    #[error("{0}")]
    Writer(String),
    /// The previous reload's removed outputs are still being written to.
    #[error(
        "the outputs the previous reload removed are still being written (an output stalled?); try again"
    )]
    Busy,
    /// The listener is not serving (not yet running, or shutting down).
    #[error("the listener is not serving (not started yet, or shutting down)")]
    NotServing,
}

/// Reloads: from `settings` if given, else from the listener's source
/// (else the settings in effect again, which reopens every output). The
/// outcome is counted, kept as the last one and reported on stderr.
pub(crate) async fn reload(
    live: &tokio::sync::Mutex<Live>,
    settings: Option<Settings>,
) -> Result<ReloadReport, ReloadError> {
    let mut live = live.lock().await;
    let result = apply(&mut live, settings).await;
    let reloads = live.stats.reloads.clone();
    match &result {
        Ok(report) => {
            reloads.record(true, report.to_string());
            live.diag.emit(&(), event::Reloaded(report));
        }
        Err(error) => {
            reloads.record(false, error.to_string());
            live.diag.emit(&(), event::Refused(error));
        }
    }
    result
}

async fn apply(live: &mut Live, settings: Option<Settings>) -> Result<ReloadReport, ReloadError> {
    let Some(serving) = live.serving.clone() else {
        return Err(ReloadError::NotServing);
    };
    let new = match (settings, &live.source) {
        (Some(s), _) => s,
        (None, Some(source)) => source()?,
        (None, None) => live.settings.clone(),
    };
    new.check()?;
    let restart = restart::needs_restart(&live.settings, &new);
    if !restart.is_empty() {
        return Err(ReloadError::NeedsRestart(restart));
    }
    let waited = Instant::now();
    while live.generations.load(Relaxed) > 0 {
        if waited.elapsed() > PREVIOUS_RELOAD_WAIT {
            return Err(ReloadError::Busy);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Outputs: everything that can fail, before anything changes.
    let old_outputs = live.settings.effective_outputs();
    let new_outputs = new.effective_outputs();
    let encoder = Arc::new(Encoder::new(&new_outputs)?);
    let find =
        |list: &[OutputSpec], o: &OutputSpec| list.iter().find(|p| p.path == o.path).cloned();
    let added: Vec<OutputSpec> = new_outputs
        .iter()
        .filter(|o| find(&old_outputs, o).is_none())
        .cloned()
        .collect();
    let mut report = ReloadReport {
        outputs_added: added.iter().map(|o| o.path.clone()).collect(),
        outputs_removed: old_outputs
            .iter()
            .filter(|o| find(&new_outputs, o).is_none())
            .map(|o| o.path.clone())
            .collect(),
        outputs_changed: new_outputs
            .iter()
            .filter(|o| find(&old_outputs, o).is_some_and(|old| old != **o))
            .map(|o| o.path.clone())
            .collect(),
        ..ReloadReport::default()
    };
    let added_paths: Vec<PathBuf> = added.iter().map(|o| o.path.clone()).collect();
    let mut locks = OutputLocks::acquire(&added_paths)?;
    let opened = open_outputs(&added, &live.diag, &mut locks)?;

    // Inputs: the new ones bound (and checked) before anything changes.
    let old_inputs = live.inputs_specs();
    let new_inputs = if new.collect.is_some() {
        Vec::new()
    } else {
        new.effective_inputs()
    };
    let mut bound = Vec::new();
    for spec in new_inputs.iter().filter(|s| !old_inputs.contains(s)) {
        let (b, socket) = input::bind(spec).await?;
        crate::listener::check_exposure(&b, serving.tls.is_some(), new.allow_insecure_remote)?;
        bound.push((spec.clone(), b, socket));
    }
    check_frame_budget(live, &bound)?;

    // The writer switches between two batches.
    let (reply, answer) = tokio::sync::oneshot::channel();
    live.template.queue.control(Msg::Reconfigure(Reconfigure {
        encoder: encoder.clone(),
        specs: new_outputs,
        opened,
        reply,
    }));
    (report.writer_pause, report.reopen_failed) = answer
        .await
        .map_err(|_| ReloadError::NotServing)?
        .map_err(ReloadError::Writer)?;
    // From here on, new batches are routed and formatted the new way.
    live.template.queue.set_encoder(encoder);

    for (spec, b, socket) in bound {
        if let Some(warning) = crate::tls::open_to_any_client(&b, new.tls.as_ref()) {
            eprintln!("tributary: warning: {warning}");
        }
        let label = b.to_string();
        let ctx = live.template.ctx(label.clone(), b.kind().is_syslog());
        let (stop, handle) = input::stop_pair();
        live.stats
            .inputs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push((label.clone(), ctx.counters.clone()));
        live.inputs.push(LiveInput {
            spec,
            bound: b,
            counters: ctx.counters.clone(),
            stop: handle,
        });
        serving.spawn(socket, ctx, stop);
        report.inputs_added.push(label);
    }
    let (kept, gone): (Vec<LiveInput>, Vec<LiveInput>) = std::mem::take(&mut live.inputs)
        .into_iter()
        .partition(|i| new_inputs.contains(&i.spec));
    live.inputs = kept;
    for input in gone {
        input.stop.removed.send_replace(true);
        // Closed before the reload says so: its address refuses
        // connections from then on.
        let _ = input.stop.stopped.await;
        live.stats
            .inputs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(_, c)| !Arc::ptr_eq(c, &input.counters));
        report.inputs_removed.push(input.bound.to_string());
    }
    live.settings = new;
    Ok(report)
}

/// The frame budget was sized at start for the largest frame the inputs
/// of then accept; a new kind of input that accepts larger ones needs a
/// restart.
fn check_frame_budget(
    live: &Live,
    bound: &[(InputSpec, BoundInput, input::Socket)],
) -> Result<(), ReloadError> {
    let needs = bound
        .iter()
        .map(|(spec, _, _)| match spec {
            InputSpec::Tcp(_) | InputSpec::Unix(_) => live.template.max_frame,
            InputSpec::SyslogTcp(_) | InputSpec::SyslogUnixStream(_) => {
                live.template.syslog_max_message
            }
            _ => 0,
        })
        .max()
        .unwrap_or(0);
    if needs.saturating_add(input::READ_CHUNK) > live.template.connections.budget() {
        return Err(ReloadError::NeedsRestart(vec![format!(
            "the frame budget (a new stream input accepts {needs}-byte frames, more than the inputs the listener started with)"
        )]));
    }
    Ok(())
}
