//! Decoding a pickled LogRecord as Python's SocketHandler sends it.
//!
//! Run: `cargo bench -p tributary-core --bench pickle`.
//!
//! The payload is embedded so the bench needs no Python. It was produced
//! with CPython 3.11:
//!
//! ```text
//! python3 -c 'import logging, logging.handlers as H
//! r = logging.getLogger("app.db").makeRecord("app.db", logging.WARNING, "/src/app/db.py", 42,
//!     "user %s failed %d times", ("ann", 3), None, func="connect",
//!     extra={"user": "ann", "attempt": 3, "ratio": 0.25})
//! print(H.SocketHandler("localhost", None).makePickle(r)[4:])'
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tributary_core::pickle::{decode_record, decode_value};

/// The pickle only (without the 4-byte frame length): 558 bytes,
/// protocol 1, 20 standard attributes and 3 extra fields.
const RECORD: &[u8] = b"}q\x00(X\x04\x00\x00\x00nameq\x01X\x06\x00\x00\x00app.dbq\x02X\x03\x00\x00\x00msgq\x03X\x17\x00\x00\x00user ann failed 3 timesq\x04X\x04\x00\x00\x00argsq\x05NX\t\x00\x00\x00levelnameq\x06X\x07\x00\x00\x00WARNINGq\x07X\x07\x00\x00\x00levelnoq\x08K\x1eX\x08\x00\x00\x00pathnameq\tX\x0e\x00\x00\x00/src/app/db.pyq\nX\x08\x00\x00\x00filenameq\x0bX\x05\x00\x00\x00db.pyq\x0cX\x06\x00\x00\x00moduleq\rX\x02\x00\x00\x00dbq\x0eX\x08\x00\x00\x00exc_infoq\x0fNX\x08\x00\x00\x00exc_textq\x10NX\n\x00\x00\x00stack_infoq\x11NX\x06\x00\x00\x00linenoq\x12K*X\x08\x00\x00\x00funcNameq\x13X\x07\x00\x00\x00connectq\x14X\x07\x00\x00\x00createdq\x15GA\xda\xc0\x92\xae\xb2J6X\x05\x00\x00\x00msecsq\x16G@\x88\x88\x00\x00\x00\x00\x00X\x0f\x00\x00\x00relativeCreatedq\x17G@5\xeeB\x00\x00\x00\x00X\x06\x00\x00\x00threadq\x18L140329834052480L\nX\n\x00\x00\x00threadNameq\x19X\n\x00\x00\x00MainThreadq\x1aX\x0b\x00\x00\x00processNameq\x1bX\x0b\x00\x00\x00MainProcessq\x1cX\x07\x00\x00\x00processq\x1dM\x05\x1cX\x04\x00\x00\x00userq\x1eX\x03\x00\x00\x00annq\x1fX\x07\x00\x00\x00attemptq K\x03X\x05\x00\x00\x00ratioq!G?\xd0\x00\x00\x00\x00\x00\x00u.";

fn pickle(c: &mut Criterion) {
    let mut g = c.benchmark_group("pickle");
    g.throughput(Throughput::Bytes(RECORD.len() as u64));
    // The listener's path: payload → Record. Target: ≤ 1.5 µs.
    g.bench_function("decode_record", |b| {
        b.iter(|| decode_record(black_box(RECORD), false))
    });
    g.bench_function("decode_value", |b| {
        b.iter(|| decode_value(black_box(RECORD), false))
    });
    g.finish();
}

criterion_group!(benches, pickle);
criterion_main!(benches);
