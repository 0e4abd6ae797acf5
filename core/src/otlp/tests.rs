use super::messages::{
    AnyValue, ArrayValue, ExportLogsServiceRequest, InstrumentationScope, KeyValue, KeyValueList,
    LogRecord, Resource, ResourceLogs, ScopeLogs, any_value,
};
use super::*;
use crate::{Fields, Level, Value};
use proptest::prelude::*;
use prost::Message;

fn string(s: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(s.into())),
    })
}

fn int(i: i64) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::IntValue(i)),
    })
}

fn kv(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value,
    }
}

/// What the OpenTelemetry Python SDK sends for `logger.warning(...)` inside a span.
fn python_like_request() -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", string("shop")),
                    kv("host.name", string("web-1")),
                    kv("process.pid", int(4242)),
                    kv("telemetry.sdk.language", string("python")),
                ],
                dropped_attributes_count: 0,
            }),
            scope_logs: vec![ScopeLogs {
                scope: Some(InstrumentationScope {
                    name: "shop.cart".into(),
                    ..Default::default()
                }),
                log_records: vec![
                    LogRecord {
                        time_unix_nano: 1_700_000_000_123_456_789,
                        observed_time_unix_nano: 1_700_000_001_000_000_000,
                        severity_number: 13,
                        severity_text: "WARN".into(),
                        body: string("cart 7 is full"),
                        attributes: vec![
                            kv("cart", int(7)),
                            kv("code.file.path", string("/srv/shop/cart.py")),
                            kv("code.function.name", string("add")),
                            kv("code.line.number", int(31)),
                            kv("service.name", string("shop-override")),
                        ],
                        flags: 1,
                        trace_id: (1..=16).collect(),
                        span_id: (1..=8).collect(),
                        ..Default::default()
                    },
                    LogRecord {
                        observed_time_unix_nano: 1_700_000_002_000_000_000,
                        severity_number: 17,
                        severity_text: "ERROR".into(),
                        body: Some(AnyValue {
                            value: Some(any_value::Value::KvlistValue(KeyValueList {
                                values: vec![
                                    kv("event", string("payment")),
                                    kv(
                                        "ok",
                                        Some(AnyValue {
                                            value: Some(any_value::Value::BoolValue(false)),
                                        }),
                                    ),
                                ],
                            })),
                        }),
                        attributes: vec![kv(
                            "exception.stacktrace",
                            string("Traceback (most recent call last):\nValueError: x"),
                        )],
                        trace_id: vec![0; 16],
                        ..Default::default()
                    },
                ],
            }],
        }],
    }
}

fn decode_protobuf(request: &ExportLogsServiceRequest) -> Decoded {
    decode(
        &request.encode_to_vec(),
        Encoding::Protobuf,
        &DecodeLimits::default(),
    )
    .expect("valid protobuf request")
}

#[test]
fn protobuf_maps_every_part() {
    let decoded = decode_protobuf(&python_like_request());
    assert_eq!(decoded.rejected, 0);
    let [warn, error] = decoded.records.as_slice() else {
        panic!("two records expected, got {:?}", decoded.records);
    };
    assert_eq!(warn.ts.unix_nanos(), 1_700_000_000_123_456_789);
    assert_eq!(warn.level, Level::WARNING);
    assert_eq!(warn.logger, "shop.cart");
    assert_eq!(warn.msg, "cart 7 is full");
    assert_eq!(warn.host.as_deref(), Some("web-1"));
    assert_eq!(warn.pid, Some(4242));
    assert_eq!(warn.file.as_deref(), Some("/srv/shop/cart.py"));
    assert_eq!(warn.func.as_deref(), Some("add"));
    assert_eq!(warn.line, Some(31));
    let keys: Vec<_> = warn.fields.keys().collect();
    assert_eq!(
        keys,
        [
            "service.name",
            "telemetry.sdk.language",
            "cart",
            "trace_id",
            "span_id",
            "trace_flags"
        ]
    );
    assert_eq!(
        warn.fields.get("service.name"),
        Some(&Value::from("shop-override"))
    );
    assert_eq!(warn.fields.get("cart"), Some(&Value::Int(7)));
    assert_eq!(
        warn.fields.get("trace_id").and_then(Value::as_str),
        Some("0102030405060708090a0b0c0d0e0f10")
    );
    assert_eq!(
        warn.fields.get("span_id").and_then(Value::as_str),
        Some("0102030405060708")
    );
    assert_eq!(warn.fields.get("trace_flags"), Some(&Value::Int(1)));

    // No event time: the observed time. A map body: its JSON. All-zero trace id: none.
    assert_eq!(error.ts.unix_nanos(), 1_700_000_002_000_000_000);
    assert_eq!(error.level, Level::ERROR);
    assert_eq!(error.msg, r#"{"event":"payment","ok":false}"#);
    assert_eq!(
        error.exc.as_deref(),
        Some("Traceback (most recent call last):\nValueError: x")
    );
    assert!(!error.fields.contains_key("trace_id"));
    assert!(!error.fields.contains_key("exception.stacktrace"));
}

#[test]
fn logger_falls_back_to_service_name_then_otlp() {
    let mut request = python_like_request();
    request.resource_logs[0].scope_logs[0].scope = None;
    assert_eq!(decode_protobuf(&request).records[0].logger, "shop");
    request.resource_logs[0].resource = None;
    let record = &decode_protobuf(&request).records[0];
    assert_eq!(record.logger, DEFAULT_LOGGER);
    assert_eq!(record.host, None);
}

#[test]
fn no_time_at_all_means_now() {
    let request = ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord::default()],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    let before = crate::Timestamp::now();
    let record = &decode_protobuf(&request).records[0];
    assert!(record.ts >= before, "{:?} < {before:?}", record.ts);
    assert_eq!(
        (record.level.clone(), record.msg.as_str()),
        (Level::INFO, "")
    );
}

