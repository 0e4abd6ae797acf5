//! The writer with several outputs under acknowledged delivery: a batch
//! that makes one output rotate is journaled consistently in all of them.

use super::*;
use crate::acks::{AckMark, Journal, Producers, default_journal_path};
use crate::pipeline::batch::Batch;
use crate::pipeline::{Encoder, Queue, open_outputs};
use crate::settings::{DiagnosticsMode, OutputSpec, RotationSpec};
use std::path::Path;

const PRODUCER: &str = "p";
const EPOCH: &str = "e";

fn specs(dir: &Path) -> Vec<OutputSpec> {
    let mut rotating = OutputSpec::file(dir.join("b.log"));
    rotating.rotation = RotationSpec {
        max_bytes: Some(40),
        backup_count: Some(10),
        ..RotationSpec::default()
    };
    vec![OutputSpec::file(dir.join("a.log")), rotating]
}

/// One incarnation: a writer (not on its thread: the test drives it) and
/// the producers the journal restored.
fn start(dir: &Path) -> (Writer, Producers) {
    let specs = specs(dir);
    let paths: Vec<_> = specs.iter().map(|s| s.path.clone()).collect();
    let (journal, recovery) =
        Journal::recover(&default_journal_path(&paths[0]), &paths, false).unwrap();
    let diag = Arc::new(Diag::new(DiagnosticsMode::Stderr));
    let outputs = open_outputs(&specs, &diag, &mut Default::default()).unwrap();
    let counters = Arc::new(WriterCounters::default());
    let (queue, rx, permits) = Queue::new(
        1024,
        1 << 20,
        Encoder::new(&specs).unwrap(),
        counters.clone(),
    );
    let (_tx, shutdown) = watch::channel(false);
    let writer = Writer::new(
        outputs,
        queue.encoder(),
        rx,
        permits,
        counters,
        diag,
        StopRule {
            shutdown,
            drain_timeout: Duration::from_secs(1),
        },
        Commits::new(journal),
    );
    (writer, Producers::recovered(recovery.producers))
}

/// Records `from..to` of the producer as one batch for both outputs.
fn batch(writer: &Writer, producers: &Producers, held: u64, to: u64) -> Msg {
    let (producer, _, start) = producers.hello(PRODUCER, EPOCH, held);
    let mut records = Batch::new(writer.current.encoder.clone(), 64);
    for n in start..to {
        if !producer.accept(n) {
            continue; // a resend of what is queued or written: dropped, as the input does
        }
        for i in 0..2 {
            records.push_line(i, |out| out.extend_from_slice(format!("{n:09}").as_bytes()));
        }
        records.records += 1;
    }
    records.ack = Some(AckMark { producer, next: to });
    Msg::Batch {
        records,
        permits: 0,
        kib: 0,
    }
}

fn numbers(dir: &Path, prefix: &str) -> Vec<u64> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    // Archives first (highest number oldest), the live file last.
    names.sort_by_key(|n| {
        std::cmp::Reverse(
            n.rsplit('.')
                .next()
                .and_then(|s| s.parse::<u32>().ok())
                .unwrap_or(0),
        )
    });
    names
        .iter()
        .flat_map(|n| {
            std::fs::read_to_string(dir.join(n))
                .unwrap()
                .lines()
                .map(|l| l.parse().unwrap())
                .collect::<Vec<u64>>()
        })
        .collect()
}

/// The second batch makes b.log rotate (40 bytes at most) but not a.log.
/// The writer is killed right after handling it, before its own commit:
/// the journal must not hold that batch's lines in a.log, since its
/// producer was never told they are written and sends them again.
#[test]
fn a_rotation_in_one_output_journals_no_batch_half_way() {
    let dir = tempfile::tempdir().unwrap();
    let (mut writer, producers) = start(dir.path());
    assert!(writer.handle(batch(&writer, &producers, 0, 3)));
    writer.flush();
    writer.commit();
    let (p, _, _) = producers.hello(PRODUCER, EPOCH, 0);
    let told = p.written.load(std::sync::atomic::Ordering::Acquire);
    assert_eq!(told, 3);
    assert!(writer.handle(batch(&writer, &producers, told, 6)));
    let told = p.written.load(std::sync::atomic::Ordering::Acquire);
    // kill -9: nothing more reaches the files or the journal.
    std::mem::forget(writer);
    let (mut writer, producers) = start(dir.path());
    assert!(writer.handle(batch(&writer, &producers, told, 8)));
    writer.flush();
    writer.commit();
    writer.close();
    assert_eq!(numbers(dir.path(), "a.log"), (0..8).collect::<Vec<_>>());
    assert_eq!(numbers(dir.path(), "b.log"), (0..8).collect::<Vec<_>>());
}

/// SIGHUP after logrotate moved the outputs away: what was written to the
/// old files is journaled (and acknowledged) before they are let go, and
/// the new files are on record before anything is written to them. A
/// kill right after the next batch loses and doubles nothing.
#[test]
fn a_reopen_is_journaled_before_and_after() {
    let dir = tempfile::tempdir().unwrap();
    let (mut writer, producers) = start(dir.path());
    assert!(writer.handle(batch(&writer, &producers, 0, 1)));
    for name in ["a.log", "b.log"] {
        std::fs::rename(dir.path().join(name), dir.path().join(format!("{name}.1"))).unwrap();
    }
    assert!(writer.handle(Msg::Reopen));
    let (p, _, _) = producers.hello(PRODUCER, EPOCH, 0);
    let told = p.written.load(std::sync::atomic::Ordering::Acquire);
    assert!(writer.handle(batch(&writer, &producers, told, 2)));
    let told = p.written.load(std::sync::atomic::Ordering::Acquire);
    // kill -9 before the writer's own commit.
    std::mem::forget(writer);
    let (mut writer, producers) = start(dir.path());
    assert!(writer.handle(batch(&writer, &producers, told, 3)));
    writer.flush();
    writer.commit();
    writer.close();
    assert_eq!(numbers(dir.path(), "a.log"), [0, 1, 2], "told {told}");
    assert_eq!(numbers(dir.path(), "b.log"), [0, 1, 2], "told {told}");
}
