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
