//! Pattern formatting: the logging cookbook's multiprocessing template and
//! a numeric-heavy one, on a typical record.
//!
//! Run: `cargo bench -p tributary-core --bench pattern`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tributary_core::pattern::{PatternFormatter, Style};
use tributary_core::{Formatter, Level, Record, Timestamp};

fn typical() -> Record {
    Record::builder(Level::INFO, "request handled in 12 ms")
        .ts(Timestamp::from_unix_nanos(1_763_774_682_444_123_000))
        .logger("app.http")
        .host("web-1")
        .pid(4242)
        .process("Worker-3")
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

fn bench(c: &mut Criterion) {
    let record = typical();
    let mut out = Vec::with_capacity(256);
    let cases = [
        (
            "cookbook %",
            PatternFormatter::new(
                "%(asctime)s %(processName)-10s %(name)s %(levelname)-8s %(message)s",
            ),
        ),
        (
            "cookbook {}",
            PatternFormatter::with_style(
                "{asctime} {processName:<10} {name} {levelname:<8} {message}",
                Style::Brace,
            ),
        ),
        (
            "numbers %",
            PatternFormatter::new_with_fields(
                "%(created)f %(msecs)03d %(relativeCreated)6d %(process)x %(lineno)5d %(elapsed_ms).3f %(status)d",
                ["elapsed_ms", "status"],
            ),
        ),
    ];
    for (name, formatter) in cases {
        let formatter = match formatter {
            Ok(f) => f,
            Err(e) => panic!("{name}: {e}"),
        };
        c.bench_function(&format!("pattern/{name}"), |b| {
            b.iter(|| {
                out.clear();
                formatter.format(black_box(&record), &mut out);
                black_box(&out);
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