#[test]
fn json_and_protobuf_decode_the_same_records() {
    let json = r#"{"resourceLogs":[{"resource":{"attributes":[
        {"key":"service.name","value":{"stringValue":"shop"}},
        {"key":"host.name","value":{"stringValue":"web-1"}},
        {"key":"process.pid","value":{"intValue":"4242"}},
        {"key":"telemetry.sdk.language","value":{"stringValue":"python"}}]},
      "scopeLogs":[{"scope":{"name":"shop.cart"},"logRecords":[
        {"timeUnixNano":"1700000000123456789","observedTimeUnixNano":"1700000001000000000",
         "severityNumber":13,"severityText":"WARN","body":{"stringValue":"cart 7 is full"},
         "attributes":[{"key":"cart","value":{"intValue":7}},
           {"key":"code.file.path","value":{"stringValue":"/srv/shop/cart.py"}},
           {"key":"code.function.name","value":{"stringValue":"add"}},
           {"key":"code.line.number","value":{"intValue":"31"}},
           {"key":"service.name","value":{"stringValue":"shop-override"}}],
         "flags":1,"traceId":"0102030405060708090A0B0C0D0E0F10","spanId":"0102030405060708"},
        {"observedTimeUnixNano":1700000002000000000,"severityNumber":17,"severityText":"ERROR",
         "body":{"kvlistValue":{"values":[{"key":"event","value":{"stringValue":"payment"}},
                                          {"key":"ok","value":{"boolValue":false}}]}},
         "attributes":[{"key":"exception.stacktrace","value":{"stringValue":"Traceback (most recent call last):\nValueError: x"}}],
         "traceId":"00000000000000000000000000000000"}]}]}]}"#;
    let from_json =
        decode(json.as_bytes(), Encoding::Json, &DecodeLimits::default()).expect("valid OTLP/JSON");
    let from_protobuf = decode_protobuf(&python_like_request());
    assert_eq!(from_json.records, from_protobuf.records);
}

fn nested(depth: usize) -> Option<AnyValue> {
    let mut value = string("leaf");
    for _ in 1..depth {
        value = Some(AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue {
                values: value.into_iter().collect(),
            })),
        });
    }
    value
}

