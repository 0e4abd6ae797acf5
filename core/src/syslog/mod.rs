//! Syslog: framing a stream into messages and parsing each message into a
//! [`Record`].
//!
//! Accepted message forms, all after a `<PRI>`:
//! - RFC 5424, with the NILVALUE `-` for any header field, the timestamp
//!   too (stamped on arrival then); structured data becomes fields (one
//!   map per SD-ID), `APP-NAME` the logger, `PROCID` the pid when numeric,
//!   `MSGID` the field `msgid`.
//! - RFC 3164 (`Mmm dd hh:mm:ss HOST TAG[PID]: MSG`), with or without the
//!   host (`logger` to a local socket leaves it out), in a configurable
//!   time zone and the year nearest to now; an RFC 3339 timestamp is also
//!   accepted in place of the BSD one.
//! - Python's `SysLogHandler`: no header, just the formatted message; a
//!   leading `name: ` (the usual `%(name)s: %(message)s` format) is taken
//!   as the logger.
//!
//! Severity maps to the level ([`level_of_severity`]) and the facility is
//! kept as the field `facility`. A message with no valid PRI, or claiming
//! RFC 5424 and malformed, still gives a record: its raw text as `msg`,
//! the PRI's level when there was one, and [`Parsed::lenient`] set.
//! Invalid UTF-8 is replaced (U+FFFD) and flagged.

mod framing;
mod rfc3164;
mod rfc5424;
mod severity;

pub use framing::{FramingError, SyslogFramer};
pub use severity::{facility_name, level_of_severity};

use crate::{CompactString, Record, Timestamp, Value};
use jiff::tz::TimeZone;

/// The logger of a message that names none.
pub const DEFAULT_LOGGER: &str = "syslog";

/// Without a PRI, RFC 3164 section 4.3.3 says to assume user.notice.
const DEFAULT_PRI: u8 = 13;

/// A parsed message.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The record.
    pub record: Record,
    /// The message matched no form and was kept raw (count it).
    pub lenient: bool,
    /// Invalid UTF-8 was replaced (count it).
    pub replaced_utf8: bool,
}

/// Parses syslog messages; holds the time zone of RFC 3164 timestamps.
#[derive(Debug, Clone)]
pub struct SyslogParser {
    zone: TimeZone,
}

impl Default for SyslogParser {
    fn default() -> Self {
        SyslogParser::new(TimeZone::system())
    }
}

impl SyslogParser {
    /// A parser reading RFC 3164 timestamps (which carry no zone) in `zone`.
    pub fn new(zone: TimeZone) -> SyslogParser {
        SyslogParser { zone }
    }

    /// A parser reading RFC 3164 timestamps in the zone named `name`: an
    /// IANA name (`Europe/Paris`, from the system's time zone database),
    /// `UTC`, or `local` for this machine's zone.
    pub fn for_zone(name: &str) -> Result<SyslogParser, String> {
        if name.eq_ignore_ascii_case("local") {
            return Ok(SyslogParser::default());
        }
        TimeZone::get(name)
            .map(SyslogParser::new)
            .map_err(|e| format!("{name:?} is not a known time zone (an IANA name such as Europe/Paris, UTC, or local): {e}"))
    }

