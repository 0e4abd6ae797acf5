//! Frame and line decoding under arbitrary chunking and hostile input.

use proptest::prelude::*;
use tributary_core::frame::{FrameDecoder, FrameError, LineSplitter, StreamDecoder, encode};

fn split_all(wire: &[u8], cuts: &[usize], max: usize) -> (Vec<Vec<u8>>, Result<(), FrameError>) {
    let mut d = FrameDecoder::new(max);
    let mut frames = Vec::new();
    let mut last = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
    points.sort_unstable();
    points.push(wire.len());
    for p in points {
        d.push(&wire[last..p]);
        last = p;
        loop {
            match d.next_frame() {
                Ok(Some(f)) => frames.push(f.to_vec()),
                Ok(None) => break,
                Err(e) => return (frames, Err(e)),
            }
        }
    }
    (frames, d.finish())
}

proptest! {
    #[test]
    fn frames_decode_identically_at_any_split(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20),
        cuts in prop::collection::vec(any::<usize>(), 0..40),
    ) {
        let mut wire = Vec::new();
        for p in &payloads {
            encode(p, &mut wire).unwrap();
        }
        let (frames, end) = split_all(&wire, &cuts, 1 << 20);
        prop_assert_eq!(frames, payloads);
        prop_assert_eq!(end, Ok(()));
    }

    #[test]
    fn every_single_split_point_gives_the_same_frames(payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..50), 1..5)) {
        let mut wire = Vec::new();
        for p in &payloads {
            encode(p, &mut wire).unwrap();
        }
        for at in 0..=wire.len() {
            let (frames, end) = split_all(&wire, &[at], 1 << 20);
            prop_assert_eq!(&frames, &payloads);
            prop_assert_eq!(end, Ok(()));
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000), cuts in prop::collection::vec(any::<usize>(), 0..10)) {
        let _ = split_all(&bytes, &cuts, 512);
        let mut s = StreamDecoder::new(512);
        s.push(&bytes);
        while let Ok(Some(p)) = s.next_payload() {
            let _ = tributary_core::decode_payload(p, Default::default());
        }
        let _ = s.finish();
        let mut l = LineSplitter::new(64);
        l.push(&bytes);
        for _ in 0..bytes.len() + 1 {
            match l.next_line() {
                Ok(Some(line)) => prop_assert!(line.len() <= 64 && !line.contains(&b'\n')),
                Ok(None) => break,
                Err(_) => {}
            }
        }
    }

    #[test]
    fn lines_split_identically_at_any_chunking(
        lines in prop::collection::vec("[a-z{}\":, ]{1,40}", 1..20),
        cuts in prop::collection::vec(any::<usize>(), 0..20),
    ) {
        let lines: Vec<String> = lines.into_iter().filter(|l| !l.trim().is_empty()).collect();
        let wire = lines.iter().map(|l| format!("{l}\n")).collect::<String>().into_bytes();
        let mut s = LineSplitter::new(1024);
        let mut got = Vec::new();
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (wire.len() + 1)).collect();
        points.sort_unstable();
        points.push(wire.len());
        let mut last = 0;
        for p in points {
            s.push(&wire[last..p]);
            last = p;
            while let Some(line) = s.next_line().unwrap() {
                got.push(String::from_utf8(line.to_vec()).unwrap());
            }
        }
        prop_assert_eq!(s.finish(), None);
        prop_assert_eq!(got, lines);
    }
}

#[test]
fn oversize_length_is_refused_without_allocating() {
    let mut d = FrameDecoder::new(1 << 20);
    d.push(&[0xff, 0xff, 0xff, 0xff, b'x']);
    assert_eq!(
        d.next_frame(),
        Err(FrameError::TooLarge {
            len: u64::from(u32::MAX),
            max: 1 << 20
        })
    );
    assert!(d.buffer_mut().capacity() < 1024);
}

#[test]
fn truncated_input_is_reported_at_eof() {
    let mut wire = Vec::new();
    encode(b"{\"msg\":\"whole\"}", &mut wire).unwrap();
    encode(b"{\"msg\":\"cut\"}", &mut wire).unwrap();
    let (frames, end) = split_all(&wire[..wire.len() - 3], &[], 1 << 20);
    assert_eq!(frames.len(), 1);
    assert_eq!(
        end,
        Err(FrameError::Truncated {
            len: 13,
            missing: 3
        })
    );
    let (_, end) = split_all(&wire[..2], &[], 1 << 20);
    assert_eq!(end, Err(FrameError::Truncated { len: 4, missing: 2 }));
}

