//! RFC 3164 (BSD syslog) and the header-less forms: `Mmm dd hh:mm:ss
//! [HOSTNAME] TAG[PID]: MSG` (`logger` to a local socket leaves the host
//! out), an RFC 3339 timestamp in place of the BSD one (rsyslog's
//! forwarding format), and Python's `SysLogHandler`, which sends nothing
//! but the formatted message after the PRI.

use crate::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// The parts of a BSD-style message after its PRI.
#[derive(Debug, PartialEq)]
pub(super) struct Message<'a> {
    /// `None` when there was no timestamp (Python's form).
    pub(super) ts: Option<Timestamp>,
    pub(super) host: Option<&'a str>,
    pub(super) tag: Option<&'a str>,
    pub(super) pid: Option<&'a str>,
    pub(super) msg: &'a str,
}

/// The longest TAG taken as a program or logger name (RFC 3164 says 32;
/// Python logger names run longer).
const MAX_TAG: usize = 64;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parses what follows `<PRI>`; every input gives a message (the
/// header-less form takes anything).
pub(super) fn parse<'a>(text: &'a str, zone: &TimeZone, now: Timestamp) -> Message<'a> {
    let (ts, rest) = match bsd_timestamp(text, zone, now) {
        Some(ts) => (Some(ts), &text[15..]),
        None => match rfc3339_token(text) {
            Some((ts, rest)) => (Some(ts), rest),
            None => (None, text),
        },
    };
    let Some(rest) = ts.and_then(|_| rest.strip_prefix(' ')) else {
        // No header: Python's form, maybe with a `name: ` prefix.
        return match split_tag(text) {
            Some((tag, pid, msg)) => Message {
                ts: None,
                host: None,
                tag: Some(tag),
                pid,
                msg,
            },
            None => Message {
                ts: None,
                host: None,
                tag: None,
                pid: None,
                msg: text,
            },
        };
    };
    // `TAG: msg` straight after the timestamp: no host (a local socket).
    let first_word = rest.split(' ').next().unwrap_or("");
    let tag_first = split_tag(rest).filter(|(tag, pid, _)| {
        let len = tag.len() + pid.map_or(0, |p| p.len() + 2) + 1;
        len == first_word.len()
    });
    let (host, rest) = match tag_first {
        Some(_) => (None, rest),
        None => match rest.split_once(' ') {
            Some((host, after)) if !host.is_empty() => (Some(host), after),
            _ => (None, rest),
        },
    };
    let (tag, pid, msg) = match split_tag(rest) {
        Some((tag, pid, msg)) => (Some(tag), pid, msg),
        None => (None, None, rest),
    };
    Message {
        ts,
        host,
        tag,
        pid,
        msg,
    }
}

/// `TAG[PID]: rest` or `TAG: rest`.
fn split_tag(text: &str) -> Option<(&str, Option<&str>, &str)> {
    let end = text.find([':', '[', ' '])?;
    let tag = &text[..end];
    if tag.is_empty() || tag.len() > MAX_TAG {
        return None;
    }
    let mut rest = &text[end..];
    let mut pid = None;
    if let Some(after) = rest.strip_prefix('[') {
        let close = after.find(']')?;
        pid = Some(&after[..close]);
        rest = &after[close + 1..];
    }
    let rest = rest.strip_prefix(':')?;
    Some((tag, pid, rest.strip_prefix(' ').unwrap_or(rest)))
}

