//! Runs one of core's hot paths on the benches' typical record, N times, so
//! a profiler can count its cost without criterion's machinery around it.
//!
//! ```sh
//! cargo build --release -p tributary-core --example hot_paths
//! for n in 1 10001; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/examples/hot_paths decode $n 2>&1 | grep refs; done
//! ```
//!
//! (instructions at 10001 − instructions at 1) ÷ 10000 = instructions per
//! record. Paths: `decode` (native JSON → `Record`), `foreign` (a foreign
//! producer's JSON → `Record`: keys in alphabetical order as
//! `serde_json::json!` writes them, 4 fields), `decode_reused` and
//! `foreign_reused` (the same, decoded into one record reused as the
//! listener does per connection), `foreign_native` (the foreign record
//! decoded into a reused record and written as a native JSON line: the
//! listener's s13 path), `format` (native JSON line),
//! `pattern` (the cookbook's `%` template), `pickle` (the pickle bench's
//! LogRecord → `Record`), `pickle_pattern` (that record decoded into a
//! reused record and written through the cookbook's template, as the
//! listener does for a text output).

use std::hint::black_box;
use tributary_core::json::decode_json_into;
use tributary_core::{Formatter, JsonFormatter, PatternFormatter, decode_json};

#[path = "../benches/common/mod.rs"]
mod common;
#[path = "../benches/common/pickled.rs"]
mod pickled;

/// The logging cookbook's socket receiver pattern.
const COOKBOOK: &str = "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "decode".to_owned());
    let n: u64 = args.next().as_deref().unwrap_or("1").parse()?;
    let record = common::typical();
    let mut line = Vec::with_capacity(512);
    JsonFormatter::native().format(&record, &mut line);
    match path.as_str() {
        "decode" => {
            let mut total = 0;
            for _ in 0..n {
                let r = decode_json(black_box(&line))?;
                total += r.msg.len();
                black_box(&r);
            }
            black_box(total);
        }
        "foreign" => {
            let foreign = common::FOREIGN.as_bytes();
            let mut total = 0;
            for _ in 0..n {
                let r = decode_json(black_box(foreign))?;
                total += r.msg.len();
                black_box(&r);
            }
            black_box(total);
        }
        "decode_reused" | "foreign_reused" => {
            let input = if path == "decode_reused" {
                &line[..]
            } else {
                common::FOREIGN.as_bytes()
            };
            let mut r = tributary_core::Record::empty();
            let mut total = 0;
            for _ in 0..n {
                decode_json_into(black_box(input), &mut r)?;
                total += r.msg.len();
                black_box(&r);
            }
            black_box(total);
        }
        "foreign_native" => {
            let f = JsonFormatter::native();
            let mut out = Vec::with_capacity(512);
            let mut r = tributary_core::Record::empty();
            for _ in 0..n {
                decode_json_into(black_box(common::FOREIGN.as_bytes()), &mut r)?;
                out.clear();
                f.format(&r, &mut out);
                black_box(&out);
            }
        }
        "format" => {
            let f = JsonFormatter::native();
            let mut out = Vec::with_capacity(512);
            for _ in 0..n {
                out.clear();
                f.format(black_box(&record), &mut out);
                black_box(&out);
            }
        }
        "pattern" => {
            let f = PatternFormatter::new(COOKBOOK)?;
            let mut out = Vec::with_capacity(256);
            for _ in 0..n {
                out.clear();
                f.format(black_box(&record), &mut out);
                black_box(&out);
            }
        }
        "pickle" => {
            for _ in 0..n {
                let r = tributary_core::pickle::decode_record(black_box(pickled::RECORD), false)?;
                black_box(&r);
            }
        }
        "pickle_pattern" => {
            let f = PatternFormatter::new(COOKBOOK)?;
            let mut out = Vec::with_capacity(256);
            let mut r = tributary_core::Record::empty();
            for _ in 0..n {
                tributary_core::pickle::decode_record_into(
                    black_box(pickled::RECORD),
                    false,
                    &mut r,
                )?;
                out.clear();
                f.format(&r, &mut out);
                black_box(&out);
            }
        }
        other => {
            return Err(
                format!("unknown path {other:?}: decode, foreign, decode_reused, foreign_reused, foreign_native, format, pattern, pickle or pickle_pattern").into(),
            );
        }
    }
    Ok(())
}
