//! End-to-end ingest throughput: a client on loopback sends pre-encoded
//! records, the listener decodes, queues, formats and writes them; each
//! measurement waits until the writer has written every record.

#![allow(clippy::unwrap_used)] // a benchmark: any failure should abort it loudly

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};
use tributary_core::{JsonFormatter, Level, Record, frame};
use tributary_listener::{Listener, OutputSpec};

const RECORDS: u64 = 20_000;

fn record(i: u64) -> Record {
    Record::builder(Level::INFO, format!("request {i} served"))
        .logger("app.web")
        .pid(4242)
        .seq(i)
        .field("status", 200)
        .field("path", "/index.html")
        .build()
}

fn native_frames() -> Vec<u8> {
    let mut wire = Vec::new();
    for i in 0..RECORDS {
        frame::encode_record(&record(i), &JsonFormatter::native(), &mut wire).unwrap();
    }
    wire
}

fn json_lines() -> Vec<u8> {
    let mut wire = Vec::new();
    for i in 0..RECORDS {
        tributary_core::Formatter::format(&JsonFormatter::native(), &record(i), &mut wire);
        wire.push(b'\n');
    }
    wire
}

fn bench_wire(c: &mut Criterion, name: &str, wire: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let listener = Listener::builder()
        .tcp("127.0.0.1:0")
        .output(OutputSpec::file(dir.path().join("bench.log")))
        .spawn()
        .unwrap();
    let addr = listener.bound()[0].socket_addr().unwrap();
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(RECORDS));
    group.sample_size(10);
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let before = listener.stats().writer.records;
                let start = Instant::now();
                let mut client = TcpStream::connect(addr).unwrap();
                client.write_all(wire).unwrap();
                drop(client);
                while listener.stats().writer.records < before + RECORDS {
                    std::thread::sleep(Duration::from_micros(200));
                }
                total += start.elapsed();
            }
            total
        });
    });
    group.finish();
}

fn ingest(c: &mut Criterion) {
    bench_wire(c, "tcp_native_frames", &native_frames());
    bench_wire(c, "tcp_ndjson", &json_lines());
}

criterion_group!(benches, ingest);
criterion_main!(benches);
