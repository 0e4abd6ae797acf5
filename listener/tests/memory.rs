//! Memory stays bounded under sustained overload: 64 connections send as
//! fast as they can, the listener holds them back (bounded queue, bounded
//! per-connection buffers), and its peak resident set stays small. The
//! release figure is `cargo bench -p tributary-listener --bench overload`.

#![allow(clippy::unwrap_used)] // a test: a failure should fail it

#[path = "common/overload.rs"]
#[allow(dead_code)] // the bench reads every figure
mod overload;

#[test]
fn sixty_four_connections_in_overload_keep_the_listener_small() {
    let dir = tempfile::tempdir().unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_tributary"));
    let run = overload::run(bin, dir.path(), 64, 2_000);
    // A generous bound (the release build stays far below 64 MiB): what
    // is checked is that nothing grows with the backlog, not a figure.
    assert_eq!(run.records, 64 * 2_000);
    let mib = run.peak_rss_kib / 1024;
    assert!(mib < 256, "peak RSS {mib} MiB with 64 connections: {run:?}");
}
