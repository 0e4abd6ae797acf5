//! The listener's own diagnostics: bad input, refused connections, write
//! errors. They go to stderr, or into the log as records of logger
//! `tributary`, never unlabelled into an output file.

use crate::pipeline::Queue;
use crate::settings::DiagnosticsMode;
use std::fmt;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tributary_core::{Level, Record};

/// The logger name of the listener's own records.
pub const LOGGER: &str = "tributary";

/// At most this many diagnostics per window; a flood of garbage must not
/// turn into a flood on stderr.
const BURST: u32 = 20;
const WINDOW: Duration = Duration::from_secs(1);

struct Limiter {
    window_start: Instant,
    in_window: u32,
    suppressed: u64,
}

/// Reports diagnostics, rate-limited.
pub(crate) struct Diag {
    mode: DiagnosticsMode,
    queue: OnceLock<Queue>,
    limiter: Mutex<Limiter>,
}

impl Diag {
    pub(crate) fn new(mode: DiagnosticsMode) -> Diag {
        Diag {
            mode,
            queue: OnceLock::new(),
            limiter: Mutex::new(Limiter {
                window_start: Instant::now(),
                in_window: 0,
                suppressed: 0,
            }),
        }
    }

    /// Lets `Log` mode send records; set once the queue exists.
    pub(crate) fn attach(&self, queue: Queue) {
        let _ = self.queue.set(queue);
    }

    /// Whether this message may go out now; prints a note about the
    /// messages suppressed in the previous window when a new one starts.
    fn admit(&self) -> bool {
        let mut l = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if now.duration_since(l.window_start) >= WINDOW {
            if l.suppressed > 0 {
                eprintln!(
                    "tributary: warning: {} diagnostics suppressed (rate limit)",
                    l.suppressed
                );
            }
            l.window_start = now;
            l.in_window = 0;
            l.suppressed = 0;
        }
        if l.in_window < BURST {
            l.in_window += 1;
            true
        } else {
            l.suppressed += 1;
            false
        }
    }

    /// Reports a problem, as configured.
    pub(crate) fn report(&self, level: Level, message: impl fmt::Display) {
        if !self.admit() {
            return;
        }
        let message = message.to_string();
        let mut logged = false;
        if matches!(self.mode, DiagnosticsMode::Log | DiagnosticsMode::Both)
            && let Some(queue) = self.queue.get()
        {
            let record = Record::new(level.clone(), LOGGER, message.clone());
            let mask = queue.encoder.route(&record);
            logged = mask == 0 || queue.try_send(queue.encoder.one(&record, mask)).is_ok();
        }
        if !logged || self.mode != DiagnosticsMode::Log {
            eprintln!(
                "tributary: {}: {message}",
                level.name().to_ascii_lowercase()
            );
        }
    }

    /// Reports to stderr only: for the writer's own errors, which must not
    /// feed back into the queue they come from.
    pub(crate) fn stderr(&self, level: Level, message: impl fmt::Display) {
        if self.admit() {
            eprintln!(
                "tributary: {}: {message}",
                level.name().to_ascii_lowercase()
            );
        }
    }
}
