//! The core of Tributary: the log [`Record`], its formatters, wire frames
//! and safe decoding of what producers send.
//!
//! ```
//! use tributary_core::{Formatter, JsonFormatter, Level, Record, decode_payload, frame};
//!
//! // A producer builds a record and frames it ...
//! let record = Record::builder(Level::WARNING, "disk almost full")
//!     .logger("app.storage")
//!     .field("free_mb", 512)
//!     .build();
//! let mut wire = Vec::new();
//! frame::encode_record(&record, &JsonFormatter::native(), &mut wire).unwrap();
//!
//! // ... the listener decodes the frame, whatever the chunking ...
//! let mut decoder = frame::StreamDecoder::new(frame::DEFAULT_MAX_FRAME);
//! decoder.push(&wire);
//! let payload = decoder.next_payload().unwrap().unwrap();
//! let received = decode_payload(payload, Default::default()).unwrap();
//! assert_eq!(received.fields.get("free_mb").and_then(|v| v.as_i64()), Some(512));
//!
//! // ... and writes one JSON line.
//! let mut line = Vec::new();
//! JsonFormatter::native().format(&received, &mut line);
//! assert!(line.starts_with(b"{\"ts\":"));
//! ```
//!
//! Features: `pickle` (default) decodes the pickled LogRecord dicts sent by
//! Python's `SocketHandler` and `DatagramHandler`, refusing every opcode
//! that could run code. `otlp` decodes OpenTelemetry OTLP log exports,
//! protobuf and OTLP/JSON (the `otlp` module).

mod decode;
mod error;
pub mod form;
mod formatter;
pub mod frame;
pub mod json;
mod level;
mod log_record;
pub mod logger;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod pattern;
#[cfg(feature = "pickle")]
pub mod pickle;
mod pyfmt;
mod rate_limit;
mod record;
pub mod syslog;
mod time;
mod utf8;
mod value;

/// The text type of [`Record`]'s fields and of [`Fields`]' keys, re-exported so
/// users need no dependency of their own to name it.
pub use compact_str::CompactString;
pub use decode::{DecodeOptions, decode_payload, decode_payload_into};
pub use error::DecodeError;
pub use formatter::Formatter;
pub use json::{JsonFormatter, JsonProfile, decode_json};
pub use level::Level;
pub use logger::logger_matches;
pub use pattern::{PatternBuilder, PatternError, PatternFormatter, Style};
pub use rate_limit::RateLimit;
pub use record::{Record, RecordBuilder};
pub use time::Timestamp;
pub use value::{Fields, Value};
