//! Severity levels with Python's numbers.

use std::borrow::Cow;
use std::fmt;

/// A severity level: a Python-compatible number and a name.
///
/// The standard levels use Python's numbers (`DEBUG` = 10 … `CRITICAL` = 50)
/// plus `TRACE` = 5 for `tracing` and `log`. Custom levels keep their own name
/// and number, as `logging.addLevelName` does.
///
/// ```
/// use tributary_core::Level;
/// assert_eq!(Level::WARNING.no(), 30);
/// assert_eq!(Level::from_name("warn"), Some(Level::WARNING));
/// let notice = Level::custom(25, "NOTICE");
/// assert!(notice > Level::INFO && notice < Level::WARNING);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Level {
    no: i32,
    name: Cow<'static, str>,
}

impl Level {
    /// Python's `NOTSET` (0).
    pub const NOTSET: Level = Level::std(0, "NOTSET");
    /// `TRACE` (5): below Python's DEBUG, used by `tracing` and `log`.
    pub const TRACE: Level = Level::std(5, "TRACE");
    /// `DEBUG` (10).
    pub const DEBUG: Level = Level::std(10, "DEBUG");
    /// `INFO` (20).
    pub const INFO: Level = Level::std(20, "INFO");
    /// `WARNING` (30).
    pub const WARNING: Level = Level::std(30, "WARNING");
    /// `ERROR` (40).
    pub const ERROR: Level = Level::std(40, "ERROR");
    /// `CRITICAL` (50).
    pub const CRITICAL: Level = Level::std(50, "CRITICAL");

    const fn std(no: i32, name: &'static str) -> Level {
        Level {
            no,
            name: Cow::Borrowed(name),
        }
    }

    /// A level with its own number and name, like `logging.addLevelName(25, "NOTICE")`.
    pub fn custom(no: i32, name: impl Into<Cow<'static, str>>) -> Level {
        Level {
            no,
            name: name.into(),
        }
    }

    /// The level for a Python level number: the standard name when there is
    /// one, otherwise Python's `"Level N"`.
    pub fn from_no(no: i32) -> Level {
        match no {
            0 => Level::NOTSET,
            5 => Level::TRACE,
            10 => Level::DEBUG,
            20 => Level::INFO,
            30 => Level::WARNING,
            40 => Level::ERROR,
            50 => Level::CRITICAL,
            _ => Level::custom(no, format!("Level {no}")),
        }
    }

    /// The standard level with this name, case-insensitively; accepts the
    /// aliases `WARN` and `FATAL` as Python does.
    pub fn from_name(name: &str) -> Option<Level> {
        let level = match name.len() {
            4 if name.eq_ignore_ascii_case("INFO") => Level::INFO,
            4 if name.eq_ignore_ascii_case("WARN") => Level::WARNING,
            5 if name.eq_ignore_ascii_case("TRACE") => Level::TRACE,
            5 if name.eq_ignore_ascii_case("DEBUG") => Level::DEBUG,
            5 if name.eq_ignore_ascii_case("ERROR") => Level::ERROR,
            5 if name.eq_ignore_ascii_case("FATAL") => Level::CRITICAL,
            6 if name.eq_ignore_ascii_case("NOTSET") => Level::NOTSET,
            7 if name.eq_ignore_ascii_case("WARNING") => Level::WARNING,
            8 if name.eq_ignore_ascii_case("CRITICAL") => Level::CRITICAL,
            _ => return None,
        };
        Some(level)
    }

    /// The level for a name and a number as they arrive from a peer: the
    /// standard level when both agree, otherwise a custom level keeping both.
    pub fn from_parts(name: &str, no: i32) -> Level {
        // What Python and Tributary send: the exact standard pair, matched
        // without the case-insensitive lookup below.
        let exact = match (no, name) {
            (20, "INFO") => Some(Level::INFO),
            (10, "DEBUG") => Some(Level::DEBUG),
            (30, "WARNING") => Some(Level::WARNING),
            (40, "ERROR") => Some(Level::ERROR),
            (50, "CRITICAL") => Some(Level::CRITICAL),
            _ => None,
        };
        if let Some(level) = exact {
            return level;
        }
        match Level::from_name(name) {
            Some(level) if level.no == no && level.name == name => level,
            _ => Level::custom(no, name.to_owned()),
        }
    }

    /// The Python level number.
    pub fn no(&self) -> i32 {
        self.no
    }

    /// The level name (`INFO`, `WARNING`, or a custom name).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Default for Level {
    fn default() -> Self {
        Level::INFO
    }
}

impl PartialOrd for Level {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Level {
    /// Levels order by number; equal numbers order by name so `Ord` agrees with `Eq`.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.no
            .cmp(&other.no)
            .then_with(|| self.name.cmp(&other.name))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_numbers_and_names() {
        for (no, name) in [
            (10, "DEBUG"),
            (20, "INFO"),
            (30, "WARNING"),
            (40, "ERROR"),
            (50, "CRITICAL"),
        ] {
            let level = Level::from_no(no);
            assert_eq!(level.name(), name);
            assert_eq!(Level::from_name(name), Some(level));
        }
        assert_eq!(Level::from_no(25).name(), "Level 25");
        assert_eq!(Level::from_name("fatal"), Some(Level::CRITICAL));
        assert_eq!(Level::from_name("verbose"), None);
    }

    #[test]
    fn from_parts_keeps_custom_levels() {
        assert_eq!(Level::from_parts("INFO", 20), Level::INFO);
        let notice = Level::from_parts("NOTICE", 25);
        assert_eq!((notice.no(), notice.name()), (25, "NOTICE"));
        // A standard name with a non-standard number stays as sent.
        let odd = Level::from_parts("INFO", 21);
        assert_eq!((odd.no(), odd.name()), (21, "INFO"));
        assert_eq!(Level::from_parts("info", 20).name(), "info");
        assert_eq!(Level::from_parts("WARNING", 30), Level::WARNING);
    }
}
