//! Timestamps: nanoseconds since the Unix epoch, rendered as RFC 3339.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time: nanoseconds since 1970-01-01T00:00:00Z.
///
/// ```
/// use tributary_core::Timestamp;
/// let ts = Timestamp::from_unix_nanos(1_763_774_682_444_123_456);
/// assert_eq!(ts.to_rfc3339(), "2025-11-22T01:24:42.444123Z");
/// assert_eq!(Timestamp::parse_rfc3339("2025-11-22T02:24:42.444123+01:00"), Some(ts.truncate_to_micros()));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time from the system clock.
    pub fn now() -> Timestamp {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
            Err(e) => Timestamp(-i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX)),
        }
    }

    /// From nanoseconds since the epoch.
    pub const fn from_unix_nanos(nanos: i64) -> Timestamp {
        Timestamp(nanos)
    }

    /// From seconds since the epoch as a float, like Python's `record.created`.
    /// Non-finite or out-of-range input yields `None`.
    pub fn from_secs_f64(secs: f64) -> Option<Timestamp> {
        let nanos = (secs * 1e9).round();
        if nanos.is_finite() && nanos.abs() < 9.2e18 {
            Some(Timestamp(nanos as i64))
        } else {
            None
        }
    }

    /// Nanoseconds since the epoch.
    pub const fn unix_nanos(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch (rounded down).
    pub const fn unix_secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// Nanoseconds within the second (0..1e9).
    pub const fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(1_000_000_000) as u32
    }

    /// Seconds since the epoch as a float, like Python's `record.created`.
    pub fn as_secs_f64(self) -> f64 {
        self.unix_secs() as f64 + f64::from(self.subsec_nanos()) / 1e9
    }

    /// This time with the sub-microsecond part dropped (what RFC 3339 output keeps).
    pub const fn truncate_to_micros(self) -> Timestamp {
        Timestamp(self.0 - self.0.rem_euclid(1000))
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always UTC with six fraction digits.
    pub fn to_rfc3339(self) -> String {
        let mut out = Vec::with_capacity(27);
        self.write_rfc3339(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Appends `YYYY-MM-DDTHH:MM:SS.ffffffZ` to `out` without allocating.
    pub fn write_rfc3339(self, out: &mut Vec<u8>) {
        let secs = self.unix_secs();
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400) as u32;
        let micros = self.subsec_nanos() / 1000;
        let mut buf = [0u8; 27];
        put4(&mut buf[0..4], y);
        buf[4] = b'-';
        put2(&mut buf[5..7], m);
        buf[7] = b'-';
        put2(&mut buf[8..10], d);
        buf[10] = b'T';
        put2(&mut buf[11..13], sod / 3600);
        buf[13] = b':';
        put2(&mut buf[14..16], sod / 60 % 60);
        buf[16] = b':';
        put2(&mut buf[17..19], sod % 60);
        buf[19] = b'.';
        put6(&mut buf[20..26], micros);
        buf[26] = b'Z';
        out.extend_from_slice(&buf);
    }

    /// Parses RFC 3339 (`2026-11-22T01:31:22.444Z`, any number of fraction
    /// digits, `Z` or a `±HH:MM` offset; a space instead of `T` is accepted).
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() < 20 || b[16] != b':' {
            return None;
        }
        let minute = minute_secs(b)?;
        let sec = digits(&b[17..19])?;
        if sec > 60 {
            return None;
        }
        let mut i = 19;
        let mut nanos: i64 = 0;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
                if i - start < 9 {
                    nanos = nanos * 10 + i64::from(c - b'0');
                }
                i += 1;
            }
            let n = i - start;
            if n == 0 {
                return None;
            }
            for _ in n..9 {
                nanos *= 10;
            }
        }
        let offset_secs: i64 = match b.get(i..)? {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let h = digits(&[*h1, *h2])?;
                let m = digits(&[*m1, *m2])?;
                if h > 23 || m > 59 {
                    return None;
                }
                let off = i64::from(h * 3600 + m * 60);
                if *sign == b'-' { -off } else { off }
            }
            _ => return None,
        };
        let secs = minute + i64::from(sec.min(59)) - offset_secs;
        secs.checked_mul(1_000_000_000)?
            .checked_add(nanos)
            .map(Timestamp)
    }
}

/// Seconds from the epoch to the start of the minute that `b` (at least 16
/// bytes) begins with: `YYYY-MM-DDTHH:MM`, validated. A thread's records
/// mostly share their minute, so the last one is cached per thread; the
/// date arithmetic was a quarter of the parse (callgrind).
fn minute_secs(b: &[u8]) -> Option<i64> {
    thread_local! {
        static LAST: Cell<([u8; 16], i64)> = const { Cell::new(([0; 16], 0)) };
    }
    let mut prefix = [0u8; 16];
    prefix.copy_from_slice(b.get(..16)?);
    let (cached, secs) = LAST.get();
    // An all-zero prefix is never valid, so the empty cache never matches.
    if cached == prefix {
        return Some(secs);
    }
    let secs = parse_minute(&prefix)?;
    LAST.set((prefix, secs));
    Some(secs)
}

