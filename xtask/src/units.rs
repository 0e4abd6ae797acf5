//! Sizes and counts as people write them on a command line (`1MiB`,
//! `64KiB`, `100k`), and figures as people read them in a table.

use anyhow::{Context, bail};

/// Parses a byte size: a plain number of bytes, or a number with one of the
/// binary (`KiB`, `MiB`, `GiB`) or decimal (`kB`, `MB`, `GB`) suffixes.
/// A bare `K`/`M`/`G` is read as binary, as `ulimit` and `dd` do.
pub fn parse_size(text: &str) -> anyhow::Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        bail!(
            "invalid size {text:?}: expected a number with an optional unit, such as 64KiB or 1MiB"
        );
    }
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => bail!(
            "invalid size {text:?}: unknown unit {other:?} (use B, KiB, MiB, GiB, kB, MB or GB)"
        ),
    };
    scale(num, mult).with_context(|| format!("invalid size {text:?}"))
}

/// Parses a count: a plain number or one with `k` (thousand) or `M`
/// (million), e.g. `100k`, `1.5M`.
pub fn parse_count(text: &str) -> anyhow::Result<u64> {
    let t = text.trim().replace('_', "");
    let (num, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1_000),
        Some('m' | 'M') => (&t[..t.len() - 1], 1_000_000),
        _ => (t.as_str(), 1),
    };
    scale(num, mult).with_context(|| {
        format!("invalid count {text:?}: expected a number such as 5000, 100k or 1M")
    })
}

fn scale(num: &str, mult: u64) -> anyhow::Result<u64> {
    if let Ok(n) = num.parse::<u64>() {
        return n.checked_mul(mult).context("too large");
    }
    let f: f64 = num.parse().context("not a number")?;
    let v = f * mult as f64;
    if !(v.is_finite() && v >= 0.0 && v < u64::MAX as f64) || v.fract() != 0.0 {
        bail!("not a whole number of units");
    }
    Ok(v as u64)
}

/// A rate with a metric suffix, three significant digits: `1.23M`, `45.6k`.
pub fn fmt_rate(per_s: f64) -> String {
    let (v, unit) = if per_s >= 1e6 {
        (per_s / 1e6, "M")
    } else if per_s >= 1e3 {
        (per_s / 1e3, "k")
    } else {
        (per_s, "")
    };
    format!("{}{unit}", sig3(v))
}

/// A duration in nanoseconds with the unit that keeps it short.
pub fn fmt_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{}s", sig3(ns / 1e9))
    } else if ns >= 1e6 {
        format!("{}ms", sig3(ns / 1e6))
    } else if ns >= 1e3 {
        format!("{}µs", sig3(ns / 1e3))
    } else {
        format!("{}ns", sig3(ns))
    }
}

/// A size in KiB as MiB, one decimal.
pub fn fmt_kib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn sig3(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_binary_and_decimal_units() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("64KiB").unwrap(), 65_536);
        assert_eq!(parse_size("1MiB").unwrap(), 1 << 20);
        assert_eq!(parse_size("1M").unwrap(), 1 << 20);
        assert_eq!(parse_size("2 GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("10MB").unwrap(), 10_000_000);
        assert_eq!(parse_size("1.5KiB").unwrap(), 1536);
    }

    #[test]
    fn bad_sizes_say_what_is_wrong() {
        let e = format!("{:#}", parse_size("lots").unwrap_err());
        assert!(e.contains("expected a number"), "{e}");
        let e = format!("{:#}", parse_size("3 parsecs").unwrap_err());
        assert!(e.contains("unknown unit"), "{e}");
        assert!(parse_size("0.3B").is_err());
    }

    #[test]
    fn counts_with_suffixes() {
        assert_eq!(parse_count("5000").unwrap(), 5000);
        assert_eq!(parse_count("100k").unwrap(), 100_000);
        assert_eq!(parse_count("1.5M").unwrap(), 1_500_000);
        assert_eq!(parse_count("1_000").unwrap(), 1000);
        assert!(parse_count("many").is_err());
        assert!(parse_count("-3").is_err());
    }

    #[test]
    fn figures_read_well() {
        assert_eq!(fmt_rate(1_234_567.0), "1.23M");
        assert_eq!(fmt_rate(45_600.0), "45.6k");
        assert_eq!(fmt_rate(12.0), "12.0");
        assert_eq!(fmt_ns(950.0), "950ns");
        assert_eq!(fmt_ns(3_800.0), "3.80µs");
        assert_eq!(fmt_ns(2.5e9), "2.50s");
        assert_eq!(fmt_kib(65_536), "64.0");
    }
}
