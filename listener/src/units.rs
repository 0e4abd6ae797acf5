//! Human-friendly sizes (`10MiB`) and durations (`30s`), as typed on the
//! command line and in the config file.

use std::time::Duration;

/// A size or duration that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    /// Not a size.
    #[error(
        "invalid size {0:?}: expected a number of bytes with an optional unit, e.g. 1048576, 512KiB, 10MiB, 1GB"
    )]
    Size(String),
    /// Not a duration.
    #[error(
        "invalid duration {0:?}: expected a number with a unit, e.g. 250ms, 30s, 5m, 2h (a bare number means seconds)"
    )]
    Duration(String),
}

/// Parses a byte size: a whole number with an optional unit.
///
/// `KiB`, `MiB`, `GiB` (and the shorthands `K`, `M`, `G`) are powers of
/// 1024, as memory and file sizes usually are; `KB`, `MB`, `GB` are powers
/// of 1000, as the SI says. Units are case-insensitive, spaces are allowed.
///
/// ```
/// use tributary_listener::units::parse_size;
/// assert_eq!(parse_size("10MiB").unwrap(), 10 << 20);
/// assert_eq!(parse_size("1 MB").unwrap(), 1_000_000);
/// assert_eq!(parse_size("4096").unwrap(), 4096);
/// assert!(parse_size("ten").is_err());
/// ```
pub fn parse_size(text: &str) -> Result<u64, UnitError> {
    let err = || UnitError::Size(text.to_owned());
    let (number, unit) = split_number(text.trim()).ok_or_else(err)?;
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(err()),
    };
    number.checked_mul(multiplier).ok_or_else(err)
}

/// Parses a duration: a whole number with a unit `ms`, `s`, `m`, `h` or
/// `d`; a bare number means seconds.
///
/// ```
/// use std::time::Duration;
/// use tributary_listener::units::parse_duration;
/// assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
/// assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
/// assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    let err = || UnitError::Duration(text.to_owned());
    let (number, unit) = split_number(text.trim()).ok_or_else(err)?;
    let secs = |mult: u64| {
        number
            .checked_mul(mult)
            .map(Duration::from_secs)
            .ok_or_else(err)
    };
    match unit.to_ascii_lowercase().as_str() {
        "ms" => Ok(Duration::from_millis(number)),
        "" | "s" => secs(1),
        "m" | "min" => secs(60),
        "h" => secs(3600),
        "d" => secs(86_400),
        _ => Err(err()),
    }
}

/// Splits `"10 MiB"` into `(10, "MiB")`.
fn split_number(text: &str) -> Option<(u64, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let number = text[..digits].parse().ok()?;
    Some((number, text[digits..].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_binary_and_decimal_units() {
        assert_eq!(parse_size("0").unwrap(), 0);
        assert_eq!(parse_size("1k").unwrap(), 1024);
        assert_eq!(parse_size("1KiB").unwrap(), 1024);
        assert_eq!(parse_size("1kb").unwrap(), 1000);
        assert_eq!(parse_size("3 GiB").unwrap(), 3 << 30);
        assert_eq!(parse_size("2GB").unwrap(), 2_000_000_000);
        assert_eq!(parse_size(" 7b ").unwrap(), 7);
    }

    #[test]
    fn bad_sizes_name_the_input() {
        for bad in [
            "",
            "MiB",
            "-1",
            "1.5MiB",
            "10 parsecs",
            "99999999999999999999",
        ] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
        assert!(parse_size("18446744073709551615GiB").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_duration("10 s").unwrap(), Duration::from_secs(10));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 fortnights").is_err());
    }
}
