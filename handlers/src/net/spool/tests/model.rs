//! Random pushes, reads, consumptions and reopenings against a `VecDeque`.

use super::super::format::HEADER_LEN;
use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
enum Op {
    /// Push a frame of this many bytes, skipping this many sequence numbers.
    Push(usize, u64),
    Consume(usize),
    /// Consume through the n-th unconsumed frame's seq, plus an offset
    /// (which may land between sequence numbers).
    ConsumeThrough(usize, u64),
    Peek(usize),
    ReadNext(usize),
    Rewind,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..400, 0u64..3).prop_map(|(n, gap)| Op::Push(n, gap)),
        2 => (0usize..6).prop_map(Op::Consume),
        1 => (0usize..6, 0u64..2).prop_map(|(i, d)| Op::ConsumeThrough(i, d)),
        1 => (1usize..1500).prop_map(Op::Peek),
        2 => (1usize..1500).prop_map(Op::ReadNext),
        1 => Just(Op::Rewind),
        1 => Just(Op::Reopen),
    ]
}

fn payload(seq: u64, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seq as usize * 31 + i) as u8).collect()
}

/// What a batch of at most `max` bytes from `frames` is.
fn batch(frames: impl Iterator<Item = (u64, Vec<u8>)>, max: usize) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut total = 0;
    for (seq, f) in frames {
        if !out.is_empty() && total + f.len() > max {
            break;
        }
        total += f.len();
        out.push((seq, f));
    }
    out
}

fn pairs(frames: Vec<Spooled>) -> Vec<(u64, Vec<u8>)> {
    frames.into_iter().map(|f| (f.seq, f.frame)).collect()
}

const MAX_BYTES: u64 = HEADER_LEN + 4096;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn spool_behaves_like_a_bounded_queue(ops in prop::collection::vec(op(), 1..120)) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path()).with_max_bytes(MAX_BYTES);
        let (mut spool, _) = open(&cfg);
        let mut model: VecDeque<(u64, Vec<u8>)> = VecDeque::new();
        let mut next_seq = 0u64;
        // The last seq read_next returned.
        let mut sent: Option<u64> = None;
        let capacity = MAX_BYTES - HEADER_LEN;
        for op in ops {
            match op {
                Op::Push(len, gap) => {
                    let seq = next_seq + gap;
                    let f = payload(seq, len);
                    let live: u64 = model.iter().map(|(_, f)| 20 + f.len() as u64).sum();
                    let entry = 20 + len as u64;
                    match spool.push(seq, &f) {
                        Ok(()) => {
                            model.push_back((seq, f));
                            next_seq = seq + 1;
                        }
                        Err(SpoolError::Full { .. }) => {
                            prop_assert!(live + entry > capacity - capacity / 8,
                                "Full with {live} live bytes for a {entry}-byte entry");
                        }
                        Err(e) => prop_assert!(false, "{e}"),
                    }
                }
                Op::Consume(n) => {
                    let n = n.min(model.len());
                    prop_assert_eq!(spool.consume(n).unwrap(), n);
                    model.drain(..n);
                }
                Op::ConsumeThrough(i, d) => {
                    let Some(&(seq, _)) = model.get(i) else { continue };
                    let through = seq + d;
                    let n = model.iter().take_while(|(s, _)| *s <= through).count();
                    prop_assert_eq!(spool.consume_through(through).unwrap(), n);
                    model.drain(..n);
                }
                Op::Peek(max) => {
                    let got = pairs(spool.peek(max).unwrap());
                    prop_assert_eq!(got, batch(model.iter().cloned(), max));
                }
                Op::ReadNext(max) => {
                    let got = pairs(spool.read_next(max).unwrap());
                    let want = batch(
                        model.iter().filter(|(s, _)| sent.is_none_or(|a| *s > a)).cloned(),
                        max,
                    );
                    prop_assert_eq!(&got, &want);
                    if let Some((s, _)) = got.last() {
                        sent = Some(*s);
                    }
                }
                Op::Rewind => {
                    spool.rewind();
                    sent = None;
                }
                Op::Reopen => {
                    drop(spool);
                    let (s, rec) = Spool::open(&cfg, "other").unwrap();
                    spool = s;
                    prop_assert!(rec.is_clean(), "{}", rec);
                    prop_assert_eq!(rec.producer_id.as_str(), "producer-new");
                    prop_assert_eq!(rec.frames, model.len());
                    sent = None;
                }
            }
            prop_assert_eq!(spool.len(), model.len());
            prop_assert_eq!(spool.first_seq(), model.front().map(|(s, _)| *s));
            let live: u64 = model.iter().map(|(_, f)| 20 + f.len() as u64).sum();
            prop_assert_eq!(spool.bytes(), live);
            prop_assert!(file_len(cfg.path()) <= MAX_BYTES);
            prop_assert_eq!(file_len(cfg.path()), spool.file_bytes());
            if model.is_empty() {
                prop_assert_eq!(spool.file_bytes(), HEADER_LEN);
            }
        }
        drop(spool);
        let (mut spool, rec) = open(&cfg);
        prop_assert!(rec.is_clean(), "{}", rec);
        prop_assert_eq!(pairs(spool.peek(usize::MAX).unwrap()), model.into_iter().collect::<Vec<_>>());
    }
}
