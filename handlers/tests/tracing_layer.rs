//! The tracing layer: nested spans, typed fields, levels, source info.
#![cfg(feature = "tracing")]
#![allow(clippy::unwrap_used)]

mod common;

use common::Collect;
use tracing_subscriber::prelude::*;
use tributary_core::{Level, Value};
use tributary_handlers::{QueueListener, TributaryLayer};

#[derive(Debug)]
#[allow(dead_code)]
struct Point {
    x: i32,
}

#[test]
fn events_in_nested_spans_keep_field_types_and_context() {
    // As records (the dispatcher builds them) and as lines formatted on
    // this thread, decoded back.
    events_in_nested_spans(Collect::default());
    events_in_nested_spans(Collect::default().taking_lines());
}

fn events_in_nested_spans(collect: Collect) {
    let listener = QueueListener::builder()
        .handler(collect.clone())
        .start()
        .unwrap();
    let subscriber = tracing_subscriber::registry()
        .with(TributaryLayer::new(listener.queue_handler()).with_max_level(tracing::Level::DEBUG));
    let line = tracing::subscriber::with_default(subscriber, || {
        let outer = tracing::info_span!(
            "request",
            request_id = 42u64,
            user = "ann",
            shared = "outer",
            late = tracing::field::Empty
        )
        .entered();
        outer.record("late", true);
        let _inner = tracing::debug_span!("db", shared = "inner", table = "users").entered();
        tracing::warn!(count = -3i64, ratio = 0.5, ok = false, name = "x", point = ?Point { x: 1 }, big = u64::MAX, table = "event wins", "slow {} query", "select");
        let line = line!() - 1;
        tracing::trace!("filtered out by the layer's level");
        line
    });
    tracing::subscriber::with_default(
        tracing_subscriber::registry().with(TributaryLayer::new(listener.queue_handler())),
        || {
            tracing::error!(target: "custom::target", "no spans");
        },
    );
    drop(listener);
    let records = collect.taken();
    assert_eq!(records.len(), 2, "{records:#?}");
    let r = &records[0];
    assert_eq!(r.msg, "slow select query");
    assert_eq!(r.level, Level::WARNING);
    assert_eq!(r.level.no(), 30);
    assert_eq!(r.logger, module_path!());
    assert_eq!(r.module.as_deref(), Some(module_path!()));
    assert_eq!(r.file.as_deref(), Some(file!()));
    assert_eq!(r.line, Some(line));
    let f = |k: &str| r.fields.get(k).cloned();
    assert_eq!(f("count"), Some(Value::Int(-3)));
    assert_eq!(f("ratio"), Some(Value::Float(0.5)));
    assert_eq!(f("ok"), Some(Value::Bool(false)));
    assert_eq!(f("name"), Some(Value::from("x")));
    assert_eq!(f("point"), Some(Value::from("Point { x: 1 }")));
    assert_eq!(f("big"), Some(Value::from(u64::MAX)));
    assert_eq!(
        f("table"),
        Some(Value::from("event wins")),
        "event fields win over span fields"
    );
    assert_eq!(
        f("shared"),
        Some(Value::from("inner")),
        "the innermost span wins"
    );
    assert_eq!(f("request_id"), Some(Value::Int(42)));
    assert_eq!(f("user"), Some(Value::from("ann")));
    assert_eq!(
        f("late"),
        Some(Value::Bool(true)),
        "fields recorded after creation count"
    );
    assert_eq!(
        r.fields.keys().collect::<Vec<_>>(),
        [
            "count",
            "ratio",
            "ok",
            "name",
            "point",
            "big",
            "table",
            "shared",
            "request_id",
            "user",
            "late"
        ]
    );
    assert_eq!(r.pid, Some(std::process::id()));
    assert!(r.host.is_some() && r.tid.is_some() && r.seq.is_some());
    assert_eq!(r.thread.as_deref(), std::thread::current().name());

    let e = &records[1];
    assert_eq!(
        (e.level.no(), e.logger.as_str(), e.msg.as_str()),
        (40, "custom::target", "no spans")
    );
    assert!(e.fields.is_empty());
    assert!(e.seq > r.seq);
}

