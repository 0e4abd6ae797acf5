//! Python `HTTPHandler`'s urlencoded record (`urlencode(record.__dict__)`,
//! captured from CPython 3.11) decoded into a reused record: the form
//! parsed, `args` read by the literal parser, `msg % args` formatted.
//!
//! Run: `cargo bench -p tributary-core --bench form`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tributary_core::Record;
use tributary_core::form::decode_form_record;

const WITH_ARGS: &[u8] = b"name=app.db&msg=query+%25s+took+%25.2f+ms+%28%25d+rows%29&args=%28%27select+1%27%2C+3.14159%2C+7%29&levelname=WARNING&levelno=30&pathname=%2Fsrv%2Fapp%2Fdb.py&filename=db.py&module=db&exc_info=None&exc_text=None&stack_info=None&lineno=42&funcName=run&created=1796559587.219906&msecs=219.0&relativeCreated=0.9949207305908203&thread=139698174081920&threadName=MainThread&processName=MainProcess&process=1918";
const NO_ARGS: &[u8] = b"name=app&msg=user+42+logged+in&args=%28%29&levelname=INFO&levelno=20&pathname=%2Fsrv%2Fapp%2Fauth.py&filename=auth.py&module=auth&exc_info=None&exc_text=None&stack_info=None&lineno=7&funcName=login&created=1796559587.219906&msecs=219.0&relativeCreated=0.99&thread=139698174081920&threadName=MainThread&processName=MainProcess&process=1918&user=ann";

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("form decode");
    group.throughput(Throughput::Elements(1));
    for (name, form) in [("with args", WITH_ARGS), ("no args", NO_ARGS)] {
        let mut record = Record::empty();
        group.bench_function(name, |b| {
            b.iter(|| {
                decode_form_record(black_box(form), &mut record).ok();
                black_box(record.msg.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
