//! Damage is found, reported with where and what, and cut out; the frames
//! around it survive.

use super::super::format::{EntryHeader, HEADER_LEN};
use super::*;

/// A spool holding frames `0..n`, closed.
fn spooled(dir: &Path, n: u64) -> SpoolConfig {
    let cfg = config(dir);
    let (mut spool, _) = open(&cfg);
    push_range(&mut spool, 0..n);
    cfg
}

#[test]
fn a_torn_last_entry_is_reported_as_torn_and_cut() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = spooled(dir.path(), 5);
    // The producer died halfway through appending frame 4.
    let cut = offset_of(4) + 20 + 7;
    OpenOptions::new()
        .write(true)
        .open(cfg.path())
        .unwrap()
        .set_len(cut)
        .unwrap();
    let (mut spool, rec) = open(&cfg);
    assert_eq!(
        rec.corruption,
        [Corruption {
            offset: offset_of(4),
            bytes: 27,
            kind: CorruptionKind::TornTail,
            after_seq: Some(3),
            before_seq: None,
        }]
    );
    assert!(rec.to_string().contains("incomplete last entry"), "{rec}");
    assert_eq!((rec.frames, rec.last_seq), (4, Some(3)));
    assert_eq!(all(&mut spool), [0, 1, 2, 3]);
    assert_eq!(
        file_len(cfg.path()),
        offset_of(4),
        "cut back to the last whole entry"
    );
    // Appending continues after the cut; the next open is clean.
    spool.push(4, &frame(4)).unwrap();
    drop(spool);
    let (mut spool, rec) = open(&cfg);
    assert!(rec.is_clean(), "{rec}");
    assert_eq!(all(&mut spool), [0, 1, 2, 3, 4]);
}

#[test]
fn a_torn_entry_header_is_torn_too() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = spooled(dir.path(), 3);
    let f = OpenOptions::new().write(true).open(cfg.path()).unwrap();
    f.set_len(offset_of(2) + 11).unwrap();
    let (mut spool, rec) = open(&cfg);
    assert_eq!(rec.corruption.len(), 1);
    assert_eq!(rec.corruption[0].kind, CorruptionKind::TornTail);
    assert_eq!(rec.corruption[0].bytes, 11);
    assert_eq!(all(&mut spool), [0, 1]);
}

#[test]
fn a_flipped_payload_byte_is_reported_with_its_offset_and_the_rest_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = spooled(dir.path(), 10);
    flip(cfg.path(), offset_of(4) + 20 + 9);
    let (mut spool, rec) = open(&cfg);
    assert_eq!(
        rec.corruption,
        [Corruption {
            offset: offset_of(4),
            bytes: offset_of(5) - offset_of(4),
            kind: CorruptionKind::Payload { seq: 4 },
            after_seq: Some(3),
            before_seq: Some(5),
        }]
    );
    let text = rec.to_string();
    assert!(
        text.contains(&format!("at byte {}", offset_of(4))),
        "{text}"
    );
    assert!(text.contains("between frames seq 3 and seq 5"), "{text}");
    assert_eq!(rec.frames, 9);
    assert_eq!(all(&mut spool), [0, 1, 2, 3, 5, 6, 7, 8, 9]);
    // The damage was cut out of the file: the next open is clean.
    drop(spool);
    let (mut spool, rec) = open(&cfg);
    assert!(rec.is_clean(), "{rec}");
    assert_eq!(all(&mut spool), [0, 1, 2, 3, 5, 6, 7, 8, 9]);
}

#[test]
fn a_damaged_entry_header_is_skipped_by_resynchronising() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = spooled(dir.path(), 10);
    // The length field of frame 6 and the sequence number of frame 7.
    flip(cfg.path(), offset_of(6) + 1);
    flip(cfg.path(), offset_of(7) + 5);
    let (mut spool, rec) = open(&cfg);
    assert_eq!(
        rec.corruption,
        [Corruption {
            offset: offset_of(6),
            bytes: offset_of(8) - offset_of(6),
            kind: CorruptionKind::EntryHeader,
            after_seq: Some(5),
            before_seq: Some(8),
        }]
    );
    assert_eq!(all(&mut spool), [0, 1, 2, 3, 4, 5, 8, 9]);
}

#[test]
fn damage_in_several_places_is_each_reported() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = spooled(dir.path(), 12);
    flip(cfg.path(), offset_of(0) + 3); // the first entry
    flip(cfg.path(), offset_of(5) + 30);
    flip(cfg.path(), offset_of(11) + 25); // the last entry
    let (mut spool, rec) = open(&cfg);
    let at: Vec<_> = rec.corruption.iter().map(|c| (c.offset, c.kind)).collect();
    assert_eq!(
        at,
        [
            (offset_of(0), CorruptionKind::EntryHeader),
            (offset_of(5), CorruptionKind::Payload { seq: 5 }),
            (offset_of(11), CorruptionKind::Payload { seq: 11 }),
        ]
    );
    assert_eq!(rec.corruption[0].before_seq, Some(1));
    assert_eq!(rec.corruption[2].before_seq, None);
    assert_eq!(all(&mut spool), [1, 2, 3, 4, 6, 7, 8, 9, 10]);
}

