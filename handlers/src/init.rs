//! One-line setup: handlers, a queue and the `tracing` layer or `log` bridge.

use crate::net::{DatagramHandler, SocketHandler};
use crate::{
    FileHandler, Handler, Overflow, QueueBuilder, QueueListener, SharedFileHandler, StreamHandler,
};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tributary_core::{Formatter, JsonFormatter, JsonProfile, Level};

/// Why [`Builder`] could not set logging up.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// A handler could not be opened.
    #[error("cannot set up the {what} handler: {source}")]
    Handler {
        /// Which handler.
        what: String,
        /// The I/O error.
        source: io::Error,
    },
    /// The dispatcher thread could not be started.
    #[error("cannot start the logging thread: {0}")]
    Thread(io::Error),
    /// A global `tracing` subscriber or `log` logger is already installed.
    #[error(
        "a global {0} is already installed; build a layer with Builder::layer() and compose it instead"
    )]
    AlreadyInstalled(&'static str),
}

type Pending = Box<dyn FnOnce(&Arc<dyn Formatter>) -> Result<Box<dyn Handler>, InitError>>;

/// Sets up handlers behind a queue; see [`builder`].
#[must_use = "finish with .init(), .init_log(), .layer() or .start()"]
pub struct Builder {
    queue: QueueBuilder,
    level: Level,
    formatter: Arc<dyn Formatter>,
    pending: Vec<Pending>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("level", &self.level)
            .field("handlers", &self.pending.len())
            .finish()
    }
}

/// Starts configuring logging: add handlers, then `.init()`.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// # let path = dir.path().join("app.log");
/// # #[cfg(feature = "tracing")] {
/// let guard = tributary_handlers::builder().file(&path).json().init()?;
/// tracing::info!(port = 8080, "listening");
/// drop(guard); // drains the queue, flushes the file
/// # assert!(std::fs::read_to_string(&path)?.contains(r#""port":8080"#)); }
/// # Ok(()) }
/// ```
pub fn builder() -> Builder {
    Builder {
        queue: QueueListener::builder(),
        level: Level::INFO,
        formatter: Arc::new(JsonFormatter::native()),
        pending: Vec::new(),
    }
}

/// JSON lines of INFO and above to `path`, through a queue, from `tracing`
/// events: `let _guard = tributary_handlers::init("app.log")?;`.
#[cfg(feature = "tracing")]
pub fn init(path: impl Into<PathBuf>) -> Result<QueueListener, InitError> {
    builder().file(path).init()
}

impl Builder {
    fn add(
        mut self,
        f: impl FnOnce(&Arc<dyn Formatter>) -> Result<Box<dyn Handler>, InitError> + 'static,
    ) -> Self {
        self.pending.push(Box::new(f));
        self
    }

    /// Appends to the file at `path`.
    pub fn file(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.add(move |fmt| {
            let h = FileHandler::append(&path).map_err(|source| InitError::Handler {
                what: format!("file {}", path.display()),
                source,
            })?;
            Ok(Box::new(h.with_shared_formatter(fmt.clone())))
        })
    }

    /// Appends to a file shared with other processes, rotating at
    /// `max_bytes` with `backup_count` backups (see [`SharedFile`](crate::SharedFile)).
    pub fn shared_file(self, path: impl Into<PathBuf>, max_bytes: u64, backup_count: u32) -> Self {
        let path = path.into();
        self.add(move |fmt| {
            let h =
                SharedFileHandler::shared(&path, max_bytes, backup_count).map_err(|source| {
                    InitError::Handler {
                        what: format!("shared file {}", path.display()),
                        source,
                    }
                })?;
            Ok(Box::new(h.with_shared_formatter(fmt.clone())))
        })
    }

    /// Writes to standard output.
    pub fn stdout(self) -> Self {
        self.add(|fmt| {
            Ok(Box::new(
                StreamHandler::stdout().with_shared_formatter(fmt.clone()),
            ))
        })
    }

    /// Writes to standard error.
    pub fn stderr(self) -> Self {
        self.add(|fmt| {
            Ok(Box::new(
                StreamHandler::stderr().with_shared_formatter(fmt.clone()),
            ))
        })
    }

