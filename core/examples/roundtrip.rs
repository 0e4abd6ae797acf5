//! Build a record, send it as a native frame, decode it, print it as JSON.
//!
//! `cargo run -p tributary-core --example roundtrip`

use tributary_core::frame::{DEFAULT_MAX_FRAME, StreamDecoder, encode_record};
use tributary_core::{Formatter, JsonFormatter, JsonProfile, Level, Record, decode_payload};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let record = Record::builder(Level::WARNING, "disk almost full")
        .logger("app.storage")
        .pid(std::process::id())
        .field("free_mb", 512)
        .field("mount", "/var")
        .build();

    let mut wire = Vec::new();
    encode_record(&record, &JsonFormatter::native(), &mut wire)?;

    // The receiving side sees bytes in whatever chunks the network delivers.
    let mut decoder = StreamDecoder::new(DEFAULT_MAX_FRAME);
    for chunk in wire.chunks(7) {
        decoder.push(chunk);
    }
    while let Some(payload) = decoder.next_payload()? {
        let received = decode_payload(payload, Default::default())?;
        for profile in [
            JsonProfile::Native,
            JsonProfile::Ecs,
            JsonProfile::Otel,
            JsonProfile::Tracing,
        ] {
            let mut line = Vec::new();
            JsonFormatter::new(profile).format(&received, &mut line);
            println!("{:>8}: {}", profile.name(), String::from_utf8_lossy(&line));
        }
    }
    decoder.finish()?;
    Ok(())
}
