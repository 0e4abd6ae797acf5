//! OpenTelemetry `SeverityNumber` (and `SeverityText`) → Python level.
//!
//! The reverse of [`otel_severity`](crate::json::otel_severity), which the
//! `otel` JSON profile writes: each OpenTelemetry range of four maps onto
//! the Python level of the same name plus the step within the range, so
//! DEBUG2 (6) is level 11 and a record written at level 11 comes back at 11.
//! TRACE1-4 are all TRACE (5): Python has no room below DEBUG for four.

use crate::Level;

/// OpenTelemetry's short names, indexed by severity number (0 = unspecified).
const SHORT_NAMES: [&str; 25] = [
    "UNSPECIFIED",
    "TRACE",
    "TRACE2",
    "TRACE3",
    "TRACE4",
    "DEBUG",
    "DEBUG2",
    "DEBUG3",
    "DEBUG4",
    "INFO",
    "INFO2",
    "INFO3",
    "INFO4",
    "WARN",
    "WARN2",
    "WARN3",
    "WARN4",
    "ERROR",
    "ERROR2",
    "ERROR3",
    "ERROR4",
    "FATAL",
    "FATAL2",
    "FATAL3",
    "FATAL4",
];

/// The Python level number of a severity number, or `None` for 0
/// (unspecified) and numbers outside 1-24.
pub fn levelno_of_severity(severity_number: i32) -> Option<i32> {
    let n = severity_number;
    Some(match n {
        1..=4 => Level::TRACE.no(),
        5..=8 => 10 + (n - 5),
        9..=12 => 20 + (n - 9),
        13..=16 => 30 + (n - 13),
        17..=20 => 40 + (n - 17),
        21..=24 => 50 + (n - 21),
        _ => return None,
    })
}

/// The level of a record from its severity number and text.
///
/// - The text is kept as the level's name unless it is the standard name
///   of that level (`WARN`, `WARNING`, `FATAL` and `CRITICAL` included), so a
///   custom level such as `NOTICE` keeps its name.
/// - Without text, a standard level number gets its Python name and a step
///   within a range OpenTelemetry's short name (`INFO2` for 21).
/// - An unspecified (0) or unknown number takes the level its text names;
///   with no text either it is `INFO`, as OpenTelemetry readers assume for
///   records with no severity, and an unknown text is a custom level at INFO.
pub fn level_of_severity(severity_number: i32, severity_text: &str) -> Level {
    let text = severity_text.trim();
    let Some(no) = levelno_of_severity(severity_number) else {
        return if text.is_empty() {
            Level::INFO
        } else {
            Level::from_name(text)
                .unwrap_or_else(|| Level::custom(Level::INFO.no(), text.to_owned()))
        };
    };
    if let Some(level) = Level::from_name(text)
        && level.no() == no
    {
        return level;
    }
    let short = SHORT_NAMES[severity_number as usize];
    if !text.is_empty() && !text.eq_ignore_ascii_case(short) {
        return Level::custom(no, text.to_owned());
    }
    let standard = Level::from_no(no);
    if standard.name().starts_with("Level ") {
        Level::custom(no, short)
    } else {
        standard
    }
}

/// The number of a `SeverityNumber` enum name (`SEVERITY_NUMBER_WARN` → 13),
/// which the Protobuf JSON mapping allows in place of the number.
pub(crate) fn number_of_name(name: &str) -> Option<i32> {
    let short = name.strip_prefix("SEVERITY_NUMBER_")?;
    SHORT_NAMES
        .iter()
        .position(|n| *n == short)
        .and_then(|at| i32::try_from(at).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::otel_severity;

    #[test]
    fn ranges_map_to_python_levels() {
        let cases = [
            (1, "", "TRACE", 5),
            (4, "", "TRACE", 5),
            (5, "DEBUG", "DEBUG", 10),
            (6, "", "DEBUG2", 11),
            (9, "INFO", "INFO", 20),
            (13, "WARN", "WARNING", 30),
            (13, "WARNING", "WARNING", 30),
            (17, "ERROR", "ERROR", 40),
            (21, "FATAL", "CRITICAL", 50),
            (21, "CRITICAL", "CRITICAL", 50),
            (24, "", "FATAL4", 53),
            (12, "NOTICE", "NOTICE", 23),
            (0, "", "INFO", 20),
            (0, "warn", "WARNING", 30),
            (0, "NOTSET", "NOTSET", 0),
            (0, "audit", "audit", 20),
            (99, "", "INFO", 20),
        ];
        for (number, text, name, no) in cases {
            let level = level_of_severity(number, text);
            assert_eq!((level.name(), level.no()), (name, no), "{number} {text:?}");
        }
    }

    #[test]
    fn round_trips_the_otel_output_profile() {
        // Every level the output profile can tell apart comes back as itself.
        for no in [5, 10, 11, 12, 13, 20, 21, 22, 23, 30, 33, 40, 43, 50, 53] {
            let standard = Level::from_no(no);
            let back = level_of_severity(otel_severity(no), standard.name());
            assert_eq!(back.no(), no, "levelno {no}");
            if !standard.name().starts_with("Level ") {
                assert_eq!(back, standard);
            }
        }
    }

    #[test]
    fn enum_names() {
        assert_eq!(number_of_name("SEVERITY_NUMBER_WARN"), Some(13));
        assert_eq!(number_of_name("SEVERITY_NUMBER_UNSPECIFIED"), Some(0));
        assert_eq!(number_of_name("WARN"), None);
    }
}