    /// Parses one message (its framing already removed; a trailing NUL,
    /// LF or CRLF is dropped). `now` stamps messages without a timestamp
    /// and picks the year of RFC 3164 ones. Never fails: see [`Parsed`].
    ///
    /// ```
    /// use tributary_core::syslog::SyslogParser;
    /// use tributary_core::Timestamp;
    /// let p = SyslogParser::default();
    /// let got = p.parse(b"<13>1 - vm myapp 42 - - hello", Timestamp::now());
    /// let r = got.record;
    /// assert_eq!((r.level.name(), r.logger.as_str(), r.msg.as_str()), ("NOTICE", "myapp", "hello"));
    /// assert_eq!((r.host.as_deref(), r.pid), (Some("vm"), Some(42)));
    /// ```
    pub fn parse(&self, raw: &[u8], now: Timestamp) -> Parsed {
        let raw = trim_end(raw);
        // Valid UTF-8 (nearly every message) is checked by `from_utf8`'s
        // word-at-a-time path; `from_utf8_lossy` walks it in chunks and
        // cost a tenth of the syslog input's CPU (callgrind, bench s11).
        let text = match std::str::from_utf8(raw) {
            Ok(valid) => std::borrow::Cow::Borrowed(valid),
            Err(_) => String::from_utf8_lossy(raw),
        };
        let replaced_utf8 = matches!(text, std::borrow::Cow::Owned(_));
        let (record, lenient) = match severity::split_pri(&text) {
            None => (raw_record(&text, DEFAULT_PRI, now, false), true),
            Some((pri, rest)) => match rfc5424::parse(rest) {
                Ok(Some(m)) => (from_5424(m, pri, now), false),
                Ok(None) => (
                    from_3164(rfc3164::parse(rest, &self.zone, now), pri, now),
                    false,
                ),
                Err(why) => {
                    let mut r = raw_record(&text, pri, now, true);
                    r.fields.insert("syslog_error", why);
                    (r, true)
                }
            },
        };
        Parsed {
            record,
            lenient,
            replaced_utf8,
        }
    }
}

fn trim_end(mut raw: &[u8]) -> &[u8] {
    while let [rest @ .., b'\0' | b'\n' | b'\r'] = raw {
        raw = rest;
    }
    raw
}

fn base(pri: u8, ts: Timestamp, logger: Option<&str>, msg: &str) -> Record {
    let mut r = Record::new_at(
        ts,
        level_of_severity(pri & 7),
        logger.unwrap_or(DEFAULT_LOGGER),
        msg,
    );
    if let Some(name) = facility_name(pri >> 3) {
        r.fields.insert("facility", name);
    }
    r
}

/// The whole text as the message: nothing is lost.
fn raw_record(text: &str, pri: u8, now: Timestamp, had_pri: bool) -> Record {
    let mut r = base(pri, now, None, text);
    if !had_pri {
        r.fields.remove("facility");
    }
    r
}

fn pid_of(procid: Option<&str>) -> Option<u32> {
    procid.and_then(|p| p.parse().ok())
}

fn from_5424(m: rfc5424::Message<'_>, pri: u8, now: Timestamp) -> Record {
    let mut r = base(pri, m.ts.unwrap_or(now), m.app, m.msg);
    r.host = m.host.map(CompactString::from);
    r.pid = pid_of(m.procid);
    if let Some(p) = m.procid.filter(|_| r.pid.is_none()) {
        r.fields.insert("procid", p);
    }
    if let Some(id) = m.msgid {
        r.fields.insert("msgid", id);
    }
    for (id, params) in m.sd {
        r.fields.insert(id, Value::Map(params));
    }
    r
}