    /// Sends native frames to a Tributary listener over TCP (`host:port`).
    pub fn tcp(self, addr: impl Into<String>) -> Self {
        let addr = addr.into();
        self.add(move |_| Ok(Box::new(SocketHandler::tcp(addr))))
    }

    /// Sends native frames to a Tributary listener over UDP (`host:port`).
    pub fn udp(self, addr: impl Into<String>) -> Self {
        let addr = addr.into();
        self.add(move |_| Ok(Box::new(DatagramHandler::udp(addr))))
    }

    /// Adds any handler (its own formatter is kept).
    pub fn handler(self, handler: impl Handler + 'static) -> Self {
        self.add(move |_| Ok(Box::new(handler)))
    }

    /// Native JSON lines (the default).
    pub fn json(self) -> Self {
        self.json_profile(JsonProfile::Native)
    }

    /// JSON lines in another profile (ECS, OpenTelemetry, tracing-subscriber's).
    pub fn json_profile(mut self, profile: JsonProfile) -> Self {
        self.formatter = Arc::new(JsonFormatter::new(profile));
        self
    }

    /// The formatter of the file and stream handlers added by this builder.
    pub fn formatter(mut self, formatter: impl Formatter + 'static) -> Self {
        self.formatter = Arc::new(formatter);
        self
    }

    /// The least severe level logged (default INFO).
    pub fn level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Queue capacity in records (default 16,384).
    pub fn capacity(mut self, records: usize) -> Self {
        self.queue = self.queue.capacity(records);
        self
    }

    /// Overflow policy (default [`Overflow::Block`]).
    pub fn overflow(mut self, policy: Overflow) -> Self {
        self.queue = self.queue.overflow(policy);
        self
    }

    /// How long dropping the guard may wait (default: until drained).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.queue = self.queue.shutdown_timeout(Some(timeout));
        self
    }

    /// Opens the handlers and starts the queue, without installing anything.
    pub fn start(self) -> Result<QueueListener, InitError> {
        let mut queue = self.queue;
        for make in self.pending {
            queue = queue.boxed_handler(make(&self.formatter)?);
        }
        queue.start().map_err(InitError::Thread)
    }

    /// The `tracing` layer and its running queue, to compose with other layers.
    #[cfg(feature = "tracing")]
    pub fn layer(self) -> Result<(crate::TributaryLayer, QueueListener), InitError> {
        let max = tracing_level(&self.level);
        let listener = self.start()?;
        Ok((
            crate::TributaryLayer::new(listener.queue_handler()).with_max_level(max),
            listener,
        ))
    }

    /// Installs the `tracing` layer as the global default subscriber and
    /// returns the guard: keep it alive; dropping it drains and flushes.
    #[cfg(feature = "tracing")]
    pub fn init(self) -> Result<QueueListener, InitError> {
        use tracing_subscriber::layer::SubscriberExt;
        let (layer, listener) = self.layer()?;
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing_core::dispatcher::set_global_default(tracing_core::Dispatch::new(subscriber))
            .map_err(|_| InitError::AlreadyInstalled("tracing subscriber"))?;
        Ok(listener)
    }

    /// Installs the `log` bridge as the global logger and returns the guard.
    #[cfg(feature = "log")]
    pub fn init_log(self) -> Result<QueueListener, InitError> {
        let max = log_level(&self.level);
        let listener = self.start()?;
        crate::LogBridge::new(listener.queue_handler(), max)
            .install()
            .map_err(|_| InitError::AlreadyInstalled("log logger"))?;
        Ok(listener)
    }
}

#[cfg(feature = "tracing")]
fn tracing_level(level: &Level) -> tracing_core::LevelFilter {
    match level.no() {
        i32::MIN..=5 => tracing_core::LevelFilter::TRACE,
        6..=10 => tracing_core::LevelFilter::DEBUG,
        11..=20 => tracing_core::LevelFilter::INFO,
        21..=30 => tracing_core::LevelFilter::WARN,
        _ => tracing_core::LevelFilter::ERROR,
    }
}

#[cfg(feature = "log")]
fn log_level(level: &Level) -> log::LevelFilter {
    match level.no() {
        i32::MIN..=5 => log::LevelFilter::Trace,
        6..=10 => log::LevelFilter::Debug,
        11..=20 => log::LevelFilter::Info,
        21..=30 => log::LevelFilter::Warn,
        _ => log::LevelFilter::Error,
    }
}
