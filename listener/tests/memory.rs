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
    // Queues far smaller than what is offered: a listener that buffered
    // the backlog instead of holding its senders back would outgrow it.
    let run = overload::run_with(
        bin,
        dir.path(),
        64,
        6_000,
        &["--queue-bytes", "4MiB", "--queue-capacity", "16384"],
    );
    let offered_mib = run.offered_bytes / (1024 * 1024);
    eprintln!("{run:?}");
    let mib = run.peak_rss_kib / 1024;
    assert!(
        offered_mib >= 64,
        "the run must offer more than the bound: {offered_mib} MiB"
    );
    // Bounded: the peak stays below half of what was offered (every record
    // was checked written exactly once by the run).
    assert!(
        mib < offered_mib / 2,
        "peak RSS {mib} MiB with 64 connections offering {offered_mib} MiB: {run:?}"
    );
}
