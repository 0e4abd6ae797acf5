//! Spool behaviour on real files in temporary directories.
#![allow(clippy::unwrap_used)]

mod alloc;
mod damage;
mod kill;
mod model;

use super::format::HEADER_LEN;
use super::*;
use std::fs::OpenOptions;
use std::path::Path;

/// A native frame (4-byte big-endian length + JSON) whose size varies
/// with `seq`.
pub(super) fn frame(seq: u64) -> Vec<u8> {
    let json = format!(
        r#"{{"msg":"record {seq}","pad":"{}"}}"#,
        "x".repeat((seq % 13) as usize)
    );
    let mut out = (json.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(json.as_bytes());
    out
}

/// Where entry `i` starts when frames `0..` were pushed into a fresh spool.
pub(super) fn offset_of(i: u64) -> u64 {
    HEADER_LEN + (0..i).map(|s| 20 + frame(s).len() as u64).sum::<u64>()
}

pub(super) fn config(dir: &Path) -> SpoolConfig {
    SpoolConfig::new(dir.join("app.spool")).with_max_bytes(1 << 20)
}

pub(super) fn open(config: &SpoolConfig) -> (Spool, Recovered) {
    Spool::open(config, "producer-new").unwrap()
}

pub(super) fn push_range(spool: &mut Spool, seqs: std::ops::Range<u64>) {
    for s in seqs {
        spool.push(s, &frame(s)).unwrap();
    }
}

pub(super) fn seqs(frames: &[Spooled]) -> Vec<u64> {
    frames.iter().map(|f| f.seq).collect()
}

/// Every unconsumed frame, checked against what was pushed.
pub(super) fn all(spool: &mut Spool) -> Vec<u64> {
    let frames = spool.peek(usize::MAX).unwrap();
    for f in &frames {
        assert_eq!(f.frame, frame(f.seq), "frame {} content", f.seq);
    }
    seqs(&frames)
}

pub(super) fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// Overwrites bytes of the file, as a failing disk or another program would.
pub(super) fn scribble(path: &Path, at: u64, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    let f = OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(bytes, at).unwrap();
}

pub(super) fn flip(path: &Path, at: u64) {
    use std::os::unix::fs::FileExt;
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, at).unwrap();
    f.write_all_at(&[b[0] ^ 0x20], at).unwrap();
}

#[test]
fn frames_come_back_in_order_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, rec) = open(&config(dir.path()));
    assert!(rec.created && rec.is_clean() && rec.frames == 0);
    assert!(spool.is_empty());
    push_range(&mut spool, 0..100);
    assert_eq!(spool.len(), 100);
    assert_eq!(spool.first_seq(), Some(0));
    assert_eq!(spool.max_seq(), Some(99));
    assert_eq!(spool.bytes(), offset_of(100) - HEADER_LEN);
    assert_eq!(all(&mut spool), (0..100).collect::<Vec<_>>());

    // A batch holds at least one frame and stays within the byte budget.
    assert_eq!(seqs(&spool.peek(1).unwrap()), [0]);
    let budget = frame(0).len() + frame(1).len();
    assert_eq!(seqs(&spool.peek(budget).unwrap()), [0, 1]);

    // read_next walks ahead without consuming; rewind goes back.
    let mut seen = Vec::new();
    loop {
        let batch = spool.read_next(500).unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() == 1 || batch.iter().map(|f| f.frame.len()).sum::<usize>() <= 500);
        seen.extend(seqs(&batch));
    }
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
    assert_eq!(spool.len(), 100, "reading does not consume");
    spool.rewind();
    assert_eq!(seqs(&spool.read_next(1).unwrap()), [0]);

    assert_eq!(spool.consume(10).unwrap(), 10);
    assert_eq!(spool.first_seq(), Some(10));
    assert_eq!(
        seqs(&spool.read_next(1).unwrap()),
        [10],
        "the cursor skips consumed frames"
    );
    assert_eq!(spool.consume_through(49).unwrap(), 40);
    assert_eq!(spool.consume_through(49).unwrap(), 0, "idempotent");
    assert_eq!((spool.len(), spool.first_seq()), (50, Some(50)));
    assert_eq!(spool.bytes(), offset_of(100) - offset_of(50));
    assert_eq!(all(&mut spool), (50..100).collect::<Vec<_>>());
    assert_eq!(spool.consume(1000).unwrap(), 50);
    assert!(spool.is_empty());
    assert_eq!(spool.first_seq(), None);
    assert_eq!(spool.peek(usize::MAX).unwrap(), []);
    assert_eq!(
        file_len(spool.path()),
        HEADER_LEN,
        "a drained spool is truncated to its header"
    );
}