/// `Mmm dd hh:mm:ss` (day padded with a space), in `zone`, in the year
/// that puts it nearest `now` (the header carries none).
fn bsd_timestamp(text: &str, zone: &TimeZone, now: Timestamp) -> Option<Timestamp> {
    let b = text.as_bytes().get(..15)?;
    let month = MONTHS.iter().position(|m| m.as_bytes() == &b[..3])? as i8 + 1;
    if b[3] != b' ' || b[6] != b' ' || b[9] != b':' || b[12] != b':' {
        return None;
    }
    let num = |s: &[u8]| -> Option<i8> {
        let s = std::str::from_utf8(s).ok()?.trim_start();
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (day, hour, min, sec) = (
        num(&b[4..6])?,
        num(&b[7..9])?,
        num(&b[10..12])?,
        num(&b[13..15])?,
    );
    let now_ts = jiff::Timestamp::from_nanosecond(i128::from(now.unix_nanos())).ok()?;
    let year = now_ts.to_zoned(zone.clone()).year();
    let mut best: Option<(i128, Timestamp)> = None;
    for y in [year - 1, year, year + 1] {
        let Ok(dt) = DateTime::new(y, month, day, hour, min, sec.min(59), 0) else {
            continue;
        };
        let Ok(zoned) = dt.to_zoned(zone.clone()) else {
            continue;
        };
        let nanos = zoned.timestamp().as_nanosecond();
        let distance = (nanos - i128::from(now.unix_nanos())).abs();
        let ts = Timestamp::from_unix_nanos(i64::try_from(nanos).ok()?);
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, ts));
        }
    }
    best.map(|(_, ts)| ts)
}

/// An RFC 3339 timestamp as the first word.
fn rfc3339_token(text: &str) -> Option<(Timestamp, &str)> {
    if !text.as_bytes().first()?.is_ascii_digit() {
        return None;
    }
    let end = text.find(' ').unwrap_or(text.len());
    Some((Timestamp::parse_rfc3339(&text[..end])?, &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    #[test]
    fn logger_rfc3164_capture() {
        let m = parse(
            "Dec  5 13:03:49 vm myapp: msg",
            &TimeZone::UTC,
            at("2026-12-06T10:00:00Z"),
        );
        assert_eq!(m.ts, Some(at("2026-12-05T13:03:49Z")));
        assert_eq!(
            (m.host, m.tag, m.pid, m.msg),
            (Some("vm"), Some("myapp"), None, "msg")
        );
    }

    #[test]
    fn local_socket_form_has_no_host() {
        let m = parse(
            "Dec  5 13:05:56 myapp[42]: a b: c",
            &TimeZone::UTC,
            at("2026-12-06T10:00:00Z"),
        );
        assert_eq!(
            (m.host, m.tag, m.pid, m.msg),
            (None, Some("myapp"), Some("42"), "a b: c")
        );
    }

    #[test]
    fn the_year_is_the_nearest_to_now() {
        let m = parse(
            "Dec 31 23:59:00 h t: x",
            &TimeZone::UTC,
            at("2027-01-01T00:01:00Z"),
        );
        assert_eq!(m.ts, Some(at("2026-12-31T23:59:00Z")));
        let m = parse(
            "Jan  1 00:01:00 h t: x",
            &TimeZone::UTC,
            at("2026-12-31T23:59:00Z"),
        );
        assert_eq!(m.ts, Some(at("2027-01-01T00:01:00Z")));
        let zone = TimeZone::fixed(jiff::tz::offset(2));
        let m = parse("Jun  1 12:00:00 h t: x", &zone, at("2026-06-01T10:00:00Z"));
        assert_eq!(m.ts, Some(at("2026-06-01T10:00:00Z")));
    }

    #[test]
    fn python_form_has_no_header() {
        let now = at("2026-12-06T10:00:00Z");
        let m = parse("app.db: py warn é", &TimeZone::UTC, now);
        assert_eq!((m.ts, m.tag, m.msg), (None, Some("app.db"), "py warn é"));
        let m = parse("just text, no tag", &TimeZone::UTC, now);
        assert_eq!((m.ts, m.tag, m.msg), (None, None, "just text, no tag"));
    }

    #[test]
    fn rfc3339_timestamp_in_a_bsd_message() {
        let m = parse(
            "2026-12-05T13:03:49Z vm app: m",
            &TimeZone::UTC,
            at("2026-12-06T10:00:00Z"),
        );
        assert_eq!(
            (m.ts, m.host, m.tag, m.msg),
            (
                Some(at("2026-12-05T13:03:49Z")),
                Some("vm"),
                Some("app"),
                "m"
            )
        );
    }
}
