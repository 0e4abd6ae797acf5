//! The level and time of a native JSON line, read from its first bytes
//! without decoding it: the native formatter always writes
//! `{"ts":"…","level":"…","levelno":N,` first, so a level or time filter
//! can reject most lines at the cost of a few comparisons.

use tributary_core::Timestamp;

/// What the start of a line says, when it is in the native layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix<'a> {
    /// The `ts` text (RFC 3339), not yet parsed.
    pub ts: &'a str,
    /// The level name.
    pub level: &'a str,
    /// The level number.
    pub levelno: i32,
}

impl Prefix<'_> {
    /// The time, parsed.
    pub fn timestamp(&self) -> Option<Timestamp> {
        Timestamp::parse_rfc3339(self.ts)
    }
}

/// Reads the native prefix of `line`; `None` when the line does not start
/// that way (another profile, a hand-written line): then decode it whole.
pub fn native_prefix(line: &[u8]) -> Option<Prefix<'_>> {
    let rest = line.strip_prefix(br#"{"ts":""#)?;
    let q = memchr::memchr(b'"', rest)?;
    let ts = std::str::from_utf8(&rest[..q]).ok()?;
    let rest = rest[q + 1..].strip_prefix(br#","level":""#)?;
    let q = memchr::memchr(b'"', rest)?;
    let level = std::str::from_utf8(&rest[..q]).ok()?;
    let rest = rest[q + 1..].strip_prefix(br#","levelno":"#)?;
    let (negative, digits) = match rest.split_first() {
        Some((b'-', d)) => (true, d),
        _ => (false, rest),
    };
    let len = digits.iter().take_while(|c| c.is_ascii_digit()).count();
    if len == 0 || len > 9 || !matches!(digits.get(len), Some(b',' | b'}')) {
        return None;
    }
    let mut no: i32 = 0;
    for &d in &digits[..len] {
        no = no * 10 + i32::from(d - b'0');
    }
    Some(Prefix {
        ts,
        level,
        levelno: if negative { -no } else { no },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_native_prefix_only() {
        let line = br#"{"ts":"2026-12-06T10:00:00.000001Z","level":"ERROR","levelno":40,"logger":"a","msg":"x"}"#;
        let p = native_prefix(line).unwrap();
        assert_eq!(
            (p.ts, p.level, p.levelno),
            ("2026-12-06T10:00:00.000001Z", "ERROR", 40)
        );
        assert!(p.timestamp().is_some());
        assert_eq!(native_prefix(br#"{"msg":"x","level":"ERROR"}"#), None);
        assert_eq!(
            native_prefix(br#"{"ts":"x","level":"E","levelno":4x}"#),
            None
        );
    }
}