fn from_3164(m: rfc3164::Message<'_>, pri: u8, now: Timestamp) -> Record {
    let mut r = base(pri, m.ts.unwrap_or(now), m.tag, m.msg);
    r.host = m.host.map(CompactString::from);
    r.pid = pid_of(m.pid);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(raw: &[u8]) -> Parsed {
        SyslogParser::new(TimeZone::UTC).parse(
            raw,
            Timestamp::parse_rfc3339("2026-12-06T10:00:00Z").unwrap(),
        )
    }

    #[test]
    fn zones_by_name() {
        let at = Timestamp::parse_rfc3339("2026-07-01T00:00:00Z").unwrap();
        let paris = SyslogParser::for_zone("Europe/Paris").unwrap();
        let r = paris.parse(b"<13>Jul  1 12:00:00 h t: m", at).record;
        assert_eq!(
            r.ts,
            Timestamp::parse_rfc3339("2026-07-01T10:00:00Z").unwrap()
        );
        assert!(SyslogParser::for_zone("local").is_ok());
        let e = SyslogParser::for_zone("Mars/Olympus").unwrap_err();
        assert!(e.contains("not a known time zone"), "{e}");
    }

    #[test]
    fn python_udp_capture() {
        let p = parse(b"<12>x: py warn \xc3\xa9\x00");
        assert!(!p.lenient && !p.replaced_utf8);
        let r = p.record;
        assert_eq!(
            (r.level.no(), r.logger.as_str(), r.msg.as_str()),
            (30, "x", "py warn é")
        );
        assert_eq!(
            r.fields.get("facility").and_then(Value::as_str),
            Some("user")
        );
        assert_eq!(r.host, None);
    }

    #[test]
    fn structured_data_msgid_and_procid() {
        let r = parse(br#"<165>1 2026-12-05T13:03:49Z h app 7 ID47 [ex@1 a="1"] m"#).record;
        assert_eq!((r.level.no(), r.pid), (25, Some(7)));
        assert_eq!(
            r.fields.get("facility").and_then(Value::as_str),
            Some("local4")
        );
        assert_eq!(r.fields.get("msgid").and_then(Value::as_str), Some("ID47"));
        let Some(Value::Map(sd)) = r.fields.get("ex@1") else {
            panic!("{r:?}")
        };
        assert_eq!(sd.get("a").and_then(Value::as_str), Some("1"));
        let r = parse(b"<14>1 - h app worker-1 - - m").record;
        assert_eq!(
            (r.pid, r.fields.get("procid").and_then(Value::as_str)),
            (None, Some("worker-1"))
        );
    }

    #[test]
    fn garbage_pri_is_kept_raw_and_lenient() {
        let p = parse(b"<abc>hello");
        assert!(p.lenient);
        assert_eq!(
            (p.record.msg.as_str(), p.record.level.no()),
            ("<abc>hello", 25)
        );
        let p = parse(b"<13>1 - h a - - [broken m");
        assert!(p.lenient);
        assert_eq!(p.record.msg.as_str(), "<13>1 - h a - - [broken m");
        assert!(p.record.fields.get("syslog_error").is_some());
    }

    #[test]
    fn invalid_utf8_is_replaced_and_flagged() {
        let p = parse(b"<14>t: a\xffb");
        assert!(p.replaced_utf8 && !p.lenient);
        assert_eq!(p.record.msg.as_str(), "a\u{fffd}b");
    }

    #[test]
    fn ten_thousand_sd_elements() {
        let mut m = b"<14>1 - h a - - ".to_vec();
        for i in 0..10_000 {
            m.extend_from_slice(format!("[e{i} k=\"v\"]").as_bytes());
        }
        m.extend_from_slice(b" end");
        let r = parse(&m).record;
        // Not assert_eq: on failure it would print the 150 KB message.
        assert!(r.msg == "end", "msg is {} bytes, not \"end\"", r.msg.len());
        assert_eq!(r.fields.len(), 10_001);
    }

    proptest! {
        #[test]
        fn any_bytes_give_a_record(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let p = parse(&data);
            prop_assert!(p.record.msg.len() <= data.len() * 3);
        }

        #[test]
        fn rfc5424_fields_survive(app in "[a-z][a-z0-9.]{0,20}", host in "[a-z][a-z0-9-]{0,20}", pid in 1u32..99999, sev in 0u8..8, msg in "[ -~]{0,60}") {
            let line = format!("<{}>1 2026-01-02T03:04:05.5Z {host} {app} {pid} - - {msg}", 8 + sev);
            let r = parse(line.as_bytes()).record;
            prop_assert_eq!(r.logger.as_str(), app.as_str());
            prop_assert_eq!(r.host.as_deref(), Some(host.as_str()));
            prop_assert_eq!(r.pid, Some(pid));
            prop_assert_eq!(r.msg.as_str(), msg.trim_end_matches(['\r', '\n']));
            prop_assert_eq!(r.level.no(), level_of_severity(sev).no());
        }
    }
}
