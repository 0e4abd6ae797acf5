//! The oracle: does an output hold every (producer, sequence) pair exactly
//! once, nothing else, and only lines that parse?
//!
//! Every bench producer puts `p<producer> #<seq>` at the start of its
//! message, so the same check works on JSON lines (the message is in `msg`,
//! `message` or `fields.message`, whichever the system writes) and on text
//! lines in the cookbook format (`%(asctime)s ... %(message)s`).

use anyhow::Context;
use serde::Deserialize;
use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// How the output lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum LineFormat {
    /// One JSON object per line.
    Json,
    /// The cookbook's text format, starting with `%(asctime)s`
    /// (`2026-01-02 03:04:05,678`).
    Text,
}

/// What the oracle found.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// Records the producers sent.
    pub expected: u64,
    /// Distinct expected records found.
    pub delivered: u64,
    /// Expected records not found.
    pub lost: u64,
    /// Extra copies of records already found.
    pub duplicated: u64,
    /// Lines that do not parse in the expected format.
    pub unparseable: u64,
    /// Lines that parse but are no record the producers sent.
    pub extra: u64,
}

impl Verdict {
    /// Whether the output is exactly what was sent.
    pub fn ok(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.unparseable == 0 && self.extra == 0
    }

    /// Adds another run's findings.
    pub fn add(&mut self, other: &Verdict) {
        self.expected += other.expected;
        self.delivered += other.delivered;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.unparseable += other.unparseable;
        self.extra += other.extra;
    }
}

/// Checks lines against `producers` producers that each sent `per_producer`
/// records numbered from 0.
pub struct Oracle {
    format: LineFormat,
    per_producer: u64,
    seen: Vec<Vec<u8>>,
    verdict: Verdict,
}

impl Oracle {
    /// An oracle expecting `producers × per_producer` records.
    pub fn new(format: LineFormat, producers: usize, per_producer: u64) -> Oracle {
        let len = usize::try_from(per_producer).unwrap_or(usize::MAX);
        Oracle {
            format,
            per_producer,
            seen: vec![vec![0; len]; producers],
            verdict: Verdict {
                expected: producers as u64 * per_producer,
                ..Verdict::default()
            },
        }
    }

    /// Checks one line (without its newline).
    pub fn line(&mut self, line: &[u8]) {
        let message = match self.format {
            LineFormat::Json => json_message(line),
            LineFormat::Text => text_message(line).map(Cow::Borrowed),
        };
        let Some(message) = message else {
            self.verdict.unparseable += 1;
            return;
        };
        let Some((producer, seq)) = record_id(&message) else {
            self.verdict.extra += 1;
            return;
        };
        let slot = self
            .seen
            .get_mut(producer)
            .filter(|_| seq < self.per_producer)
            .and_then(|s| s.get_mut(usize::try_from(seq).ok()?));
        match slot {
            None => self.verdict.extra += 1,
            Some(count) => {
                if *count > 0 {
                    self.verdict.duplicated += 1;
                }
                *count = count.saturating_add(1);
            }
        }
    }

    /// Checks every line read from `input`.
    pub fn read(&mut self, input: impl Read) -> std::io::Result<()> {
        let mut reader = BufReader::with_capacity(1 << 20, input);
        let mut line = Vec::with_capacity(1024);
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            self.line(&line);
        }
    }

    /// Checks a file, decompressing it when its name ends in `.gz`.
    pub fn read_file(&mut self, path: &Path) -> anyhow::Result<()> {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let result = if path.extension().is_some_and(|e| e == "gz") {
            self.read(flate2::read::MultiGzDecoder::new(file))
        } else {
            self.read(file)
        };
        result.with_context(|| format!("cannot read {}", path.display()))
    }

    /// The verdict, counting what was never seen as lost.
    pub fn finish(mut self) -> Verdict {
        let found = self.seen.iter().flatten().filter(|&&c| c > 0).count() as u64;
        self.verdict.delivered = found;
        self.verdict.lost = self.verdict.expected - found;
        self.verdict
    }
}

/// The parts of a JSON line that can hold the message.
#[derive(Deserialize)]
struct JsonLine<'a> {
    #[serde(borrow, default)]
    msg: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    fields: Option<JsonFields<'a>>,
}

/// `fields` is an object in most systems' lines; anything else is kept
/// opaque (rsyslog writes structured data as a string).
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonFields<'a> {
    Object {
        #[serde(borrow, default)]
        message: Option<Cow<'a, str>>,
    },
    Other(serde::de::IgnoredAny),
}

fn json_message(line: &[u8]) -> Option<Cow<'_, str>> {
    let parsed: JsonLine<'_> = serde_json::from_slice(line).ok()?;
    let in_fields = || match parsed.fields {
        Some(JsonFields::Object { message }) => message,
        _ => None,
    };
    parsed.msg.or(parsed.message).or_else(in_fields)
}

