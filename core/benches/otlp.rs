//! OTLP log export decoding: one request of 512 records (an OpenTelemetry
//! SDK's default batch) as the Python SDK's OTLP/HTTP exporter builds them,
//! in protobuf and in OTLP/JSON, decoded into records.
//!
//! Run: `cargo bench -p tributary-core --features otlp --bench otlp`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use std::hint::black_box;
use tributary_core::otlp::messages::{
    AnyValue, ExportLogsServiceRequest, InstrumentationScope, KeyValue, LogRecord, Resource,
    ResourceLogs, ScopeLogs, any_value,
};
use tributary_core::otlp::{DecodeLimits, Encoding, decode};

const RECORDS: usize = 512;

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
    }
}

fn text(s: &str) -> any_value::Value {
    any_value::Value::StringValue(s.into())
}

fn request() -> ExportLogsServiceRequest {
    let records = (0..RECORDS)
        .map(|i| LogRecord {
            time_unix_nano: 1_765_000_000_000_000_000 + i as u64,
            observed_time_unix_nano: 1_765_000_000_000_000_000 + i as u64,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: Some(AnyValue {
                value: Some(text(&format!("user {i} logged in from 10.0.0.7"))),
            }),
            attributes: vec![
                kv("code.file.path", text("/srv/app/auth.py")),
                kv("code.function.name", text("login")),
                kv("code.line.number", any_value::Value::IntValue(42)),
                kv("user", any_value::Value::IntValue(i as i64)),
            ],
            flags: 1,
            trace_id: (0..16).collect(),
            span_id: (0..8).collect(),
            ..Default::default()
        })
        .collect();
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", text("auth")),
                    kv("telemetry.sdk.language", text("python")),
                    kv("telemetry.sdk.name", text("opentelemetry")),
                    kv("telemetry.sdk.version", text("1.39.0")),
                ],
                dropped_attributes_count: 0,
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "app.auth".into(),
                    ..Default::default()
                }),
                log_records: records,
            }],
        }],
    }
}

/// The same request in OTLP/JSON, written by hand (the message types only decode JSON).
fn json(request: &ExportLogsServiceRequest) -> Vec<u8> {
    use std::fmt::Write;
    let mut out = String::from(
        r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"auth"}},{"key":"telemetry.sdk.language","value":{"stringValue":"python"}},{"key":"telemetry.sdk.name","value":{"stringValue":"opentelemetry"}},{"key":"telemetry.sdk.version","value":{"stringValue":"1.39.0"}}]},"scopeLogs":[{"scope":{"name":"app.auth"},"logRecords":["#,
    );
    for (i, r) in request.resource_logs[0].scope_logs[0]
        .log_records
        .iter()
        .enumerate()
    {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"timeUnixNano":"{t}","observedTimeUnixNano":"{t}","severityNumber":9,"severityText":"INFO","body":{{"stringValue":"user {i} logged in from 10.0.0.7"}},"attributes":[{{"key":"code.file.path","value":{{"stringValue":"/srv/app/auth.py"}}}},{{"key":"code.function.name","value":{{"stringValue":"login"}}}},{{"key":"code.line.number","value":{{"intValue":"42"}}}},{{"key":"user","value":{{"intValue":"{i}"}}}}],"flags":1,"traceId":"000102030405060708090a0b0c0d0e0f","spanId":"0001020304050607"}}"#,
            t = r.time_unix_nano
        );
    }
    out.push_str("]}]}]}");
    out.into_bytes()
}

fn bench(c: &mut Criterion) {
    let request = request();
    let protobuf = request.encode_to_vec();
    let json = json(&request);
    let limits = DecodeLimits::default();
    let mut group = c.benchmark_group("otlp_decode");
    group.throughput(Throughput::Elements(RECORDS as u64));
    for (name, body, encoding) in [
        ("protobuf", &protobuf, Encoding::Protobuf),
        ("json", &json, Encoding::Json),
    ] {
        let decoded = decode(body, encoding, &limits).expect("valid request");
        assert_eq!(decoded.records.len(), RECORDS);
        group.bench_function(name, |b| {
            b.iter(|| black_box(decode(black_box(body), encoding, &limits)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
