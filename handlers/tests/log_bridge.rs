//! The `log` bridge, installed globally (its own test binary).
#![cfg(feature = "log")]
#![allow(clippy::unwrap_used)]

mod common;

use common::Collect;
use tributary_core::Value;
use tributary_handlers::{LogBridge, QueueListener};

#[test]
fn log_records_with_key_values() {
    let collect = Collect::default();
    let listener = QueueListener::builder()
        .handler(collect.clone())
        .start()
        .unwrap();
    LogBridge::new(listener.queue_handler(), log::LevelFilter::Info)
        .install()
        .unwrap();
    log::info!(target: "app.auth", user = "ann", attempt = 2, admin = false, score = 1.5; "login {}", "ok");
    log::debug!("below the level");
    log::warn!("plain");
    drop(listener);
    let records = collect.taken();
    assert_eq!(records.len(), 2);
    let r = &records[0];
    assert_eq!(
        (r.logger.as_str(), r.msg.as_str(), r.level.no()),
        ("app.auth", "login ok", 20)
    );
    assert_eq!(r.fields.get("user"), Some(&Value::from("ann")));
    assert_eq!(r.fields.get("attempt"), Some(&Value::Int(2)));
    assert_eq!(r.fields.get("admin"), Some(&Value::Bool(false)));
    assert_eq!(r.fields.get("score"), Some(&Value::Float(1.5)));
    assert_eq!(r.file.as_deref(), Some(file!()));
    assert_eq!(records[1].level.name(), "WARNING");
}