/// The uncached [`minute_secs`].
fn parse_minute(b: &[u8; 16]) -> Option<i64> {
    if b[4] != b'-' || b[7] != b'-' || b[13] != b':' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year = i64::from(digits(&b[0..4])?);
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let (hour, min) = (digits(&b[11..13])?, digits(&b[14..16])?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || min > 59 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + i64::from(hour * 3600 + min * 60))
}

fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn put2(out: &mut [u8], v: u32) {
    out[0] = b'0' + (v / 10 % 10) as u8;
    out[1] = b'0' + (v % 10) as u8;
}

fn put4(out: &mut [u8], v: i64) {
    let v = v.clamp(0, 9999) as u32;
    put2(&mut out[0..2], v / 100);
    put2(&mut out[2..4], v % 100);
}

fn put6(out: &mut [u8], v: u32) {
    put2(&mut out[0..2], v / 10_000);
    put2(&mut out[2..4], v / 100 % 100);
    put2(&mut out[4..6], v % 100);
}

/// Howard Hinnant's `civil_from_days`: proleptic Gregorian date of a day count.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Howard Hinnant's `days_from_civil`: day count of a proleptic Gregorian date.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(
            Timestamp::from_unix_nanos(0).to_rfc3339(),
            "1970-01-01T00:00:00.000000Z"
        );
        assert_eq!(
            Timestamp::from_unix_nanos(951_782_400_000_001_000).to_rfc3339(),
            "2000-02-29T00:00:00.000001Z"
        );
        assert_eq!(
            Timestamp::from_unix_nanos(-1_000).to_rfc3339(),
            "1969-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn parse_rejects_garbage() {
        for bad in [
            "",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00.Z",
            "2026-01-01X00:00:00Z",
            "2026-01-01T00:00:00+5",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn cached_minute_still_checks_the_rest() {
        let at = |s: &str| Timestamp::parse_rfc3339(s).map(Timestamp::to_rfc3339);
        // Same minute over and over: the cached prefix must not hide a bad
        // second, fraction or offset, nor a different separator or date.
        assert_eq!(
            at("2026-03-01T10:20:30.5Z").as_deref(),
            Some("2026-03-01T10:20:30.500000Z")
        );
        assert_eq!(
            at("2026-03-01T10:20:31Z").as_deref(),
            Some("2026-03-01T10:20:31.000000Z")
        );
        assert_eq!(at("2026-03-01T10:20:61Z"), None);
        assert_eq!(at("2026-03-01T10:20:3xZ"), None);
        assert_eq!(at("2026-03-01T10:20:30.Z"), None);
        assert_eq!(at("2026-03-01T10:20:30.1+01:60"), None);
        assert_eq!(
            at("2026-03-01T10:20:30-01:30").as_deref(),
            Some("2026-03-01T11:50:30.000000Z")
        );
        assert_eq!(
            at("2026-03-01 10:20:30Z").as_deref(),
            Some("2026-03-01T10:20:30.000000Z")
        );
        assert_eq!(at("2026-02-29T10:20:30Z"), None);
        assert_eq!(
            at("2026-03-01T10:20:30Z").as_deref(),
            Some("2026-03-01T10:20:30.000000Z")
        );
        assert_eq!(
            at("2026-03-01T10:21:00Z").as_deref(),
            Some("2026-03-01T10:21:00.000000Z")
        );
        assert_eq!(at("2026-03-01T10:20;30Z"), None);
    }

    #[test]
    fn python_created_float() {
        let ts = Timestamp::from_secs_f64(1763774682.444).unwrap();
        assert_eq!(ts.to_rfc3339(), "2025-11-22T01:24:42.444000Z");
        assert_eq!(Timestamp::from_secs_f64(f64::NAN), None);
    }

    proptest! {
        #[test]
        fn rfc3339_round_trips(nanos in any::<i64>()) {
            let ts = Timestamp::from_unix_nanos(nanos);
            let text = ts.to_rfc3339();
            prop_assert_eq!(Timestamp::parse_rfc3339(&text), Some(ts.truncate_to_micros()));
            let jiff_text = jiff::Timestamp::from_nanosecond(i128::from(ts.truncate_to_micros().unix_nanos())).unwrap().strftime("%Y-%m-%dT%H:%M:%S.%6fZ").to_string();
            prop_assert_eq!(text, jiff_text);
        }
    }
}
