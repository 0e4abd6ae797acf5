//! The one record shape every producer logs, Rust or Python: the message
//! `p<producer> #<seq> PAYLOAD` (the oracle reads producer and sequence
//! from it), logger `bench.p<producer>`, level INFO and three fields
//! (`user`, `bytes`, `ok`). `bench/bench_common.py` holds the same text.

/// The constant part of every message: a typical access-log line.
pub const PAYLOAD: &str = "GET /api/v1/items?page=3 status=200 bytes=5120 user=ann";

/// The message of record `seq` of `producer`.
pub fn message(producer: usize, seq: u64) -> String {
    format!("p{producer} #{seq:06} {PAYLOAD}")
}

/// The logger name of `producer`.
pub fn logger(producer: usize) -> String {
    format!("bench.p{producer}")
}

/// The native record of `seq` for `producer`, as a Rust producer builds it.
pub fn record(producer: usize, seq: u64) -> tributary_core::Record {
    tributary_core::Record::builder(tributary_core::Level::INFO, message(producer, seq))
        .logger(logger(producer))
        .field("user", "ann")
        .field("bytes", seq)
        .field("ok", true)
        .build()
}