#[test]
fn an_overlong_line_is_skipped_and_the_stream_goes_on() {
    let mut s = LineSplitter::new(16);
    s.push(b"{\"msg\":\"ok1\"}\n");
    s.push(&[b'x'; 40]);
    s.push(&[b'y'; 40]);
    s.push(b"\n{\"msg\":\"ok2\"}\n");
    assert_eq!(s.next_line().unwrap(), Some(&b"{\"msg\":\"ok1\"}"[..]));
    assert_eq!(s.next_line(), Err(FrameError::LineTooLong { max: 16 }));
    assert_eq!(s.next_line().unwrap(), Some(&b"{\"msg\":\"ok2\"}"[..]));
    assert_eq!(s.next_line().unwrap(), None);
}

#[test]
fn an_endless_line_does_not_grow_memory() {
    let mut s = LineSplitter::new(1024);
    let mut errors = 0;
    for _ in 0..1000 {
        s.push(&[b'z'; 4096]);
        if s.next_line().is_err() {
            errors += 1;
        }
    }
    assert_eq!(errors, 1);
    assert!(s.buffer_mut().len() <= 4096);
}

#[test]
fn stream_detects_frames_and_lines() {
    let mut wire = Vec::new();
    encode(b"{\"msg\":\"framed\"}", &mut wire).unwrap();
    let mut d = StreamDecoder::new(1 << 20);
    d.push(&wire);
    assert_eq!(
        d.next_payload().unwrap(),
        Some(&b"{\"msg\":\"framed\"}"[..])
    );
    assert_eq!(
        d.format(),
        Some(tributary_core::frame::StreamFormat::Frames)
    );

    let mut d = StreamDecoder::new(1 << 20);
    d.push(b"{\"msg\":\"line\"}");
    assert_eq!(d.next_payload().unwrap(), None);
    assert_eq!(d.finish().unwrap(), Some(&b"{\"msg\":\"line\"}"[..]));
}

/// A connection that once sent a large frame does not keep its memory:
/// the buffer shrinks once the frame is consumed.
#[test]
fn a_large_frame_does_not_pin_its_buffer() {
    use tributary_core::frame::{StreamDecoder, encode};
    let mut d = StreamDecoder::new(2 << 20);
    let mut big = Vec::new();
    encode(&vec![b'x'; 1 << 20], &mut big).unwrap();
    d.push(&big[..big.len() - 1]);
    assert_eq!(d.next_payload().unwrap(), None);
    assert_eq!(d.pending(), big.len() - 1, "a frame in progress is pending");
    d.push(&big[big.len() - 1..]);
    assert_eq!(d.next_payload().unwrap().map(<[u8]>::len), Some(1 << 20));
    assert_eq!(d.pending(), 0);
    let mut small = Vec::new();
    encode(b"{}", &mut small).unwrap();
    d.push(&small);
    assert!(
        d.buffer_mut().capacity() <= 256 * 1024,
        "capacity {} kept after the large frame",
        d.buffer_mut().capacity()
    );
    assert_eq!(d.next_payload().unwrap(), Some(&b"{}"[..]));
}

/// A line of exactly the maximum length ending in `\r\n` is a line
/// whatever the chunking: the `\r` alone does not make it too long
/// (found by the ndjson_split fuzz target).
#[test]
fn a_crlf_line_of_exactly_the_maximum_is_kept_at_any_chunking() {
    use tributary_core::frame::LineSplitter;
    let max = 16;
    let mut stream = vec![b'x'; max];
    stream.extend_from_slice(b"\r\n{\"msg\":\"next\"}\n");
    for chunk in 1..=stream.len() {
        let mut s = LineSplitter::new(max);
        let mut lines = Vec::new();
        for piece in stream.chunks(chunk) {
            s.push(piece);
            while let Some(line) = s.next_line().unwrap() {
                lines.push(line.to_vec());
            }
        }
        assert_eq!(
            lines,
            [vec![b'x'; max], b"{\"msg\":\"next\"}".to_vec()],
            "chunk {chunk}"
        );
    }
}
