//! `MakeWriter`: each event is one record, so rotation never splits one.
#![allow(clippy::unwrap_used)]
#![cfg(feature = "tracing")]

mod common;

use common::*;
use tributary_rotation::RotatingFile;

#[test]
fn every_event_lands_whole_in_exactly_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let writer = RotatingFile::builder(dir.path().join("app.log"))
        .max_bytes(300)
        .open()
        .unwrap()
        .into_make_writer();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        for i in 0..100 {
            tracing::info!(i, "event number {i} with some padding to fill the file");
        }
    });
    let mut seen = Vec::new();
    let files = names(dir.path());
    assert!(files.len() > 10, "{files:?}");
    for name in files {
        let text = read_str(&dir.path().join(&name));
        assert!(text.len() <= 300 || text.lines().count() == 1, "{name}");
        for l in text.lines() {
            let n: usize = l
                .split("event number ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("torn line in {name}: {l:?}"));
            assert!(l.ends_with("i=") || l.contains(&format!("i={n}")), "{l}");
            seen.push(n);
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
}

#[test]
fn buffered_writer_flushes_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("app.log");
    let writer = RotatingFile::builder(&p)
        .open()
        .unwrap()
        .into_make_writer()
        .buffered();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || tracing::warn!("buffered"));
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "");
    writer.flush().unwrap();
    assert!(std::fs::read_to_string(&p).unwrap().contains("buffered"));
}
