//! The `Handler` trait and the generic formatting handler over a sink.

use crate::filter::{self, Filter};
use std::io;
use std::sync::{Arc, OnceLock};
use tributary_core::{Formatter, JsonFormatter, Level, Record};

/// Something that does I/O with records: writes them to a file, a stream or
/// a socket.
///
/// A handler has a level and filters. [`Handler::handle`] runs the filters
/// (like Python's `Handler.handle`); the level is checked by whoever
/// dispatches, such as [`QueueListener`](crate::QueueListener) with
/// `respect_handler_level`, so one record can be matched against many
/// handlers cheaply.
pub trait Handler: Send {
    /// A short name for error reports (`file app.log`, `tcp 127.0.0.1:9020`).
    fn name(&self) -> String;

    /// The least severe level this handler wants.
    fn level(&self) -> Level {
        Level::NOTSET
    }

    /// Filters, formats and emits one record.
    fn handle(&mut self, record: &Record) -> io::Result<()>;

    /// Pushes buffered output to the OS (or the peer). The queue dispatcher
    /// calls this whenever the queue runs empty, so output is batched under
    /// load and prompt when idle.
    fn flush(&mut self) -> io::Result<()>;

    /// Flushes and releases resources; the handler is not used afterwards.
    fn close(&mut self) -> io::Result<()> {
        self.flush()
    }

    /// Whether the handler holds output it could not deliver yet (a socket
    /// waiting to reconnect). The dispatcher then calls [`Handler::flush`]
    /// periodically even when no records arrive.
    fn has_backlog(&self) -> bool {
        false
    }

    /// The formatter whose output is all this handler needs, when no
    /// filter or enrichment looks at the record first. A queue whose
    /// handlers all return the same formatter (the same `Arc`) formats each
    /// record once on the producing thread, so formatting runs in parallel
    /// across producers instead of serially on the dispatcher, and calls
    /// [`Handler::handle_formatted`] instead of [`Handler::handle`].
    /// `None` (the default) means the handler needs the record itself.
    fn line_formatter(&self) -> Option<Arc<dyn Formatter>> {
        None
    }

    /// Emits one record already formatted by [`Handler::line_formatter`]:
    /// `line` is exactly what that formatter wrote, plus `\n`, so the
    /// result must be what [`Handler::handle`] would have produced. Only
    /// called on handlers whose `line_formatter` is `Some`.
    fn handle_formatted(&mut self, line: &[u8]) -> io::Result<()> {
        let _ = line;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "{} needs whole records: return None from line_formatter",
                self.name()
            ),
        ))
    }
}

impl<H: Handler + ?Sized> Handler for Box<H> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn level(&self) -> Level {
        (**self).level()
    }
    fn handle(&mut self, record: &Record) -> io::Result<()> {
        (**self).handle(record)
    }
    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
    fn close(&mut self) -> io::Result<()> {
        (**self).close()
    }
    fn has_backlog(&self) -> bool {
        (**self).has_backlog()
    }
    fn line_formatter(&self) -> Option<Arc<dyn Formatter>> {
        (**self).line_formatter()
    }
    fn handle_formatted(&mut self, line: &[u8]) -> io::Result<()> {
        (**self).handle_formatted(line)
    }
}

/// Where a [`FormatHandler`] puts formatted records: each call gets one
/// whole record, newline included, so sinks can keep records intact.
pub trait RecordSink: Send {
    /// A short description for error reports.
    fn describe(&self) -> String;
    /// Writes one record (one line, with its `\n`).
    fn write_record(&mut self, line: &[u8]) -> io::Result<()>;
    /// Pushes buffered bytes to the OS.
    fn flush(&mut self) -> io::Result<()>;
    /// Flushes and releases the sink.
    fn close(&mut self) -> io::Result<()> {
        self.flush()
    }
}

/// A handler that formats each record (JSON lines by default) and writes it
/// to a [`RecordSink`]: the stream, file, rotating-file and shared-file
/// handlers are all this type.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// use tributary_handlers::{filter::LevelRange, Handler, StreamHandler};
/// use tributary_core::Level;
/// // The cookbook's "custom handling of levels": errors to stderr only.
/// let mut errors = StreamHandler::stderr()
///     .with_level(Level::ERROR)
///     .with_filter(LevelRange::at_least(Level::ERROR));
/// assert_eq!(errors.level(), Level::ERROR);
/// errors.flush()?;
/// # Ok(()) }
/// ```
pub struct FormatHandler<S> {
    sink: S,
    level: Level,
    filters: Vec<Box<dyn Filter>>,
    formatter: Arc<dyn Formatter>,
    buf: Vec<u8>,
}

/// The native JSON formatter every handler starts with: one shared
/// instance, so a queue sees that its handlers format alike and can format
/// on the producing thread (see [`Handler::line_formatter`]).
pub(crate) fn default_formatter() -> Arc<dyn Formatter> {
    static NATIVE: OnceLock<Arc<dyn Formatter>> = OnceLock::new();
    NATIVE
        .get_or_init(|| Arc::new(JsonFormatter::native()))
        .clone()
}

impl<S: RecordSink> FormatHandler<S> {
    /// A handler writing native JSON lines to `sink`, at every level.
    pub fn new(sink: S) -> FormatHandler<S> {
        FormatHandler {
            sink,
            level: Level::NOTSET,
            filters: Vec::new(),
            formatter: default_formatter(),
            buf: Vec::with_capacity(512),
        }
    }

    /// Sets the handler's level.
    #[must_use]
    pub fn with_level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Adds a filter; filters run in the order added.
    #[must_use]
    pub fn with_filter(mut self, filter: impl Filter + 'static) -> Self {
        self.filters.push(Box::new(filter));
        self
    }

    /// Replaces the formatter (default: [`JsonFormatter::native`]).
    #[must_use]
    pub fn with_formatter(mut self, formatter: impl Formatter + 'static) -> Self {
        self.formatter = Arc::new(formatter);
        self
    }

    /// Uses a formatter shared with other handlers. Handlers of one queue
    /// that share their formatter (and have no filters) get records
    /// formatted once, on the producing thread.
    #[must_use]
    pub fn with_shared_formatter(mut self, formatter: Arc<dyn Formatter>) -> Self {
        self.formatter = formatter;
        self
    }

    /// The sink.
    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// The sink, mutably (to reopen a file, say).
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }
}

impl<S: RecordSink> Handler for FormatHandler<S> {
    fn name(&self) -> String {
        self.sink.describe()
    }

    fn level(&self) -> Level {
        self.level.clone()
    }

    fn handle(&mut self, record: &Record) -> io::Result<()> {
        let Some(record) = filter::apply(&self.filters, record) else {
            return Ok(());
        };
        self.buf.clear();
        self.formatter.format(&record, &mut self.buf);
        self.buf.push(b'\n');
        self.sink.write_record(&self.buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }

    fn close(&mut self) -> io::Result<()> {
        self.sink.close()
    }

    fn line_formatter(&self) -> Option<Arc<dyn Formatter>> {
        // A filter may reject or enrich the record: it needs the record.
        self.filters.is_empty().then(|| self.formatter.clone())
    }

    fn handle_formatted(&mut self, line: &[u8]) -> io::Result<()> {
        self.sink.write_record(line)
    }
}
