//! Value types shared by the config file and the command line, each with a
//! deserializer whose errors say what was expected.

use crate::units::{parse_duration, parse_size};
use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::time::Duration;
use tributary_core::{JsonProfile, Level};

/// A byte size: an integer or a string with a unit (`"10MiB"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size(pub u64);

/// A duration: an integer number of seconds or a string with a unit (`"5m"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span(pub Duration);

/// A level: a name (`"ERROR"`, case-insensitive) or a Python level number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelNo(pub i32);

impl std::str::FromStr for Size {
    type Err = crate::units::UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_size(s).map(Size)
    }
}

impl std::str::FromStr for Span {
    type Err = crate::units::UnitError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_duration(s).map(Span)
    }
}

impl std::str::FromStr for LevelNo {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(level) = Level::from_name(s.trim()) {
            return Ok(LevelNo(level.no()));
        }
        s.trim().parse::<i32>().map(LevelNo).map_err(|_| {
            format!("invalid level {s:?}: expected TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL or a level number")
        })
    }
}

/// Deserializes from an integer or from a string through `FromStr`.
macro_rules! int_or_str {
    ($ty:ident, $expecting:literal, $from_int:expr) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_i64<E: de::Error>(self, v: i64) -> Result<$ty, E> {
                        let convert: fn(i64) -> Option<$ty> = $from_int;
                        convert(v).ok_or_else(|| E::custom(format!("{v} is out of range")))
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        match i64::try_from(v) {
                            Ok(v) => self.visit_i64(v),
                            Err(_) => Err(E::custom(format!("{v} is out of range"))),
                        }
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$ty, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

int_or_str!(Size, "a size such as 1048576 or \"10MiB\"", |v| {
    u64::try_from(v).ok().map(Size)
});
int_or_str!(Span, "a duration such as 30 (seconds) or \"5m\"", |v| {
    u64::try_from(v).ok().map(|s| Span(Duration::from_secs(s)))
});
int_or_str!(
    LevelNo,
    "a level name such as \"ERROR\" or a level number",
    |v| { i32::try_from(v).ok().map(LevelNo) }
);

/// `--format` / `format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FormatName {
    /// JSON lines.
    Json,
    /// Text through a Python `%`-style pattern.
    Text,
}

/// `--json-profile` / `json-profile`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ProfileName {
    /// Tributary's native keys (design.md).
    Native,
    /// Elastic Common Schema.
    Ecs,
    /// OpenTelemetry log data model.
    Otel,
    /// tracing-subscriber's JSON layout.
    Tracing,
}

impl From<ProfileName> for JsonProfile {
    fn from(p: ProfileName) -> JsonProfile {
        match p {
            ProfileName::Native => JsonProfile::Native,
            ProfileName::Ecs => JsonProfile::Ecs,
            ProfileName::Otel => JsonProfile::Otel,
            ProfileName::Tracing => JsonProfile::Tracing,
        }
    }
}

/// `--compress` / `compress`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum CompressName {
    /// gzip archives.
    Gzip,
    /// Plain archives.
    None,
}

/// `--diagnostics` / `diagnostics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DiagnosticsName {
    /// Standard error.
    Stderr,
    /// Into the log as logger `tributary`.
    Log,
    /// Both.
    Both,
}

/// Checks a `when` value against Python's `TimedRotatingFileHandler`.
pub(crate) fn check_when(when: &str) -> Result<(), String> {
    let upper = when.to_ascii_uppercase();
    let ok = matches!(upper.as_str(), "S" | "M" | "H" | "D" | "MIDNIGHT")
        || (upper.len() == 2
            && upper.starts_with('W')
            && matches!(upper.as_bytes()[1], b'0'..=b'6'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid value {when:?}: expected S, M, H, D, midnight or W0..W6"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_by_name_or_number() {
        assert_eq!("error".parse::<LevelNo>().unwrap(), LevelNo(40));
        assert_eq!("25".parse::<LevelNo>().unwrap(), LevelNo(25));
        assert!("loud".parse::<LevelNo>().unwrap_err().contains("\"loud\""));
    }

    #[test]
    fn when_values_are_pythons() {
        for ok in ["S", "m", "H", "d", "midnight", "W0", "w6"] {
            check_when(ok).unwrap();
        }
        for bad in ["W7", "weekly", "", "X"] {
            assert!(check_when(bad).is_err(), "{bad}");
        }
    }
}