fn with_attributes(records: Vec<Vec<KeyValue>>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            scope_logs: vec![ScopeLogs {
                log_records: records
                    .into_iter()
                    .map(|attributes| LogRecord {
                        attributes,
                        body: string("m"),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn a_record_nested_too_deep_is_rejected_alone() {
    let limit = DecodeLimits::default().max_depth;
    let request = with_attributes(vec![
        vec![kv("ok", nested(limit))],
        vec![kv("deep", nested(limit + 1))],
        vec![kv("ok", int(1))],
    ]);
    let decoded = decode_protobuf(&request);
    assert_eq!((decoded.records.len(), decoded.rejected), (2, 1));
    let why = decoded.rejection.expect("a reason").to_string();
    assert_eq!(
        why,
        "values nested deeper than 16 levels of attribute or body values"
    );
}

#[test]
fn absurd_nesting_refuses_the_body_with_a_clear_error() {
    let request = with_attributes(vec![vec![kv("deep", nested(200))]]);
    let err = decode(
        &request.encode_to_vec(),
        Encoding::Protobuf,
        &DecodeLimits::default(),
    )
    .expect_err("200 levels");
    assert_eq!(
        err.to_string(),
        "values nested deeper than 96 protobuf messages"
    );

    let mut json = String::new();
    for _ in 0..200 {
        json.push_str(r#"{"arrayValue":{"values":["#);
    }
    let json = format!(r#"{{"resourceLogs":[{{"scopeLogs":[{{"logRecords":[{{"body":{json}"#);
    let err = decode(json.as_bytes(), Encoding::Json, &DecodeLimits::default())
        .expect_err("200 levels")
        .to_string();
    assert!(
        err.starts_with("invalid OTLP/JSON body: recursion limit exceeded"),
        "{err}"
    );
}

#[test]
fn counts_past_the_limits_refuse_the_body_before_decoding() {
    let request = with_attributes(vec![vec![]; 11]);
    let limits = DecodeLimits {
        max_records: 10,
        ..DecodeLimits::default()
    };
    let err =
        decode(&request.encode_to_vec(), Encoding::Protobuf, &limits).expect_err("11 records");
    assert_eq!(err, OtlpError::TooManyRecords { limit: 10 });
    let limits = DecodeLimits {
        max_values: 20,
        ..DecodeLimits::default()
    };
    let err = decode(&request.encode_to_vec(), Encoding::Protobuf, &limits).expect_err("values");
    assert_eq!(err, OtlpError::TooManyValues { limit: 20 });
}

#[test]
fn garbage_is_refused() {
    let err = decode(
        b"\xff\xff\xff\xff garbage",
        Encoding::Protobuf,
        &DecodeLimits::default(),
    )
    .expect_err("garbage");
    assert!(matches!(err, OtlpError::Protobuf(_)), "{err}");
    let err = decode(
        b"{\"resourceLogs\": [",
        Encoding::Json,
        &DecodeLimits::default(),
    )
    .expect_err("cut JSON");
    assert!(matches!(err, OtlpError::Json(_)), "{err}");
    // Valid wire format, wrong types: a string where ResourceLogs is expected.
    let err = decode(
        b"\x0a\x03\x0a\x01\xff",
        Encoding::Protobuf,
        &DecodeLimits::default(),
    )
    .expect_err("bad nested message");
    assert!(matches!(err, OtlpError::Protobuf(_)), "{err}");
}

#[test]
fn content_types() {
    assert_eq!(
        Encoding::from_content_type("application/x-protobuf"),
        Some(Encoding::Protobuf)
    );
    assert_eq!(
        Encoding::from_content_type("Application/JSON; charset=utf-8"),
        Some(Encoding::Json)
    );
    assert_eq!(Encoding::from_content_type("text/plain"), None);
}

/// A generated record, and what it must decode to.
#[derive(Debug, Clone)]
struct Generated {
    levelno: i32,
    msg: String,
    ts: u64,
    attributes: Vec<(String, Scalar)>,
    trace_id: Option<[u8; 16]>,
    span_id: Option<[u8; 8]>,
}

#[derive(Debug, Clone)]
enum Scalar {
    Str(String),
    Int(i64),
    Bool(bool),
    Float(f64),
}

impl Scalar {
    fn any(&self) -> AnyValue {
        use any_value::Value as Any;
        AnyValue {
            value: Some(match self {
                Scalar::Str(s) => Any::StringValue(s.clone()),
                Scalar::Int(i) => Any::IntValue(*i),
                Scalar::Bool(b) => Any::BoolValue(*b),
                Scalar::Float(x) => Any::DoubleValue(*x),
            }),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Scalar::Str(s) => serde_json::json!({ "stringValue": s }),
            Scalar::Int(i) => serde_json::json!({ "intValue": i.to_string() }),
            Scalar::Bool(b) => serde_json::json!({ "boolValue": b }),
            Scalar::Float(x) => serde_json::json!({ "doubleValue": x }),
        }
    }

    fn value(&self) -> Value {
        match self {
            Scalar::Str(s) => Value::from(s.as_str()),
            Scalar::Int(i) => Value::Int(*i),
            Scalar::Bool(b) => Value::Bool(*b),
            Scalar::Float(x) => Value::Float(*x),
        }
    }
}

fn scalar() -> impl Strategy<Value = Scalar> {
    prop_oneof![
        ".{0,12}".prop_map(Scalar::Str),
        any::<i64>().prop_map(Scalar::Int),
        any::<bool>().prop_map(Scalar::Bool),
        // Halves print and parse exactly: serde_json without float_roundtrip
        // may miss the last bit of an arbitrary double.
        any::<i32>().prop_map(|n| Scalar::Float(f64::from(n) * 0.5)),
    ]
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        prop::sample::select(vec![5, 10, 11, 20, 23, 30, 40, 41, 50, 53]),
        ".{0,40}",
        1u64..i64::MAX as u64,
        // `a` prefix: never one of the attribute names mapped to record parts.
        prop::collection::vec(("a[a-z.]{0,8}", scalar()), 0..6),
        prop::option::of(
            any::<[u8; 16]>().prop_filter("valid id", |id| id.iter().any(|&b| b != 0)),
        ),
        prop::option::of(any::<[u8; 8]>().prop_filter("valid id", |id| id.iter().any(|&b| b != 0))),
    )
        .prop_map(
            |(levelno, msg, ts, attributes, trace_id, span_id)| Generated {
                levelno,
                msg,
                ts,
                attributes,
                trace_id,
                span_id,
            },
        )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn expected(g: &Generated) -> (Level, String, i64, Fields) {
    let mut fields = Fields::new();
    for (k, v) in &g.attributes {
        fields.insert(k.as_str(), v.value());
    }
    if let Some(id) = g.trace_id {
        fields.insert("trace_id", hex(&id));
    }
    if let Some(id) = g.span_id {
        fields.insert("span_id", hex(&id));
    }
    let standard = Level::from_no(g.levelno);
    let level = level_of_severity(crate::json::otel_severity(g.levelno), standard.name());
    (level, g.msg.clone(), g.ts as i64, fields)
}

proptest! {
    #[test]
    fn random_records_survive_both_encodings(records in prop::collection::vec(generated(), 1..8)) {
        let request = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope { name: "gen".into(), ..Default::default() }),
                    log_records: records.iter().map(|g| LogRecord {
                        time_unix_nano: g.ts,
                        severity_number: crate::json::otel_severity(g.levelno),
                        severity_text: Level::from_no(g.levelno).name().into(),
                        body: string(&g.msg),
                        attributes: g.attributes.iter().map(|(k, v)| kv(k, Some(v.any()))).collect(),
                        trace_id: g.trace_id.map(Vec::from).unwrap_or_default(),
                        span_id: g.span_id.map(Vec::from).unwrap_or_default(),
                        ..Default::default()
                    }).collect(),
                }],
                ..Default::default()
            }],
        };
        let json = serde_json::json!({"resourceLogs": [{"scopeLogs": [{"scope": {"name": "gen"},
            "logRecords": records.iter().map(|g| serde_json::json!({
                "timeUnixNano": g.ts.to_string(),
                "severityNumber": crate::json::otel_severity(g.levelno),
                "severityText": Level::from_no(g.levelno).name(),
                "body": {"stringValue": g.msg},
                "attributes": g.attributes.iter().map(|(k, v)| serde_json::json!({"key": k, "value": v.json()})).collect::<Vec<_>>(),
                "traceId": g.trace_id.map(|id| hex(&id)).unwrap_or_default(),
                "spanId": g.span_id.map(|id| hex(&id)).unwrap_or_default(),
            })).collect::<Vec<_>>()}]}]});
        let limits = DecodeLimits::default();
        let from_protobuf = decode(&request.encode_to_vec(), Encoding::Protobuf, &limits).expect("protobuf");
        let from_json = decode(json.to_string().as_bytes(), Encoding::Json, &limits).expect("json");
        prop_assert_eq!(from_protobuf.records.len(), records.len());
        prop_assert_eq!(&from_protobuf.records, &from_json.records);
        for (record, g) in from_protobuf.records.iter().zip(&records) {
            let (level, msg, ts, fields) = expected(g);
            prop_assert_eq!(record.level.no(), g.levelno);
            prop_assert_eq!(&record.level, &level);
            prop_assert_eq!(record.msg.as_str(), msg.as_str());
            prop_assert_eq!(record.ts.unix_nanos(), ts);
            prop_assert_eq!(record.logger.as_str(), "gen");
            prop_assert_eq!(&record.fields, &fields);
        }
    }
}
