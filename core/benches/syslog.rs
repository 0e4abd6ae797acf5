//! Syslog parsing and framing: `logger`'s RFC 5424 message (with its
//! `timeQuality` element), an RFC 3164 one, Python's header-less form,
//! and framing a stream of octet-counted messages.
//!
//! Run: `cargo bench -p tributary-core --bench syslog`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::tz::TimeZone;
use std::hint::black_box;
use tributary_core::Timestamp;
use tributary_core::syslog::{SyslogFramer, SyslogParser};

const RFC5424: &[u8] = b"<13>1 2026-12-05T13:03:49.123456+00:00 vm myapp 4242 - [timeQuality tzKnown=\"1\" isSynced=\"0\"] user 42 logged in from 10.0.0.7";
const RFC3164: &[u8] = b"<13>Dec  5 13:03:49 vm myapp[4242]: user 42 logged in from 10.0.0.7";
const PYTHON: &[u8] = b"<12>app.auth: user 42 logged in from 10.0.0.7\0";

fn bench(c: &mut Criterion) {
    let parser = SyslogParser::new(TimeZone::UTC);
    let now = Timestamp::now();
    let mut group = c.benchmark_group("syslog parse");
    group.throughput(Throughput::Elements(1));
    for (name, message) in [
        ("rfc5424", RFC5424),
        ("rfc3164", RFC3164),
        ("python", PYTHON),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| black_box(parser.parse(black_box(message), now)))
        });
    }
    group.finish();

    let mut stream = Vec::new();
    for _ in 0..1000 {
        stream.extend_from_slice(format!("{} ", RFC5424.len()).as_bytes());
        stream.extend_from_slice(RFC5424);
    }
    let mut group = c.benchmark_group("syslog frame");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("octet-counted x1000", |b| {
        b.iter(|| {
            let mut framer = SyslogFramer::new(64 * 1024);
            framer.push(black_box(&stream));
            let mut n = 0;
            while let Some(Ok(m)) = framer.next_message() {
                n += m.len();
            }
            black_box(n)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
