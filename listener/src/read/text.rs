//! Text logs written with a Python pattern (`%(asctime)s %(levelname)s …`):
//! a record starts on a line that starts with a timestamp, and the lines
//! after it that do not (a traceback, a multi-line message) belong to it.
//! Time and level are read from the record's first line; other filters
//! work on its text.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use tributary_core::{Level, Timestamp};

/// The length of the timestamp a line starts with, if it does:
/// `2026-12-06 10:15:30`, with `,123` (Python's `asctime`) or `.123456`,
/// a `T` instead of the space, and `Z` or `+01:00` after.
pub fn leading_time(line: &[u8]) -> Option<usize> {
    const SHAPE: &[u8] = b"dddd-dd-dd_dd:dd:dd";
    if line.len() < SHAPE.len() {
        return None;
    }
    for (c, p) in line.iter().zip(SHAPE) {
        let ok = match p {
            b'd' => c.is_ascii_digit(),
            b'_' => *c == b' ' || *c == b'T',
            lit => c == lit,
        };
        if !ok {
            return None;
        }
    }
    let mut end = SHAPE.len();
    if matches!(line.get(end), Some(b',' | b'.')) {
        let digits = line[end + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits > 0 {
            end += 1 + digits;
        }
    }
    match line.get(end) {
        Some(b'Z') => end += 1,
        Some(b'+' | b'-') if line.len() >= end + 6 && line[end + 3] == b':' => {
            end += 6;
        }
        _ => {}
    }
    Some(end)
}

/// The time of a leading timestamp; civil times are in `tz`.
pub fn parse_time(stamp: &str, tz: &TimeZone) -> Option<Timestamp> {
    let normal = stamp.replacen(',', ".", 1);
    let zoned = if let Ok(ts) = normal.parse::<jiff::Timestamp>() {
        ts
    } else {
        normal
            .parse::<DateTime>()
            .ok()?
            .to_zoned(tz.clone())
            .ok()?
            .timestamp()
    };
    i64::try_from(zoned.as_nanosecond())
        .ok()
        .map(Timestamp::from_unix_nanos)
}

/// The first standard level name standing as a word in `line`.
pub fn level_of(line: &str) -> Option<Level> {
    line.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| w.len() >= 4 && w.bytes().all(|b| b.is_ascii_uppercase()))
        .find_map(Level::from_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_asctime_and_levels() {
        let line = b"2026-12-06 10:15:30,123 MainProcess app.db ERROR    it broke";
        assert_eq!(leading_time(line), Some(23));
        assert_eq!(leading_time(b"2026-12-06T10:15:30.5+01:00 x"), Some(27));
        assert_eq!(leading_time(b"Traceback (most recent call last):"), None);
        let t = parse_time("2026-12-06 10:15:30,123", &TimeZone::UTC).unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-06T10:15:30.123000Z");
        assert_eq!(
            level_of("MainProcess app.db ERROR    it broke"),
            Some(Level::ERROR)
        );
        assert_eq!(level_of("no level here, Info"), None);
    }
}
