//! A setting's value as given, before its definition reads it: a flag's
//! text, or a TOML string, integer, boolean or array. One reader per kind
//! of value (size, duration, level, …), so a flag and a config key of the
//! same kind accept the same forms and fail with the same words.

use crate::units::{parse_duration, parse_size};
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;
use tributary_core::Level;

/// A value as given on the command line or in the config file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Raw<'a> {
    /// A flag's argument or a TOML string.
    Text(&'a str),
    /// A TOML integer.
    Int(i64),
    /// A TOML boolean, or a switch given on the command line.
    Bool(bool),
    /// A TOML array, or a repeatable flag's arguments.
    List(Vec<Raw<'a>>),
}

/// Why a value was refused: what was expected, without the key (the caller
/// adds where it came from).
pub(crate) type Refusal = String;

impl<'a> Raw<'a> {
    fn what(&self) -> &'static str {
        match self {
            Raw::Text(_) => "a string",
            Raw::Int(_) => "an integer",
            Raw::Bool(_) => "a boolean",
            Raw::List(_) => "an array",
        }
    }

    fn expected(&self, expected: &str) -> Refusal {
        format!("expected {expected}, found {}", self.what())
    }

    /// Text as given.
    pub(crate) fn text(&self) -> Result<&'a str, Refusal> {
        match self {
            Raw::Text(t) => Ok(t),
            other => Err(other.expected("a string")),
        }
    }

    /// `true` or `false` (a switch on the command line).
    pub(crate) fn switch(&self) -> Result<bool, Refusal> {
        match self {
            Raw::Bool(b) => Ok(*b),
            other => Err(other.expected("true or false")),
        }
    }

    /// A list of strings: a TOML array, or a repeated flag.
    pub(crate) fn list(&self) -> Result<Vec<String>, Refusal> {
        match self {
            Raw::List(items) => items.iter().map(|i| i.text().map(str::to_owned)).collect(),
            other => Err(other.expected("an array of strings, e.g. [\"a\", \"b\"]")),
        }
    }

    /// A byte size: an integer or a string with a unit (`10MiB`).
    pub(crate) fn size(&self) -> Result<u64, Refusal> {
        match self {
            Raw::Int(n) => u64::try_from(*n).map_err(|_| format!("{n} is not a size")),
            Raw::Text(t) => parse_size(t).map_err(|e| e.to_string()),
            other => Err(other.expected("a size such as 1048576 or \"10MiB\"")),
        }
    }

    /// A duration: an integer number of seconds or a string with a unit (`5m`).
    pub(crate) fn duration(&self) -> Result<Duration, Refusal> {
        match self {
            Raw::Int(n) => u64::try_from(*n)
                .map(Duration::from_secs)
                .map_err(|_| format!("{n} is not a duration")),
            Raw::Text(t) => parse_duration(t).map_err(|e| e.to_string()),
            other => Err(other.expected("a duration such as 30 (seconds) or \"5m\"")),
        }
    }

    /// A whole number in `T`'s range.
    pub(crate) fn number<T: TryFrom<i64> + FromStr>(&self) -> Result<T, Refusal> {
        let out_of_range = |n: &dyn Display| format!("{n} is not a whole number in range");
        match self {
            Raw::Int(n) => T::try_from(*n).map_err(|_| out_of_range(n)),
            Raw::Text(t) => t
                .trim()
                .parse()
                .map_err(|_| out_of_range(&format!("{t:?}"))),
            other => Err(other.expected("a whole number")),
        }
    }

    /// A level: a name (case-insensitive) or a Python level number.
    pub(crate) fn level(&self) -> Result<i32, Refusal> {
        let refused = |given: &dyn Display| {
            format!(
                "invalid level {given}: expected TRACE, DEBUG, INFO, WARNING, ERROR, CRITICAL or a level number"
            )
        };
        match self {
            Raw::Int(n) => i32::try_from(*n).map_err(|_| refused(n)),
            Raw::Text(t) => match Level::from_name(t.trim()) {
                Some(level) => Ok(level.no()),
                None => t.trim().parse().map_err(|_| refused(&format!("{t:?}"))),
            },
            other => Err(other.expected("a level name such as \"ERROR\" or a level number")),
        }
    }

    /// A value of a type with its own parser (`When`, `Compression`, …),
    /// whose error says what it accepts.
    pub(crate) fn parse<T: FromStr>(&self) -> Result<T, Refusal>
    where
        T::Err: Display,
    {
        self.text()?.parse().map_err(|e: T::Err| e.to_string())
    }
}

/// The value among `choices` named `given` (any case), or a refusal that
/// lists them: for settings whose values are a few names.
pub(crate) fn one_of<T: Copy>(
    given: &str,
    what: &str,
    choices: &[(&str, T)],
) -> Result<T, Refusal> {
    choices
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(given))
        .map(|(_, value)| *value)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(name, _)| *name).collect();
            format!("invalid {what} {given:?}: expected {}", names.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_accepts_its_forms_and_names_the_rest() {
        assert_eq!(Raw::Text("10MiB").size(), Ok(10 << 20));
        assert_eq!(Raw::Int(4096).size(), Ok(4096));
        assert!(Raw::Int(-1).size().is_err());
        assert_eq!(Raw::Text("5m").duration(), Ok(Duration::from_secs(300)));
        assert_eq!(Raw::Int(30).duration(), Ok(Duration::from_secs(30)));
        assert_eq!(Raw::Text("error").level(), Ok(40));
        assert_eq!(Raw::Int(25).level(), Ok(25));
        assert!(Raw::Text("loud").level().unwrap_err().contains("\"loud\""));
        assert_eq!(Raw::Text("7").number::<u32>(), Ok(7));
        assert!(Raw::Int(-7).number::<u32>().is_err());
        let e = Raw::Text("a").list().unwrap_err();
        assert!(e.contains("array") && e.contains("found a string"), "{e}");
        let e = Raw::Text("weekly")
            .parse::<tributary_rotation::When>()
            .unwrap_err();
        assert!(e.contains("W0..W6"), "{e}");
    }
}
