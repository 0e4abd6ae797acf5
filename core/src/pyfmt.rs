//! Python's `repr()` and `str()` of floats, strings and values, for pattern
//! output that must match what Python prints for the same record.

use crate::Value;

/// Formats `x` the way Python's `repr(float)` (and `str(float)`) does: the
/// shortest digits that round-trip, positional notation for exponents in
/// `-4 <= e < 16`, otherwise scientific with a signed two-digit exponent.
pub(crate) fn float_repr(x: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_float_repr(&mut out, x);
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends Python's `repr(x)` to `out` without allocating (beyond `out`).
pub(crate) fn write_float_repr(out: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    if x == 0.0 {
        out.extend_from_slice(if x.is_sign_negative() {
            b"-0.0"
        } else {
            b"0.0"
        });
        return;
    }
    let mut buf = ryu::Buffer::new();
    // ryu prints e.g. "1.5e-7" or "123.45"; reduce that to digits + exponent.
    let s = buf.format_finite(x.abs());
    let (mantissa, exp10) = match s.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    // ryu prints at most 17 significant digits, padded with at most 16 zeros.
    let mut digit_buf = [0u8; 48];
    let mut n = 0;
    for &b in int_part.as_bytes().iter().chain(frac_part.as_bytes()) {
        if n < digit_buf.len() {
            digit_buf[n] = b;
            n += 1;
        }
    }
    // Decimal exponent of the first digit in scientific notation.
    let mut point = int_part.len() as i32 + exp10;
    let lead = digit_buf[..n].iter().take_while(|&&b| b == b'0').count();
    point -= lead as i32;
    let mut digits = &digit_buf[lead..n];
    while digits.len() > 1 && digits.ends_with(b"0") {
        digits = &digits[..digits.len() - 1];
    }
    let sci_exp = point - 1;
    if x < 0.0 {
        out.push(b'-');
    }
    if (-4..16).contains(&sci_exp) {
        if point <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', point.unsigned_abs() as usize));
            out.extend_from_slice(digits);
        } else if point as usize >= digits.len() {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', point as usize - digits.len()));
            out.extend_from_slice(b".0");
        } else {
            out.extend_from_slice(&digits[..point as usize]);
            out.push(b'.');
            out.extend_from_slice(&digits[point as usize..]);
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if sci_exp < 0 { b'-' } else { b'+' });
        let e = sci_exp.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(itoa::Buffer::new().format(e).as_bytes());
    }
}

/// Appends Python's `repr(s)` (or `ascii(s)` when `ascii_only`): single
/// quotes unless the text holds `'` and no `"`, backslash escapes for the
/// quote, `\`, `\t`, `\n`, `\r` and unprintable characters.
pub(crate) fn write_str_repr(out: &mut Vec<u8>, s: &str, ascii_only: bool) {
    let quote = if s.contains('\'') && !s.contains('"') {
        b'"'
    } else {
        b'\''
    };
    out.push(quote);
    let mut utf8 = [0u8; 4];
    for c in s.chars() {
        match c {
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if c as u32 == u32::from(quote) => out.extend_from_slice(&[b'\\', quote]),
            ' '..='~' => out.push(c as u8),
            c if !c.is_ascii() && !ascii_only && is_printable(c) => {
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
            c => write_char_escape(out, c as u32),
        }
    }
    out.push(quote);
}

fn write_char_escape(out: &mut Vec<u8>, cp: u32) {
    let (prefix, digits): (&[u8], u32) = match cp {
        0..=0xff => (b"\\x", 2),
        0x100..=0xffff => (b"\\u", 4),
        _ => (b"\\U", 8),
    };
    out.extend_from_slice(prefix);
    for i in (0..digits).rev() {
        out.push(b"0123456789abcdef"[((cp >> (i * 4)) & 0xf) as usize]);
    }
}

/// Python's `str.isprintable()` for one non-ASCII character: false for
/// controls, format characters, separators other than the ASCII space,
/// private use and noncharacters. Unassigned code points (which Python
/// also escapes) cannot be told apart without the Unicode tables and count
/// as printable.
fn is_printable(c: char) -> bool {
    let cp = c as u32;
    let unprintable = matches!(cp,
        0x80..=0xa0 | 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x890..=0x891
        | 0x8e2 | 0x1680 | 0x180e | 0x2000..=0x200f | 0x2028..=0x202f
        | 0x205f..=0x2064 | 0x2066..=0x206f | 0x3000 | 0xe000..=0xf8ff | 0xfdd0..=0xfdef
        | 0xfeff | 0xfff9..=0xfffb | 0x110bd | 0x110cd | 0x13430..=0x1343f
        | 0x1bca0..=0x1bca3 | 0x1d173..=0x1d17a | 0xe0001 | 0xe0020..=0xe007f
        | 0xf0000..);
    !unprintable && cp & 0xfffe != 0xfffe
}

/// Appends Python's `repr()` (or `ascii()`) of a value, with lists as
/// `[1, 'a']` and maps as `{'k': 'v'}`.
pub(crate) fn write_value_repr(out: &mut Vec<u8>, v: &Value, ascii_only: bool) {
    match v {
        Value::Null => out.extend_from_slice(b"None"),
        Value::Bool(true) => out.extend_from_slice(b"True"),
        Value::Bool(false) => out.extend_from_slice(b"False"),
        Value::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Value::BigInt(digits) => out.extend_from_slice(digits.as_bytes()),
        Value::Float(x) => write_float_repr(out, *x),
        Value::Str(s) => write_str_repr(out, s, ascii_only),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_value_repr(out, item, ascii_only);
            }
            out.push(b']');
        }
        Value::Map(fields) => {
            out.push(b'{');
            for (i, (k, item)) in fields.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_str_repr(out, k, ascii_only);
                out.extend_from_slice(b": ");
                write_value_repr(out, item, ascii_only);
            }
            out.push(b'}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (123456.789, "123456.789"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (1e15, "1000000000000000.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.2345e-7, "1.2345e-07"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (1763774682.4441233, "1763774682.4441233"),
            (f64::INFINITY, "inf"),
            (-0.0, "-0.0"),
        ];
        for (x, want) in cases {
            assert_eq!(float_repr(x), want, "repr({x:e})");
        }
    }

    fn repr(v: &Value, ascii_only: bool) -> String {
        let mut out = Vec::new();
        write_value_repr(&mut out, v, ascii_only);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn str_repr_picks_quotes_and_escapes_like_python() {
        assert_eq!(repr(&Value::from("it's"), false), r#""it's""#);
        assert_eq!(repr(&Value::from(r#"it's "x""#), false), r#"'it\'s "x"'"#);
        assert_eq!(
            repr(&Value::from("a\\b\n\t\r\u{0}\u{7f}"), false),
            r"'a\\b\n\t\r\x00\x7f'"
        );
        assert_eq!(
            repr(&Value::from("é\u{200b}\u{a0}"), false),
            r"'é\u200b\xa0'"
        );
        assert_eq!(repr(&Value::from("é😀"), true), r"'\xe9\U0001f600'");
    }

    #[test]
    fn containers_repr_like_python() {
        let mut map = crate::Fields::new();
        map.insert("k", "v");
        map.insert("n", Value::Null);
        let list = Value::List(vec![
            Value::Int(1),
            "x".into(),
            Value::Null,
            true.into(),
            2.5.into(),
            Value::Map(map),
        ]);
        assert_eq!(
            repr(&list, false),
            "[1, 'x', None, True, 2.5, {'k': 'v', 'n': None}]"
        );
    }
}
