//! The log record: one event with its source, context and typed fields.

use crate::{Fields, Level, Timestamp, Value};
use compact_str::CompactString;

/// A cleared record keeps a message or logger buffer up to this size.
const KEEP_TEXT_BYTES: usize = 4096;
/// A cleared record keeps room for up to this many fields.
const KEEP_FIELDS: usize = 64;

/// One log event, with every field of the native JSON profile.
///
/// Optional fields are `None` when the producer did not send them; the JSON
/// formatter then omits the key.
///
/// Text fields are [`CompactString`]s: they read like `&str` (`Deref`),
/// compare with `&str` and `String`, and are built from either with
/// `.into()`. Logger, host, thread, file and module names are short, and up
/// to 24 bytes are kept inline, so decoding a typical record allocates for
/// its fields map and little else (most of a decode's cost was malloc and
/// free of a dozen small `String`s).
///
/// Build one from code with [`Record::builder`]:
///
/// ```
/// use tributary_core::{Level, Record};
/// let record = Record::builder(Level::INFO, "user logged in")
///     .logger("app.auth")
///     .field("user", "ann")
///     .field("attempt", 2)
///     .build();
/// assert_eq!(record.logger, "app.auth");
/// assert_eq!(record.fields.len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// When the event happened.
    pub ts: Timestamp,
    /// Severity.
    pub level: Level,
    /// Logger name (`name` in Python, `target` in `tracing`); `root` when unnamed.
    pub logger: CompactString,
    /// The message, already merged with its arguments.
    pub msg: CompactString,
    /// Host name of the producer.
    pub host: Option<CompactString>,
    /// Process id of the producer.
    pub pid: Option<u32>,
    /// Process name (Python's `processName`).
    pub process: Option<CompactString>,
    /// Thread id (Python's `thread`).
    pub tid: Option<u64>,
    /// Thread name (Python's `threadName`).
    pub thread: Option<CompactString>,
    /// Source file path (Python's `pathname`).
    pub file: Option<CompactString>,
    /// Source line number.
    pub line: Option<u32>,
    /// Function name.
    pub func: Option<CompactString>,
    /// Module name (Python's `module`, Rust's module path).
    pub module: Option<CompactString>,
    /// Per-producer sequence number, for loss and duplicate detection.
    pub seq: Option<u64>,
    /// Formatted exception (Python's `exc_text`).
    pub exc: Option<CompactString>,
    /// Formatted stack (Python's `stack_info`).
    pub stack: Option<CompactString>,
    /// Structured fields: Python `extra=` attributes, `tracing` event fields,
    /// span and adapter context.
    pub fields: Fields,
    /// Milliseconds since the producer's logging start (Python's
    /// `relativeCreated`). Kept for pattern formatting; not part of the JSON
    /// profile.
    pub relative_created_ms: Option<f64>,
}

impl Record {
    /// A record stamped now, with the given level, logger and message.
    pub fn new(
        level: Level,
        logger: impl Into<CompactString>,
        msg: impl Into<CompactString>,
    ) -> Record {
        Record::new_at(Timestamp::now(), level, logger, msg)
    }

    /// A record stamped `ts`, with the given level, logger and message.
    pub fn new_at(
        ts: Timestamp,
        level: Level,
        logger: impl Into<CompactString>,
        msg: impl Into<CompactString>,
    ) -> Record {
        Record {
            ts,
            level,
            logger: logger.into(),
            msg: msg.into(),
            host: None,
            pid: None,
            process: None,
            tid: None,
            thread: None,
            file: None,
            line: None,
            func: None,
            module: None,
            seq: None,
            exc: None,
            stack: None,
            fields: Fields::new(),
            relative_created_ms: None,
        }
    }