#[test]
fn reopening_recovers_the_producer_id_and_only_unconsumed_frames() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let epoch = {
        let (mut spool, _) = Spool::open(&cfg, "host:1:first").unwrap();
        push_range(&mut spool, 0..10);
        spool.consume(4).unwrap();
        spool.epoch().to_owned()
    };
    assert_eq!(epoch.len(), 32, "a new spool starts a numbering: {epoch:?}");
    let (mut spool, rec) = Spool::open(&cfg, "host:2:second").unwrap();
    assert_eq!(spool.epoch(), epoch, "resumed: the same numbering");
    assert!(!rec.created);
    assert!(rec.is_clean(), "{rec}");
    assert_eq!(rec.producer_id, "host:1:first");
    assert_eq!(spool.producer_id(), "host:1:first");
    assert_eq!(
        (rec.frames, rec.first_seq, rec.last_seq),
        (6, Some(4), Some(9))
    );
    assert_eq!(rec.bytes, offset_of(10) - offset_of(4));
    assert_eq!(all(&mut spool), (4..10).collect::<Vec<_>>());
    // Sequence numbers continue above what the earlier run spooled.
    assert_eq!(spool.max_seq(), Some(9));
    assert!(matches!(
        spool.push(9, &frame(9)),
        Err(SpoolError::Sequence {
            last: Some(9),
            got: 9
        })
    ));
    spool.push(10, &frame(10)).unwrap();

    // Drained, then reopened: empty, and the sequence floor survives the
    // truncation.
    spool.consume_through(10).unwrap();
    drop(spool);
    let (spool, rec) = Spool::open(&cfg, "host:3:third").unwrap();
    assert!(rec.is_clean() && rec.frames == 0);
    assert_eq!(rec.producer_id, "host:1:first");
    assert_eq!(spool.epoch(), epoch, "numbers continue, so does the epoch");
    assert_eq!(spool.max_seq(), Some(10));
    assert_eq!(file_len(spool.path()), HEADER_LEN);
}

/// A spool written before epochs (format version 1) is resumed with its
/// frames, numbered without an epoch as the listener knows them.
#[test]
fn a_version_1_spool_is_resumed_without_an_epoch() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    {
        let (mut spool, _) = Spool::open(&cfg, "old").unwrap();
        push_range(&mut spool, 0..5);
    }
    // Rewrite the header as version 1 wrote it.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(cfg.path())
        .unwrap();
    let mut h = [0u8; HEADER_LEN as usize];
    file.read_exact_at(&mut h, 0).unwrap();
    h[8..12].copy_from_slice(&1u32.to_le_bytes());
    h[20..24].fill(0);
    h[384..448].fill(0);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&h[0..16]);
    crc.update(b"old");
    h[16..20].copy_from_slice(&crc.finalize().to_le_bytes());
    file.write_all_at(&h, 0).unwrap();
    drop(file);
    let (mut spool, rec) = Spool::open(&cfg, "new").unwrap();
    assert!(rec.is_clean(), "{rec}");
    assert_eq!((spool.producer_id(), spool.epoch()), ("old", ""));
    assert_eq!(all(&mut spool), (0..5).collect::<Vec<_>>());
}

