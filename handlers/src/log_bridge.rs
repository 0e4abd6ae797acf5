//! A `log::Log` implementation over the same queue pipeline.

use crate::process::{self, with_thread};
use crate::queue::{Draft, QueueHandler};
use std::borrow::Cow;
use tributary_core::{Level, Timestamp, Value};

/// Sends `log` records (with their key-values) to a [`QueueHandler`].
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// use tributary_handlers::{FileHandler, LogBridge, QueueListener};
/// let listener = QueueListener::builder()
///     .handler(FileHandler::append(dir.path().join("app.log"))?)
///     .start()?;
/// LogBridge::new(listener.queue_handler(), log::LevelFilter::Info).install()?;
/// log::info!(user = "ann", attempt = 2; "logged in");
/// drop(listener);
/// # let text = std::fs::read_to_string(dir.path().join("app.log"))?;
/// # assert!(text.contains(r#""fields":{"user":"ann","attempt":2}"#), "{text}");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct LogBridge {
    queue: QueueHandler,
    max_level: log::LevelFilter,
}

impl LogBridge {
    /// A bridge feeding `queue` with records at `max_level` or more severe.
    pub fn new(queue: QueueHandler, max_level: log::LevelFilter) -> LogBridge {
        LogBridge { queue, max_level }
    }

    /// Installs this bridge as the `log` crate's global logger.
    pub fn install(self) -> Result<(), log::SetLoggerError> {
        let max = self.max_level;
        log::set_boxed_logger(Box::new(self))?;
        log::set_max_level(max);
        Ok(())
    }
}

/// `log` level → record level (`Warn` is named `WARNING`, as in Python).
pub fn log_level_of(level: log::Level) -> Level {
    match level {
        log::Level::Error => Level::ERROR,
        log::Level::Warn => Level::WARNING,
        log::Level::Info => Level::INFO,
        log::Level::Debug => Level::DEBUG,
        log::Level::Trace => Level::TRACE,
    }
}

struct KvVisitor<'f>(&'f mut Vec<(Cow<'static, str>, Value)>);

impl<'kvs> log::kv::VisitSource<'kvs> for KvVisitor<'_> {
    fn visit_pair(
        &mut self,
        key: log::kv::Key<'kvs>,
        value: log::kv::Value<'kvs>,
    ) -> Result<(), log::kv::Error> {
        let v = if let Some(i) = value.to_i64() {
            Value::Int(i)
        } else if let Some(u) = value.to_u64() {
            Value::from(u)
        } else if let Some(b) = value.to_bool() {
            Value::Bool(b)
        } else if let Some(f) = value.to_f64() {
            Value::Float(f)
        } else if let Some(s) = value.to_borrowed_str() {
            Value::from(s)
        } else {
            Value::from(value.to_string())
        };
        self.0.push((Cow::Owned(key.as_str().to_owned()), v));
        Ok(())
    }
}

impl log::Log for LogBridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= self.max_level
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let ts = Timestamp::now();
        let msg = match record.args().as_str() {
            Some(s) => s.to_owned(),
            None => record.args().to_string(),
        };
        let mut fields = Vec::new();
        let _ = record.key_values().visit(&mut KvVisitor(&mut fields));
        let (tid, thread) = with_thread(|t| (t.tid, t.name.clone()));
        self.queue.send_draft(Draft {
            ts,
            level: log_level_of(record.level()),
            logger: Cow::Owned(record.target().to_owned()),
            msg,
            file: record
                .file_static()
                .map(Cow::Borrowed)
                .or_else(|| record.file().map(|f| Cow::Owned(f.to_owned()))),
            line: record.line(),
            module: record
                .module_path_static()
                .map(Cow::Borrowed)
                .or_else(|| record.module_path().map(|m| Cow::Owned(m.to_owned()))),
            tid,
            thread,
            seq: process::next_seq(),
            fields,
            context: Vec::new(),
        });
    }

    fn flush(&self) {}
}
