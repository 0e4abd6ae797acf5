//! The record every core benchmark measures, so their figures compare.

use tributary_core::{Level, Record, Timestamp};

/// The issues' "typical record": 12 standard fields and 3 extra fields,
/// about 340 bytes of native JSON.
pub fn typical() -> Record {
    Record::builder(Level::INFO, "request handled in 12 ms")
        .ts(Timestamp::from_unix_nanos(1_763_774_682_444_123_000))
        .logger("app.http")
        .host("web-1")
        .pid(4242)
        .process("MainProcess")
        .tid(140_245_112_653_632)
        .thread("worker-3")
        .file("src/http/server.rs")
        .line(218)
        .module("app::http")
        .seq(1_000_001)
        .field("method", "GET")
        .field("status", 200)
        .field("elapsed_ms", 12.5)
        .build()
}

/// A foreign producer's record, as `serde_json::json!` writes it: keys in
/// alphabetical order (so `fields` first and `ts` last), 4 fields, compact.
/// The issue's "foreign JSON" shape, also what xtask's s13 sends.
#[allow(dead_code, reason = "not every bench decodes foreign JSON")]
pub const FOREIGN: &str = concat!(
    r#"{"fields":{"elapsed_ms":12.5,"method":"GET","path":"/api/users","status":200},"#,
    r#""level":"INFO","levelno":20,"logger":"app.http","msg":"request handled in 12 ms","#,
    r#""pid":4242,"seq":1000001,"ts":"2025-11-22T01:24:42.444123Z"}"#
);
