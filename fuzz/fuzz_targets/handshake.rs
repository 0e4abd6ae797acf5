//! The acknowledged-delivery handshake, both sides: any payload given to
//! the listener's hello parser or the producer's reply parser returns a
//! value or an error (never panics), and whatever parses re-encodes to a
//! frame that parses back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tributary_core::frame::FrameDecoder;
use tributary_core::frame::handshake::{Hello, Reply};

fn payload_of(frame: &[u8]) -> Vec<u8> {
    let mut d = FrameDecoder::new(1 << 20);
    d.push(frame);
    d.next_frame().ok().flatten().map(<[u8]>::to_vec).unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(hello)) = Hello::parse(data) {
        let mut frame = Vec::new();
        hello.encode(&mut frame);
        assert_eq!(Hello::parse(&payload_of(&frame)), Ok(Some(hello)));
    }
    if let Ok(reply) = Reply::parse(data) {
        let mut frame = Vec::new();
        reply.encode(&mut frame);
        assert_eq!(Reply::parse(&payload_of(&frame)), Ok(reply));
    }
    // The producer reads replies from a stream: any bytes, in any chunks.
    let mut d = FrameDecoder::new(1 << 16);
    for piece in data.chunks(7) {
        d.push(piece);
        while let Ok(Some(payload)) = d.next_frame() {
            let _ = Reply::parse(payload);
        }
    }
});
