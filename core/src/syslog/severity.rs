//! The PRI value: severity (→ level) and facility (→ a field).

use crate::Level;

/// The level a syslog severity (0–7) maps to: emerg, alert and crit are
/// CRITICAL; err ERROR; warning WARNING; notice the custom level NOTICE 25
/// (between WARNING and INFO, as Python's `logging.addLevelName(25,
/// "NOTICE")` would have it); info INFO; debug DEBUG.
pub fn level_of_severity(severity: u8) -> Level {
    match severity {
        0..=2 => Level::CRITICAL,
        3 => Level::ERROR,
        4 => Level::WARNING,
        5 => Level::custom(25, "NOTICE"),
        6 => Level::INFO,
        _ => Level::DEBUG,
    }
}

/// The keyword of a facility code (RFC 5424 table 1, names as in
/// `logger -p` and rsyslog); `None` past 23.
pub fn facility_name(facility: u8) -> Option<&'static str> {
    const NAMES: [&str; 24] = [
        "kern",
        "user",
        "mail",
        "daemon",
        "auth",
        "syslog",
        "lpr",
        "news",
        "uucp",
        "cron",
        "authpriv",
        "ftp",
        "ntp",
        "security",
        "console",
        "solaris-cron",
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
    ];
    NAMES.get(usize::from(facility)).copied()
}

/// Reads `<PRI>` at the start of `text`: the priority (0–191) and what
/// follows it. `None` when it is not there or out of range.
pub(super) fn split_pri(text: &str) -> Option<(u8, &str)> {
    let rest = text.strip_prefix('<')?;
    let end = rest.as_bytes().iter().take(4).position(|&b| b == b'>')?;
    let digits = &rest[..end];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // RFC 5424: no leading zeros except for "0" itself; accepted anyway,
    // senders do it and the value is unambiguous.
    let pri: u16 = digits.parse().ok()?;
    let pri = u8::try_from(pri).ok().filter(|&p| p <= 191)?;
    Some((pri, &rest[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_severity_has_its_level() {
        let nos: Vec<i32> = (0..8).map(|s| level_of_severity(s).no()).collect();
        assert_eq!(nos, [50, 50, 50, 40, 30, 25, 20, 10]);
        assert_eq!(level_of_severity(5).name(), "NOTICE");
    }

    #[test]
    fn pri_is_read_or_refused() {
        assert_eq!(split_pri("<13>x"), Some((13, "x")));
        assert_eq!(split_pri("<0>"), Some((0, "")));
        assert_eq!(split_pri("<191>a"), Some((191, "a")));
        assert_eq!(split_pri("<192>a"), None);
        assert_eq!(split_pri("<>a"), None);
        assert_eq!(split_pri("<1a>a"), None);
        assert_eq!(split_pri("<9999>a"), None);
        assert_eq!(split_pri("13>a"), None);
        assert_eq!(facility_name(1), Some("user"));
        assert_eq!(facility_name(23), Some("local7"));
    }
}
