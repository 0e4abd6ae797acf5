//! JSON: the formatter (native, ECS, OpenTelemetry and tracing profiles),
//! escaping, and decoding of native JSON records.

mod decode;
pub(crate) mod escape;
mod formatter;
pub(crate) mod parse;

pub use decode::{decode_json, decode_json_into, key_word, key_words};
pub use escape::{write_str, write_value};
pub use formatter::{ECS_VERSION, JsonFormatter, JsonProfile, RenameError, otel_severity};
