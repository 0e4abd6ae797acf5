//! A byte stream cut into arbitrary chunks, as sockets deliver it: the
//! stream decoder splits it into payloads whatever the chunking, and each
//! payload goes through the listener's decoding path; the line splitter
//! gets the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tributary_core::frame::{FrameError, LineSplitter, StreamDecoder};
use tributary_core::{DecodeOptions, decode_payload};

const MAX: usize = 1 << 16;

fn decode_both(payload: &[u8]) {
    let _ = decode_payload(payload, DecodeOptions::default());
    let lenient = DecodeOptions {
        lenient_pickle: true,
    };
    let _ = decode_payload(payload, lenient);
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size, the rest is the stream.
    let Some((&chunk, stream)) = data.split_first() else { return };
    let chunk = usize::from(chunk % 64) + 1;

    let mut frames = StreamDecoder::new(MAX);
    let mut whole = StreamDecoder::new(MAX);
    whole.push(stream);
    let mut chunked_payloads = Vec::new();
    'stream: for piece in stream.chunks(chunk) {
        frames.push(piece);
        loop {
            match frames.next_payload() {
                Ok(Some(payload)) => {
                    decode_both(payload);
                    chunked_payloads.push(payload.to_vec());
                }
                Ok(None) => break,
                Err(FrameError::LineTooLong { .. }) => continue,
                Err(_) => break 'stream,
            }
        }
    }
    if let Ok(Some(last)) = frames.finish() {
        decode_both(last);
    }
    // Chunking must not change what comes out.
    let mut whole_payloads = Vec::new();
    loop {
        match whole.next_payload() {
            Ok(Some(payload)) => whole_payloads.push(payload.to_vec()),
            Ok(None) => break,
            Err(FrameError::LineTooLong { .. }) => continue,
            Err(_) => break,
        }
    }
    assert_eq!(chunked_payloads, whole_payloads);

    let mut lines = LineSplitter::new(MAX);
    for piece in stream.chunks(chunk) {
        lines.push(piece);
        loop {
            match lines.next_line() {
                Ok(Some(line)) => decode_both(line),
                Ok(None) => break,
                Err(_) => continue,
            }
        }
    }
    if let Some(last) = lines.finish() {
        decode_both(last);
    }
});