/// The message part of a cookbook-format line, which must start with
/// `YYYY-MM-DD HH:MM:SS,mmm ` and hold the level name `INFO`.
fn text_message(line: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(line).ok()?;
    let stamp = text.get(..24)?.as_bytes();
    let shape = b"dddd-dd-dd dd:dd:dd,ddd ";
    let stamp_ok = stamp.iter().zip(shape).all(|(&c, &s)| {
        if s == b'd' {
            c.is_ascii_digit()
        } else {
            c == s
        }
    });
    if !stamp_ok {
        return None;
    }
    let at = text.find(" INFO ")?;
    Some(text[at + 6..].trim_start())
}

/// `p<producer> #<seq>` at the start of a message.
fn record_id(message: &str) -> Option<(usize, u64)> {
    let rest = message.trim_start().strip_prefix('p')?;
    let (producer, rest) = rest.split_once(' ')?;
    let rest = rest.strip_prefix('#')?;
    let seq = rest.split(' ').next()?;
    Some((producer.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(p: usize, s: u64) -> String {
        format!(
            r#"{{"ts":"2026-01-01T00:00:00.000000Z","level":"INFO","msg":"p{p} #{s:06} payload","fields":{{"k":1}}}}"#
        )
    }

    fn text(p: usize, s: u64) -> String {
        format!("2026-01-01 00:00:00,123 MainProcess bench.p{p} INFO     p{p} #{s:06} payload")
    }

    fn check(format: LineFormat, lines: &[String]) -> Verdict {
        let mut oracle = Oracle::new(format, 2, 3);
        oracle.read(lines.join("\n").as_bytes()).unwrap();
        oracle.finish()
    }

    fn all(f: fn(usize, u64) -> String) -> Vec<String> {
        (0..2).flat_map(|p| (0..3).map(move |s| f(p, s))).collect()
    }

    #[test]
    fn complete_output_passes_in_both_formats() {
        for (format, f) in [
            (LineFormat::Json, json as fn(_, _) -> _),
            (LineFormat::Text, text),
        ] {
            let v = check(format, &all(f));
            assert!(v.ok(), "{v:?}");
            assert_eq!((v.expected, v.delivered), (6, 6));
        }
    }

    #[test]
    fn a_lost_line_is_caught() {
        let mut lines = all(json);
        lines.remove(4);
        let v = check(LineFormat::Json, &lines);
        assert_eq!((v.lost, v.delivered, v.ok()), (1, 5, false));
    }

    #[test]
    fn a_duplicate_is_caught() {
        let mut lines = all(text);
        lines.push(text(1, 2));
        let v = check(LineFormat::Text, &lines);
        assert_eq!((v.duplicated, v.lost, v.ok()), (1, 0, false));
    }

    #[test]
    fn unparseable_lines_are_caught() {
        let mut lines = all(json);
        lines[0].truncate(30); // a torn JSON line
        lines.push("garbage".into());
        let v = check(LineFormat::Json, &lines);
        assert_eq!((v.unparseable, v.lost), (2, 1));

        let mut lines = all(text);
        lines[5] = lines[5].replace(',', ".");
        let v = check(LineFormat::Text, &lines);
        assert_eq!((v.unparseable, v.lost), (1, 1));
    }

    #[test]
    fn foreign_and_out_of_range_records_are_extra() {
        let mut lines = all(json);
        lines.push(r#"{"msg":"12 records dropped"}"#.into());
        lines.push(json(2, 0)); // no producer 2
        lines.push(json(0, 3)); // producer 0 sent 0..3
        let v = check(LineFormat::Json, &lines);
        assert_eq!((v.extra, v.lost, v.ok()), (3, 0, false));
    }

    #[test]
    fn messages_under_other_keys_are_found() {
        let lines = [
            r#"{"message":"p0 #0 a"}"#.to_string(),
            r#"{"fields":{"message":"p0 #1 a","x":2},"target":"t"}"#.to_string(),
            r#"{"msg":"p0 #2","fields":"[sd@1 a=\"b\"]"}"#.to_string(),
        ];
        let mut oracle = Oracle::new(LineFormat::Json, 1, 3);
        for l in &lines {
            oracle.line(l.as_bytes());
        }
        assert!(oracle.finish().ok());
    }

    #[test]
    fn gzip_archives_are_read() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.log.1.gz");
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&path).unwrap(),
            Default::default(),
        );
        for l in all(json) {
            writeln!(gz, "{l}").unwrap();
        }
        gz.finish().unwrap();
        let mut oracle = Oracle::new(LineFormat::Json, 2, 3);
        oracle.read_file(&path).unwrap();
        assert!(oracle.finish().ok());
    }
}