#[test]
fn full_at_the_bound_then_room_after_consuming() {
    let dir = tempfile::tempdir().unwrap();
    // Room for frames 0..20 exactly.
    let cfg = config(dir.path()).with_max_bytes(offset_of(20));
    let (mut spool, _) = open(&cfg);
    push_range(&mut spool, 0..20);
    let err = spool.push(20, &frame(20)).unwrap_err();
    assert!(matches!(err, SpoolError::Full { .. }), "{err}");
    assert!(err.to_string().contains("spool full"), "{err}");
    assert_eq!(spool.len(), 20, "a refused frame changes nothing");
    assert_eq!(file_len(spool.path()), offset_of(20));

    // Consuming one frame frees less than 1/8 of the bound: still full.
    spool.consume(1).unwrap();
    assert!(matches!(
        spool.push(20, &frame(20)),
        Err(SpoolError::Full { .. })
    ));
    // A quarter consumed: the push compacts and fits.
    spool.consume(4).unwrap();
    push_range(&mut spool, 20..23);
    assert!(file_len(spool.path()) <= cfg.max_bytes());
    assert_eq!(all(&mut spool), (5..23).collect::<Vec<_>>());

    // A frame bigger than the whole bound never fits.
    let big = vec![b'x'; cfg.max_bytes() as usize];
    assert!(matches!(
        spool.push(100, &big),
        Err(SpoolError::Full { .. })
    ));
    drop(spool);
    let (mut spool, rec) = open(&cfg);
    assert!(rec.is_clean(), "{rec}");
    assert_eq!(all(&mut spool), (5..23).collect::<Vec<_>>());
}

/// The count of drops not yet reported outlives the run that kept it, a
/// compaction (the header is rewritten) and a reset (the file truncated to
/// its header), and a torn update leaves the count before it.
#[test]
fn the_unreported_drop_count_survives_reopen_compaction_and_reset() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path()).with_max_bytes(offset_of(20));
    let (mut spool, rec) = open(&cfg);
    assert_eq!((rec.dropped, spool.unreported_drops()), (0, 0));
    push_range(&mut spool, 0..20);
    spool.set_unreported_drops(3).unwrap();
    drop(spool);
    let (mut spool, rec) = open(&cfg);
    assert_eq!((rec.dropped, spool.unreported_drops()), (3, 3));
    assert!(
        rec.to_string()
            .contains("3 dropped records not yet reported"),
        "{rec}"
    );
    // A quarter consumed: the next push compacts into a new file.
    spool.consume(5).unwrap();
    spool.set_unreported_drops(7).unwrap();
    push_range(&mut spool, 20..22);
    drop(spool);
    let (mut spool, rec) = open(&cfg);
    assert_eq!(rec.dropped, 7, "{rec}");
    assert_eq!(all(&mut spool), (5..22).collect::<Vec<_>>());
    // Drained: truncated to the header, which keeps the count.
    spool.consume(usize::MAX).unwrap();
    assert_eq!(file_len(spool.path()), HEADER_LEN);
    drop(spool);
    let (mut spool, rec) = open(&cfg);
    assert_eq!(rec.dropped, 7, "{rec}");
    // The report went out: zero. An update torn by a crash (its record
    // damaged) leaves the count before it: reported again, never lost.
    spool.set_unreported_drops(0).unwrap();
    let torn = spool.drops.slot_offset();
    drop(spool);
    assert_eq!(open(&cfg).1.dropped, 0);
    flip(cfg.path(), torn + 3);
    assert_eq!(open(&cfg).1.dropped, 7);
}

