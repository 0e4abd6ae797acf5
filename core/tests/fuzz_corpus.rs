//! Replays the committed fuzz corpus (`fuzz/corpus/`) through the decoders on
//! the stable toolchain, so every input the fuzzer ever kept stays a
//! regression test in `cargo test`, without libFuzzer or nightly.

use std::path::{Path, PathBuf};
use tributary_core::frame::{FrameError, LineSplitter, StreamDecoder};
use tributary_core::{
    DecodeOptions, Fields, Formatter, JsonFormatter, Record, Value, decode_payload,
};

/// Formats `record` in the native profile (what the listener writes),
/// decodes that line back and requires the same record: whatever the
/// decoders accept, the writer's output must carry whole (to the
/// microsecond of its timestamp).
fn assert_round_trips(record: &Record, path: &Path) {
    let mut line = Vec::new();
    JsonFormatter::native().format(record, &mut line);
    let back = decode_payload(&line, DecodeOptions::default()).unwrap_or_else(|e| {
        panic!(
            "{}: the formatted record does not decode: {e}\n{}",
            path.display(),
            String::from_utf8_lossy(&line)
        )
    });
    // The line carries microseconds, as Python's `created` does, and not
    // `relativeCreated` (kept for pattern formatting only, by design).
    // Non-finite floats, which JSON cannot express, become the strings
    // `"NaN"`, `"Infinity"`, `"-Infinity"` (documented on `Value::Float`).
    let mut expected = record.clone();
    expected.ts = expected.ts.truncate_to_micros();
    expected.relative_created_ms = None;
    expected.fields = as_json_carries(&record.fields);
    assert_eq!(
        back,
        expected,
        "{}: the record changed through format and decode\n{}",
        path.display(),
        String::from_utf8_lossy(&line)
    );
}

/// `fields` as a JSON line carries them: non-finite floats as strings.
fn as_json_carries(fields: &Fields) -> Fields {
    fn value(v: &Value) -> Value {
        match v {
            Value::Float(f) if f.is_nan() => Value::Str("NaN".into()),
            Value::Float(f) if f.is_infinite() && *f > 0.0 => Value::Str("Infinity".into()),
            Value::Float(f) if f.is_infinite() => Value::Str("-Infinity".into()),
            Value::List(items) => Value::List(items.iter().map(value).collect()),
            Value::Map(map) => Value::Map(as_json_carries(map)),
            other => other.clone(),
        }
    }
    fields.iter().map(|(k, v)| (k, value(v))).collect()
}

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "corpus {} has only {} files",
        dir.display(),
        files.len()
    );
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("corpus file");
            (p, bytes)
        })
        .collect()
}

fn payloads(stream: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let mut d = StreamDecoder::new(1 << 16);
    let mut out = Vec::new();
    'stream: for piece in stream.chunks(chunk.max(1)) {
        d.push(piece);
        loop {
            match d.next_payload() {
                Ok(Some(p)) => out.push(p.to_vec()),
                Ok(None) => break,
                Err(FrameError::LineTooLong { .. }) => continue,
                Err(_) => break 'stream,
            }
        }
    }
    if let Ok(Some(last)) = d.finish() {
        out.push(last.to_vec());
    }
    out
}

#[cfg(feature = "pickle")]
#[test]
fn pickle_corpus_decodes_or_errors_and_lenient_accepts_more() {
    use tributary_core::pickle::decode_record;
    let mut decoded = 0;
    for (path, bytes) in corpus("pickle_decode") {
        let strict = decode_record(&bytes, false);
        let lenient = decode_record(&bytes, true);
        if let Ok(mut strict) = strict {
            decoded += 1;
            assert_round_trips(&strict, &path);
            let lenient =
                lenient.unwrap_or_else(|e| panic!("{}: lenient refused: {e}", path.display()));
            strict.ts = lenient.ts;
            assert_eq!(
                format!("{strict:?}"),
                format!("{lenient:?}"),
                "{}",
                path.display()
            );
        }
    }
    assert!(
        decoded > 0,
        "no corpus file decodes: the corpus lost its real Python records"
    );
}

