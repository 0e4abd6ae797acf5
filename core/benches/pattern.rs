//! Pattern formatting: the logging cookbook's multiprocessing template and
//! a numeric-heavy one, on a typical record.
//!
//! Run: `cargo bench -p tributary-core --bench pattern`.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tributary_core::Formatter;
use tributary_core::pattern::{PatternFormatter, Style};

mod common;
use common::typical;

fn bench(c: &mut Criterion) {
    // A pool worker's process name, as in the cookbook's output.
    let mut record = typical();
    record.process = Some("Worker-3".into());
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