    /// Empties the record for reuse (time 0, level INFO, empty logger and
    /// message, no optional parts, no fields) while keeping the room its
    /// message, logger and fields map had grown (up to 4 KiB of text and 64
    /// fields: beyond that the memory is given back), so a record decoded
    /// into again and again stops allocating once warm.
    pub fn clear(&mut self) {
        self.ts = Timestamp::from_unix_nanos(0);
        self.level = Level::INFO;
        // What one large record grew is given back: a reused record per
        // connection must not pin a frame's worth of memory per connection.
        for text in [&mut self.logger, &mut self.msg] {
            if text.capacity() > KEEP_TEXT_BYTES {
                *text = CompactString::default();
            } else {
                text.clear();
            }
        }
        self.host = None;
        self.pid = None;
        self.process = None;
        self.tid = None;
        self.thread = None;
        self.file = None;
        self.line = None;
        self.func = None;
        self.module = None;
        self.seq = None;
        self.exc = None;
        self.stack = None;
        self.fields.clear_within(KEEP_FIELDS);
        self.relative_created_ms = None;
    }

    /// An empty record stamped at the epoch, on no logger: what a decoder
    /// starts from (see [`Record::clear`]); it reads no clock.
    pub fn empty() -> Record {
        Record::new_at(
            Timestamp::from_unix_nanos(0),
            Level::INFO,
            CompactString::default(),
            CompactString::default(),
        )
    }

    /// Starts building a record stamped now, on the `root` logger.
    pub fn builder(level: Level, msg: impl Into<CompactString>) -> RecordBuilder {
        RecordBuilder(Record::new(level, "root", msg))
    }
}

impl Default for Record {
    fn default() -> Self {
        Record::new(Level::INFO, "root", "")
    }
}

/// Builds a [`Record`] with chained calls; see [`Record::builder`].
#[derive(Clone, Debug)]
#[must_use = "call .build() to get the record"]
pub struct RecordBuilder(Record);

macro_rules! opt_setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: impl Into<$ty>) -> Self {
            self.0.$name = Some(value.into());
            self
        }
    )*};
}

macro_rules! num_setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.0.$name = Some(value);
            self
        }
    )*};
}

impl RecordBuilder {
    /// Sets the timestamp (default: when the builder was created).
    pub fn ts(mut self, ts: Timestamp) -> Self {
        self.0.ts = ts;
        self
    }

    /// Sets the logger name (default `root`).
    pub fn logger(mut self, logger: impl Into<CompactString>) -> Self {
        self.0.logger = logger.into();
        self
    }

    opt_setters! {
        /// Sets the host name.
        host: CompactString,
        /// Sets the process name.
        process: CompactString,
        /// Sets the thread name.
        thread: CompactString,
        /// Sets the source file.
        file: CompactString,
        /// Sets the function name.
        func: CompactString,
        /// Sets the module name.
        module: CompactString,
        /// Sets the formatted exception.
        exc: CompactString,
        /// Sets the formatted stack.
        stack: CompactString,
    }

    num_setters! {
        /// Sets the process id.
        pid: u32,
        /// Sets the thread id.
        tid: u64,
        /// Sets the source line.
        line: u32,
        /// Sets the per-producer sequence number.
        seq: u64,
    }

    /// Adds (or replaces) a structured field.
    pub fn field(mut self, key: impl Into<CompactString>, value: impl Into<Value>) -> Self {
        self.0.fields.insert(key, value);
        self
    }

    /// The finished record.
    pub fn build(self) -> Record {
        self.0
    }
}

/// Checks a decoder's reuse: each payload decoded into one record, reused
/// from payload to payload, must equal a fresh decode of it (the time
/// aside, when both were stamped on receipt), so nothing of an earlier
/// record (a field, the level, an exception) leaks into a later one.
#[cfg(test)]
pub(crate) fn decodes_like_fresh<'p, E>(
    payloads: impl IntoIterator<Item = &'p [u8]>,
    fresh: impl Fn(&[u8]) -> Result<Record, E>,
    into: impl Fn(&[u8], &mut Record) -> Result<(), E>,
) -> Result<(), proptest::test_runner::TestCaseError> {
    use proptest::{prop_assert, prop_assert_eq};
    let mut reused = Record::empty();
    for payload in payloads {
        let before = Timestamp::now();
        let fresh = fresh(payload);
        let again = into(payload, &mut reused);
        prop_assert_eq!(fresh.is_ok(), again.is_ok());
        if let Ok(mut fresh) = fresh {
            if fresh.ts != reused.ts {
                prop_assert!(fresh.ts >= before && reused.ts >= before);
                fresh.ts = reused.ts;
            }
            prop_assert_eq!(&reused, &fresh);
        }
    }
    Ok(())
}