#[test]
fn frame_corpus_splits_the_same_at_any_chunking() {
    let mut decoded = 0;
    for (path, bytes) in corpus("frame_decode") {
        let Some((&chunk, stream)) = bytes.split_first() else {
            continue;
        };
        let whole = payloads(stream, stream.len());
        let chunked = payloads(stream, usize::from(chunk % 64) + 1);
        // Chunking can only end a stream earlier on an error it then reports; equal when none.
        assert_eq!(whole, chunked, "{}", path.display());
        for p in &whole {
            let strict = decode_payload(p, DecodeOptions::default());
            let lenient = decode_payload(
                p,
                DecodeOptions {
                    lenient_pickle: true,
                },
            );
            for record in [strict, lenient].iter().flatten() {
                decoded += 1;
                assert_round_trips(record, &path);
            }
        }
        let mut lines = LineSplitter::new(1 << 16);
        lines.push(stream);
        while !matches!(lines.next_line(), Ok(None)) {}
    }
    assert!(decoded > 0, "no frame in the corpus decodes to a record");
}

/// The lines of `stream` cut into `chunk`-byte reads, and how many lines
/// were too long.
fn split_lines(stream: &[u8], chunk: usize, max: usize) -> (Vec<Vec<u8>>, usize) {
    let mut splitter = LineSplitter::new(max);
    let mut out = Vec::new();
    let mut too_long = 0;
    for piece in stream.chunks(chunk.max(1)) {
        splitter.push(piece);
        loop {
            match splitter.next_line() {
                Ok(Some(line)) => {
                    assert!(line.len() <= max);
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

#[test]
fn ndjson_corpus_splits_the_same_at_any_chunking() {
    let mut decoded = 0;
    for (path, bytes) in corpus("ndjson_split") {
        let [chunk, max, stream @ ..] = &bytes[..] else {
            continue;
        };
        let max = usize::from(*max) * 16 + 16;
        let chunked = split_lines(stream, usize::from(*chunk % 64) + 1, max);
        let whole = split_lines(stream, stream.len(), max);
        assert_eq!(chunked, whole, "{}", path.display());
        for line in &whole.0 {
            if let Ok(record) = decode_payload(line, DecodeOptions::default()) {
                decoded += 1;
                assert_round_trips(&record, &path);
            }
        }
    }
    assert!(decoded > 0, "no line in the corpus decodes to a record");
}

#[test]
fn handshake_corpus_round_trips() {
    use tributary_core::frame::FrameDecoder;
    use tributary_core::frame::handshake::{Hello, Reply};
    let payload_of = |frame: &[u8]| {
        let mut d = FrameDecoder::new(1 << 20);
        d.push(frame);
        d.next_frame().unwrap().unwrap().to_vec()
    };
    let mut understood = 0;
    for (path, bytes) in corpus("handshake") {
        if let Ok(Some(hello)) = Hello::parse(&bytes) {
            understood += 1;
            let mut frame = Vec::new();
            hello.encode(&mut frame);
            assert_eq!(
                Hello::parse(&payload_of(&frame)),
                Ok(Some(hello)),
                "{}",
                path.display()
            );
        }
        if let Ok(reply) = Reply::parse(&bytes) {
            understood += 1;
            let mut frame = Vec::new();
            reply.encode(&mut frame);
            assert_eq!(
                Reply::parse(&payload_of(&frame)),
                Ok(reply),
                "{}",
                path.display()
            );
        }
    }
    assert!(understood > 0, "the corpus lost its valid control frames");
}

/// Equal maps print the same, however large: the pickle fuzz target
/// compares records as text, and a large map's hash index once printed in
/// a different order each time (found by the pickle_decode target).
#[test]
fn large_equal_maps_print_the_same() {
    use tributary_core::{Fields, Value};
    let build = || {
        let mut f = Fields::new();
        for i in 0..100 {
            f.insert(format!("k{i}"), Value::Int(i));
        }
        f
    };
    let (a, b) = (build(), build());
    assert_eq!(a, b);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    assert!(format!("{a:?}").starts_with("{\"k0\": Int(0), "));
}
