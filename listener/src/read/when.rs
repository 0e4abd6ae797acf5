//! `--since` / `--until` values: RFC 3339, dates and civil times in the
//! local zone, `10m`/`2h`/`3d` (ago), `now`, `today`, `yesterday`.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Zoned};
use tributary_core::Timestamp;

/// Parses a time given on the command line, relative to `now` (whose zone is
/// the one civil times and dates are read in).
///
/// # Errors
///
/// A text that is none of the accepted forms; the message lists them.
pub fn parse_time(text: &str, now: &Zoned) -> Result<Timestamp, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "{text:?} is not a time: use RFC 3339 (2026-12-06T10:00:00Z), a date (2026-12-06), \
             a local time (2026-12-06 10:00), an age (30s, 10m, 2h, 3d, 1w: that long ago), \
             now, today or yesterday"
        )
    };
    let zoned = match t.to_ascii_lowercase().as_str() {
        "now" => now.clone(),
        "today" => now.start_of_day().map_err(|_| bad())?,
        "yesterday" => now
            .yesterday()
            .and_then(|z| z.start_of_day())
            .map_err(|_| bad())?,
        _ => {
            if let Some(age) = age(t) {
                now.checked_sub(age).map_err(|_| bad())?
            } else if let Ok(ts) = t.parse::<jiff::Timestamp>() {
                ts.to_zoned(TimeZone::UTC)
            } else if let Ok(dt) = t.parse::<DateTime>() {
                dt.to_zoned(now.time_zone().clone()).map_err(|_| bad())?
            } else if let Ok(d) = t.parse::<Date>() {
                d.to_zoned(now.time_zone().clone()).map_err(|_| bad())?
            } else {
                return Err(bad());
            }
        }
    };
    let nanos = zoned.timestamp().as_nanosecond();
    i64::try_from(nanos)
        .map(Timestamp::from_unix_nanos)
        .map_err(|_| bad())
}

/// `10m`, `2h`, `-3d`, `1w ago`.
fn age(t: &str) -> Option<SignedDuration> {
    let t = t.strip_suffix("ago").unwrap_or(t).trim();
    let t = t.strip_prefix('-').unwrap_or(t);
    let unit_at = t.find(|c: char| !c.is_ascii_digit())?;
    let n: i64 = t[..unit_at].parse().ok()?;
    let secs = match t[unit_at..].trim() {
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        _ => return None,
    };
    Some(SignedDuration::from_secs(n.checked_mul(secs)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let now: Zoned = "2026-12-06T10:30:00+01:00[Europe/Paris]".parse().unwrap();
        let at = |s: &str| parse_time(s, &now).unwrap().to_rfc3339();
        assert_eq!(at("2026-12-06T08:00:00Z"), "2026-12-06T08:00:00.000000Z");
        assert_eq!(at("2026-12-05"), "2026-12-04T23:00:00.000000Z");
        assert_eq!(at("2026-12-05 12:00"), "2026-12-05T11:00:00.000000Z");
        assert_eq!(at("10m"), "2026-12-06T09:20:00.000000Z");
        assert_eq!(at("2h ago"), "2026-12-06T07:30:00.000000Z");
        assert_eq!(at("today"), "2026-12-05T23:00:00.000000Z");
        assert_eq!(at("yesterday"), "2026-12-04T23:00:00.000000Z");
        assert!(parse_time("soon", &now).is_err());
    }
}