#[test]
fn an_intact_entry_out_of_order_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = spooled(dir.path(), 6);
    // Frame 4's bytes replaced by a valid entry for an earlier seq of the
    // same size (seq 4 - 13 would differ in digits, so build one by hand).
    let payload = frame(4);
    let h = EntryHeader::for_payload(2, &payload).unwrap();
    scribble(cfg.path(), offset_of(4), &h.encode());
    let (mut spool, rec) = open(&cfg);
    assert_eq!(rec.corruption.len(), 1);
    assert_eq!(
        rec.corruption[0].kind,
        CorruptionKind::OutOfOrder { seq: 2 }
    );
    assert_eq!(all(&mut spool), [0, 1, 2, 3, 5]);
}

#[test]
fn a_damaged_file_header_keeps_the_frames_under_the_new_producer_id() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = spooled(dir.path(), 4);
    flip(cfg.path(), 128 + 2); // in the producer id
    let (mut spool, rec) = Spool::open(&cfg, "replacement").unwrap();
    assert_eq!(rec.corruption.len(), 1);
    assert_eq!(rec.corruption[0].kind, CorruptionKind::FileHeader);
    assert_eq!(rec.producer_id, "replacement");
    assert_eq!(all(&mut spool), [0, 1, 2, 3]);
    drop(spool);
    let (_, rec) = Spool::open(&cfg, "third").unwrap();
    assert!(rec.is_clean(), "{rec}");
    assert_eq!(
        rec.producer_id, "replacement",
        "the repaired header is written back"
    );
}

#[test]
fn lost_head_positions_reread_from_the_start_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    {
        let (mut spool, _) = open(&cfg);
        push_range(&mut spool, 0..10);
        spool.consume(3).unwrap();
    }
    flip(cfg.path(), 64 + 1);
    flip(cfg.path(), 96 + 1);
    let (mut spool, rec) = open(&cfg);
    assert_eq!(rec.corruption.len(), 1);
    assert_eq!(rec.corruption[0].kind, CorruptionKind::Head);
    assert!(rec.to_string().contains("sent again"), "{rec}");
    assert_eq!(
        all(&mut spool),
        (0..10).collect::<Vec<_>>(),
        "nothing unconsumed is lost"
    );
}

#[test]
fn one_torn_head_record_falls_back_to_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let newest_slot;
    {
        let (mut spool, _) = open(&cfg);
        push_range(&mut spool, 0..10);
        spool.consume(3).unwrap();
        spool.consume(2).unwrap();
        newest_slot = spool.head.slot_offset();
    }
    flip(cfg.path(), newest_slot + 2);
    let (mut spool, rec) = open(&cfg);
    assert!(rec.is_clean(), "{rec}");
    assert_eq!(
        all(&mut spool),
        (3..10).collect::<Vec<_>>(),
        "the previous head: 3..5 again, nothing lost"
    );
}

#[test]
fn consumed_entries_left_by_a_crash_during_reset_are_not_resent() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let (mut spool, _) = open(&cfg);
    push_range(&mut spool, 0..5);
    let entries = std::fs::read(cfg.path()).unwrap()[HEADER_LEN as usize..].to_vec();
    spool.consume(5).unwrap(); // writes the head, then truncates
    drop(spool);
    // As if the truncation never happened.
    scribble(cfg.path(), HEADER_LEN, &entries);
    let (mut spool, rec) = open(&cfg);
    assert!(rec.is_clean(), "{rec}");
    assert_eq!(rec.frames, 0);
    assert_eq!(all(&mut spool), Vec::<u64>::new());
    assert_eq!(file_len(cfg.path()), HEADER_LEN);
    spool.push(5, &frame(5)).unwrap();
    assert_eq!(all(&mut spool), [5]);
}

#[test]
fn damage_noticed_while_reading_is_cut_and_reported_then_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let (mut spool, _) = open(&cfg);
    push_range(&mut spool, 0..10);
    assert_eq!(seqs(&spool.read_next(1).unwrap()), [0]);
    assert_eq!(seqs(&spool.read_next(1).unwrap()), [1]);
    flip(cfg.path(), offset_of(3) + 22);
    let err = spool.read_next(usize::MAX).unwrap_err();
    let SpoolError::Corrupt { found, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, CorruptionKind::Payload { seq: 3 });
    assert!(err.to_string().contains("damaged data cut out"), "{err}");
    assert_eq!(spool.len(), 9);
    assert_eq!(
        seqs(&spool.read_next(usize::MAX).unwrap()),
        [2, 4, 5, 6, 7, 8, 9]
    );

    // Damage in an entry header is noticed by consume as well.
    flip(cfg.path(), HEADER_LEN + 3); // frame 0's header, in the rewritten file
    let err = spool.consume_through(1).unwrap_err();
    assert!(matches!(err, SpoolError::Corrupt { .. }), "{err}");
    assert_eq!(spool.consume_through(1).unwrap(), 1);
    assert_eq!(all(&mut spool), [2, 4, 5, 6, 7, 8, 9]);
}
