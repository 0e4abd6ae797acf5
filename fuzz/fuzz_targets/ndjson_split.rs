//! Newline-delimited JSON as a socket delivers it: the line splitter must
//! yield the same lines whatever the chunking and the line limit, never
//! hold more than the limit, and every line goes through the native JSON
//! decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tributary_core::frame::{FrameError, LineSplitter};
use tributary_core::{DecodeOptions, decode_payload};

fn lines(stream: &[u8], chunk: usize, max: usize) -> (Vec<Vec<u8>>, usize) {
    let mut splitter = LineSplitter::new(max);
    let mut out = Vec::new();
    let mut too_long = 0;
    for piece in stream.chunks(chunk) {
        splitter.push(piece);
        loop {
            match splitter.next_line() {
                Ok(Some(line)) => {
                    assert!(line.len() <= max, "a line over the limit came out");
                    out.push(line.to_vec());
                }
                Ok(None) => break,
                Err(FrameError::LineTooLong { .. }) => too_long += 1,
                Err(e) => panic!("a line splitter only reports long lines: {e}"),
            }
        }
    }
    if let Some(last) = splitter.finish() {
        out.push(last.to_vec());
    }
    (out, too_long)
}

fuzz_target!(|data: &[u8]| {
    // Two bytes pick the chunk size and the line limit; the rest is the stream.
    let [chunk, max, stream @ ..] = data else { return };
    let chunk = usize::from(*chunk % 64) + 1;
    let max = usize::from(*max) * 16 + 16;
    let (chunked, long_a) = lines(stream, chunk, max);
    let (whole, long_b) = lines(stream, stream.len().max(1), max);
    assert_eq!(chunked, whole, "chunking changed the lines");
    assert_eq!(long_a, long_b, "chunking changed which lines were too long");
    for line in &chunked {
        let _ = decode_payload(line, DecodeOptions::default());
    }
});