#[test]
fn levels_map_to_python_numbers() {
    use tributary_handlers::level_of;
    let got: Vec<i32> = [
        tracing::Level::TRACE,
        tracing::Level::DEBUG,
        tracing::Level::INFO,
        tracing::Level::WARN,
        tracing::Level::ERROR,
    ]
    .iter()
    .map(|l| level_of(l).no())
    .collect();
    assert_eq!(got, [5, 10, 20, 30, 40]);
}

/// Logs while its `Debug` text is taken, that is while the layer builds the
/// outer event (`tracing` drops such nested events; nothing must break).
struct LogsWhenFormatted;

impl std::fmt::Debug for LogsWhenFormatted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        tracing::info!(depth = 2, "logged from a Debug impl");
        f.write_str("LogsWhenFormatted")
    }
}

fn emit_varied_events() {
    let outer = tracing::info_span!(
        "request",
        request_id = 42u64,
        user = "ann",
        shared = "outer",
        late = tracing::field::Empty
    )
    .entered();
    outer.record("late", true);
    for i in 0..3 {
        let _inner = tracing::info_span!("db", shared = "inner", table = "users", i).entered();
        let err = std::io::Error::other("disk \"full\"\n");
        tracing::warn!(count = -3i64, ratio = 0.5, ok = false, name = "x", point = ?Point { x: i }, big = u64::MAX, huge = u128::MAX, neg = i128::MIN, table = "event wins", error = &err as &dyn std::error::Error, "slow {} query {i}", "select");
    }
    tracing::info!(nested = ?LogsWhenFormatted, "outer event");
    drop(outer);
    tracing::error!(target: "custom::target", "no spans, unicode é ✓ and \u{1}");
}

/// The lines a file handler got from `emit_varied_events`, without the
/// fields that differ from run to run (time, sequence number).
fn lines_through(
    handler: tributary_handlers::FileHandler,
    path: &std::path::Path,
) -> Vec<serde_json::Value> {
    let listener = QueueListener::builder().handler(handler).start().unwrap();
    let subscriber =
        tracing_subscriber::registry().with(TributaryLayer::new(listener.queue_handler()));
    tracing::subscriber::with_default(subscriber, emit_varied_events);
    drop(listener);
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            let obj = v.as_object_mut().unwrap();
            assert!(
                obj.remove("ts").is_some() && obj.remove("seq").is_some(),
                "{l}"
            );
            v
        })
        .collect()
}

#[test]
fn lines_formatted_on_the_calling_thread_match_records_formatted_by_the_dispatcher() {
    use tributary_handlers::{FileHandler, filter::when};
    let dir = tempfile::tempdir().unwrap();
    let (fast, slow) = (dir.path().join("fast.log"), dir.path().join("slow.log"));
    // No filter: the layer formats on this thread. A filter (even one that
    // passes everything) needs the record: the dispatcher formats.
    let by_caller = lines_through(FileHandler::append(&fast).unwrap(), &fast);
    let by_dispatcher = lines_through(
        FileHandler::append(&slow)
            .unwrap()
            .with_filter(when(|_| true)),
        &slow,
    );
    assert_eq!(by_caller.len(), 5);
    assert_eq!(by_caller, by_dispatcher);
    let warn = &by_caller[0]["fields"];
    let raw = std::fs::read_to_string(&fast).unwrap();
    assert!(
        raw.contains(&format!(r#""huge":{},"neg":{}"#, u128::MAX, i128::MIN)),
        "{raw}"
    );
    assert_eq!(warn["error"], "disk \"full\"\n");
    assert_eq!(warn["i"], 0);
    assert_eq!(by_caller[3]["fields"]["nested"], "LogsWhenFormatted");
    assert_eq!(by_caller[4]["msg"], "no spans, unicode é ✓ and \u{1}");
}
