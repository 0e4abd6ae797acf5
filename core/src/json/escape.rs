//! JSON string escaping and value rendering.

use crate::Value;

/// What each byte becomes inside a JSON string: 0 = itself, b'u' = `\u00XX`,
/// anything else = a two-character escape `\X`.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    // DEL is legal JSON but terminals act on it; escaping keeps lines inert.
    t[0x7f] = b'u';
    t
};

/// Appends `s` as a quoted JSON string. Control characters and newlines are
/// escaped so a record always stays on one line.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_str_body(out, s);
    out.push(b'"');
}

/// Appends the escaped body of `s`, without quotes.
pub fn write_str_body(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = clean_prefix(bytes, 0);
    while i < bytes.len() {
        let b = bytes[i];
        let esc = ESCAPE[b as usize];
        if esc == 0 {
            i = clean_prefix(bytes, i + 1);
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', esc]);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// The index of the first byte at or after `from` that needs escaping (or
/// the length). Log text rarely needs escapes, so test eight bytes at a
/// time: this is the JSON formatter's hottest loop.
#[inline]
fn clean_prefix(bytes: &[u8], mut from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(from..from + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // A byte is "interesting" if < 0x20, or equal to '"', '\\' or DEL.
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        let below = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        let hits = below
            | zero(x ^ (ONES * b'"' as u64))
            | zero(x ^ (ONES * b'\\' as u64))
            | zero(x ^ (ONES * 0x7f));
        if hits != 0 {
            // Borrow propagation can flag bytes after the first real hit,
            // never before it, so the lowest flag is a safe place to stop.
            return from + (hits.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    while from < bytes.len() && ESCAPE[bytes[from] as usize] == 0 {
        from += 1;
    }
    from
}

/// Appends a float: shortest round-trip digits; NaN and infinities, which
/// JSON cannot express, as the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub fn write_f64(out: &mut Vec<u8>, x: f64) {
    if write_short_decimal(out, x) {
        return;
    }
    if x.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes());
    } else if x.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if x > 0.0 {
        out.extend_from_slice(b"\"Infinity\"");
    } else {
        out.extend_from_slice(b"\"-Infinity\"");
    }
}

/// Writes `x` exactly as ryu would when it has at most four decimals and
/// magnitude below 2^50 (`12.5`, `0.25`, `3.0`): the usual shape of a
/// measured field, which ryu's general algorithm takes several times
/// longer to print. Returns `false`, writing nothing, for any other value.
///
/// Why the output is ryu's: with |x|·10^k < 2^50 the round-trip interval of
/// `x` scaled by 10^k is narrower than 1/4, so it holds at most one integer
/// `m`, and rounding the scaled value finds it. `m / 10^k == x` (one
/// correctly rounded division) proves the decimal parses back to `x`. The
/// first `k` that passes gives the fewest digits, which is ryu's choice,
/// and in this range ryu writes plain decimal notation with `.0` for whole
/// numbers.
fn write_short_decimal(out: &mut Vec<u8>, x: f64) -> bool {
    const LIMIT: f64 = (1u64 << 50) as f64;
    // Zero keeps its sign in ryu (`-0.0`); ryu handles it, NaN and infinities.
    if x == 0.0 || !x.is_finite() || x.abs() >= LIMIT {
        return false;
    }
    let mut scale = 1.0_f64;
    let mut pow10 = 1u64;
    for digits in 0..=4 {
        let scaled = x * scale;
        if scaled.abs() >= LIMIT {
            return false;
        }
        let m = scaled.round();
        if m / scale == x {
            if x < 0.0 {
                out.push(b'-');
            }
            // `m` is a whole number below 2^50, so the cast is exact.
            let m = m.abs() as u64;
            write_u64(out, m / pow10);
            out.push(b'.');
            if digits == 0 {
                out.push(b'0');
            } else {
                let mut frac = [b'0'; 4];
                let mut rest = m % pow10;
                for at in (0..digits).rev() {
                    frac[at] = b'0' + (rest % 10) as u8;
                    rest /= 10;
                }
                out.extend_from_slice(&frac[..digits]);
            }
            return true;
        }
        scale *= 10.0;
        pow10 *= 10;
    }
    false
}

/// Appends an integer.
pub fn write_i64(out: &mut Vec<u8>, i: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
}

/// Appends an unsigned integer.
pub fn write_u64(out: &mut Vec<u8>, i: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
}

/// Appends a value as JSON.
pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => write_i64(out, *i),
        // BigInt holds validated digits only (see Value::big_int), so it is a valid JSON number.
        Value::BigInt(s) => out.extend_from_slice(s.as_bytes()),
        Value::Float(x) => write_f64(out, *x),
        Value::Str(s) => write_str(out, s),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Map(fields) => {
            out.push(b'{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, k);
                out.push(b':');
                write_value(out, v);
            }
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_quotes_and_newlines() {
        let mut out = Vec::new();
        write_str(&mut out, "a\"b\\c\nd\te\u{1}\u{7f}é");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""a\"b\\c\nd\te\u0001\u007fé""#
        );
    }

    #[test]
    fn every_string_round_trips_through_serde_json() {
        let all: String = (0u32..0x300).filter_map(char::from_u32).collect();
        let mut out = Vec::new();
        write_str(&mut out, &all);
        assert!(!out.contains(&b'\n'));
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, all);
    }

    proptest::proptest! {
        #[test]
        fn any_string_round_trips(s in "(?s).{0,80}") {
            let mut out = Vec::new();
            write_str(&mut out, &s);
            proptest::prop_assert!(!out.contains(&b'\n'));
            let back: String = serde_json::from_slice(&out).unwrap();
            proptest::prop_assert_eq!(back, s);
        }
    }

    fn ryu_text(x: f64) -> String {
        ryu::Buffer::new().format_finite(x).to_owned()
    }

    fn ours(x: f64) -> String {
        let mut out = Vec::new();
        write_f64(&mut out, x);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn short_decimals_are_written_as_ryu_writes_them() {
        for x in [
            12.5,
            -12.5,
            3.0,
            -3.0,
            0.1,
            0.25,
            0.0001,
            1e-5,
            0.3,
            2.675,
            1e15,
            1125899906842623.0,
            1125899906842624.0,
            0.1 + 0.2,
            1.0 / 3.0,
            123456.7891,
            5e-324,
            0.0,
            -0.0,
        ] {
            assert_eq!(ours(x), ryu_text(x), "{x:e}");
        }
    }

    proptest::proptest! {
        #[test]
        fn floats_match_ryu(bits in proptest::prelude::any::<u64>(), m in -10_000_000i64..10_000_000, k in 0u32..7) {
            let x = f64::from_bits(bits);
            if x.is_finite() {
                proptest::prop_assert_eq!(ours(x), ryu_text(x));
            }
            let short = m as f64 / 10f64.powi(k as i32);
            proptest::prop_assert_eq!(ours(short), ryu_text(short));
            let next = f64::from_bits(short.to_bits() + 1);
            proptest::prop_assert_eq!(ours(next), ryu_text(next));
        }
    }

    #[test]
    fn non_finite_floats_stay_valid_json() {
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1.5] {
            let mut out = Vec::new();
            write_f64(&mut out, x);
            serde_json::from_slice::<serde_json::Value>(&out).unwrap();
        }
    }
}