#[test]
fn sequence_numbers_must_increase() {
    let dir = tempfile::tempdir().unwrap();
    let (mut spool, _) = open(&config(dir.path()));
    spool.push(5, &frame(5)).unwrap();
    for bad in [5, 4, u64::MAX] {
        let err = spool.push(bad, b"x").unwrap_err();
        assert!(
            matches!(err, SpoolError::Sequence { got, .. } if got == bad),
            "{err}"
        );
    }
    spool.push(7, &frame(7)).unwrap();
    assert_eq!(all(&mut spool), [5, 7]);
}

#[test]
fn bad_configuration_and_foreign_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let err = Spool::open(&cfg.clone().with_max_bytes(100), "p").unwrap_err();
    assert!(matches!(err, SpoolError::Config { .. }), "{err}");
    assert!(err.to_string().contains("at least"), "{err}");
    let err = Spool::open(&cfg, &"p".repeat(300)).unwrap_err();
    assert!(matches!(err, SpoolError::Config { .. }), "{err}");

    // Somebody else's file is never touched.
    let foreign = dir.path().join("notes.txt");
    std::fs::write(&foreign, "my notes, not a spool\n").unwrap();
    let err = Spool::open(&SpoolConfig::new(&foreign), "p").unwrap_err();
    assert!(matches!(err, SpoolError::NotASpool { .. }), "{err}");
    assert!(err.to_string().contains("move the file away"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&foreign).unwrap(),
        "my notes, not a spool\n"
    );

    // A later format version is refused, not misread.
    {
        let (mut spool, _) = open(&cfg);
        push_range(&mut spool, 0..3);
    }
    scribble(cfg.path(), 8, &3u32.to_le_bytes());
    let err = Spool::open(&cfg, "p").unwrap_err();
    assert!(
        matches!(err, SpoolError::UnsupportedVersion { version: 3, .. }),
        "{err}"
    );
}

#[test]
fn a_second_owner_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let (_spool, _) = open(&cfg);
    let err = Spool::open(&cfg, "other").unwrap_err();
    assert!(matches!(err, SpoolError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("its own spool path"), "{err}");
}

#[test]
fn an_interrupted_creation_starts_over_and_a_leftover_compaction_copy_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    std::fs::write(cfg.path(), b"TRBSP").unwrap();
    let tmp = fsio::temp_path(cfg.path());
    std::fs::write(&tmp, b"half a copy").unwrap();
    let (mut spool, rec) = open(&cfg);
    assert!(rec.created && rec.is_clean());
    assert!(!tmp.exists());
    push_range(&mut spool, 0..2);
    assert_eq!(all(&mut spool), [0, 1]);
}

#[test]
fn disk_sync_mode_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path())
        .with_sync(SpoolSync::Disk)
        .with_max_bytes(offset_of(16));
    let (mut spool, _) = open(&cfg);
    push_range(&mut spool, 0..16);
    spool.commit().unwrap();
    spool.consume(8).unwrap();
    push_range(&mut spool, 16..20); // compacts, with fsyncs
    spool.commit().unwrap();
    drop(spool);
    let (mut spool, rec) = open(&cfg);
    assert!(rec.is_clean(), "{rec}");
    assert_eq!(all(&mut spool), (8..20).collect::<Vec<_>>());
    spool.consume(100).unwrap();
    assert_eq!(file_len(cfg.path()), HEADER_LEN);
}

#[test]
fn compaction_keeps_the_read_cursor_on_the_same_frame() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path()).with_max_bytes(offset_of(16));
    let (mut spool, _) = open(&cfg);
    push_range(&mut spool, 0..16);
    assert_eq!(seqs(&spool.read_next(1).unwrap()), [0]);
    spool.consume(6).unwrap();
    assert_eq!(seqs(&spool.read_next(1).unwrap()), [6]);
    assert_eq!(seqs(&spool.read_next(1).unwrap()), [7]);
    push_range(&mut spool, 16..19); // compacts
    assert_eq!(seqs(&spool.read_next(1).unwrap()), [8]);
    spool.rewind();
    assert_eq!(seqs(&spool.read_next(1).unwrap()), [6]);
}
