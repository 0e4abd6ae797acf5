//! The listener's own diagnostics: bad input, refused connections, write
//! errors. They go to stderr, or into the log as records of logger
//! `tributary`, never unlabelled into an output file.
//!
//! Each thing that can happen is an [`Event`] type (`input`, `syslog`,
//! `writer`, and with NATS `forward`, `collect` and their connection's
//! `nats`) that owns its level, its counters and its message;
//! [`Diag::emit`] counts, reports (rate-limited) and logs it in one place,
//! the only way out. What it lets through is also kept in a small ring
//! ([`recent`]) for the admin endpoint's status page.

#[cfg(feature = "http")]
pub(crate) mod admin;
#[cfg(feature = "nats")]
pub(crate) mod collect;
#[cfg(feature = "nats")]
pub(crate) mod forward;
#[cfg(feature = "http")]
pub(crate) mod http;
pub(crate) mod input;
#[cfg(feature = "nats")]
pub(crate) mod nats;
pub(crate) mod recent;
pub(crate) mod reload;
pub(crate) mod syslog;
pub(crate) mod writer;

use crate::pipeline::Queue;
use crate::settings::DiagnosticsMode;
use std::fmt;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tributary_core::{Level, RateLimit, Record};

/// The logger name of the listener's own records.
pub const LOGGER: &str = "tributary";

/// At most this many diagnostics per window; a flood of garbage must not
/// turn into a flood on stderr.
const BURST: u32 = 20;
const WINDOW: Duration = Duration::from_secs(1);

/// Where events happen: what holds their counters and names them.
pub(crate) trait Source {
    /// Whether its events may go into the log as records (`--diagnostics
    /// log`); the writer's may not, they would feed the queue they come
    /// from.
    const IN_BAND: bool;
}

/// Something that happened to an input, the queue, the writer, forwarding
/// or collect.
pub(crate) trait Event {
    /// What it happens in: its counters, and what names it in messages.
    type Context: Source;
    /// How serious it is.
    const LEVEL: Level;
    /// Whether the rate limit applies: not to what an operator asked for
    /// and waits to hear about (a reload's outcome).
    const RATE_LIMITED: bool = true;
    /// Raises its counters.
    fn count(&self, _: &Self::Context) {}
    /// Whether it is described (it is counted either way).
    fn described(&self) -> bool {
        true
    }
    /// Its message.
    fn describe(&self, cx: &Self::Context, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// An event's message, for formatting.
struct Message<'a, E: Event>(&'a E, &'a E::Context);

impl<E: Event> fmt::Display for Message<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.describe(self.1, f)
    }
}

/// Reports diagnostics, rate-limited.
pub(crate) struct Diag {
    mode: DiagnosticsMode,
    queue: OnceLock<Queue>,
    limiter: Mutex<RateLimit>,
    recent: recent::Recent,
}

impl Diag {
    pub(crate) fn new(mode: DiagnosticsMode) -> Diag {
        Diag {
            mode,
            queue: OnceLock::new(),
            limiter: Mutex::new(RateLimit::new(BURST, WINDOW)),
            recent: recent::Recent::default(),
        }
    }

    /// The last diagnostics reported, oldest first.
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // the admin endpoint's
    pub(crate) fn recent(&self) -> Vec<recent::RecentDiagnostic> {
        self.recent.list()
    }

    /// Lets `Log` mode send records; set once the queue exists.
    pub(crate) fn attach(&self, queue: Queue) {
        let _ = self.queue.set(queue);
    }

    /// Whether this message may go out now; prints a note about the
    /// messages suppressed before it.
    fn admit(&self) -> bool {
        let admitted = self
            .limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .admit();
        match admitted {
            Some(0) => true,
            Some(suppressed) => {
                eprintln!("tributary: warning: {suppressed} diagnostics suppressed (rate limit)");
                true
            }
            None => false,
        }
    }

    /// Counts `event` and reports it, as configured.
    pub(crate) fn emit<E: Event>(&self, cx: &E::Context, event: E) {
        event.count(cx);
        if !event.described() {
            return;
        }
        let message = Message(&event, cx);
        if !E::RATE_LIMITED {
            eprintln!(
                "tributary: {}: {message}",
                E::LEVEL.name().to_ascii_lowercase()
            );
        } else if E::Context::IN_BAND {
            self.report(E::LEVEL, message);
        } else {
            self.stderr(E::LEVEL, message);
        }
    }

    /// Reports a problem, as configured.
    fn report(&self, level: Level, message: impl fmt::Display) {
        if !self.admit() {
            return;
        }
        let message = message.to_string();
        self.recent.push(&level, message.clone());
        let mut logged = false;
        if matches!(self.mode, DiagnosticsMode::Log | DiagnosticsMode::Both)
            && let Some(queue) = self.queue.get()
        {
            let record = Record::new(level.clone(), LOGGER, message.clone());
            let encoder = queue.encoder();
            let mask = encoder.route(&record);
            logged = mask == 0 || queue.try_send(encoder.one(&record, mask)).is_ok();
        }
        if !logged || self.mode != DiagnosticsMode::Log {
            eprintln!(
                "tributary: {}: {message}",
                level.name().to_ascii_lowercase()
            );
        }
    }

    /// Reports to stderr only: for events of sources that are not
    /// [`Source::IN_BAND`] (the writer's own errors, which must not feed
    /// back into the queue they come from; background work).
    fn stderr(&self, level: Level, message: impl fmt::Display) {
        if self.admit() {
            let message = message.to_string();
            eprintln!(
                "tributary: {}: {message}",
                level.name().to_ascii_lowercase()
            );
            self.recent.push(&level, message);
        }
    }
}
