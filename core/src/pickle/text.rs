//! Decoding of the text arguments of protocol-0 opcodes and of big
//! integers: the places where pickle bytes need more than a slice.

use std::borrow::Cow;

/// Python refuses to convert integers with more decimal digits than this
/// (`sys.get_int_max_str_digits()` since 3.11); so do we, which also bounds
/// the quadratic cost of base conversion.
pub(crate) const MAX_INT_DIGITS: usize = 4300;

/// An integer argument: machine-sized or its decimal digits.
#[derive(Debug, PartialEq)]
pub(crate) enum Int {
    Small(i64),
    Big(Box<str>),
}

/// Why an integer argument was refused.
#[derive(Debug, PartialEq)]
pub(crate) enum IntError {
    Malformed,
    TooLarge,
}

/// Parses the decimal text of INT and LONG (`-12`, `+7`, `00012`), allowing
/// surrounding ASCII whitespace as Python's `int()` does.
pub(crate) fn parse_decimal(text: &[u8]) -> Result<Int, IntError> {
    let text = text.trim_ascii();
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(IntError::Malformed);
    }
    let first = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    let digits = &digits[first..];
    if digits.len() > MAX_INT_DIGITS {
        return Err(IntError::TooLarge);
    }
    if digits.len() <= 18 {
        let mut n: i64 = 0;
        for &d in digits {
            n = n * 10 + i64::from(d - b'0');
        }
        return Ok(Int::Small(if negative { -n } else { n }));
    }
    let mut s = String::with_capacity(digits.len() + 1);
    if negative {
        s.push('-');
    }
    // Checked ASCII digits above, so this is valid UTF-8.
    s.extend(digits.iter().map(|&d| char::from(d)));
    Ok(match s.parse::<i64>() {
        Ok(n) => Int::Small(n),
        Err(_) => Int::Big(s.into()),
    })
}

/// The largest LONG1/LONG4 payload whose decimal form stays within
/// [`MAX_INT_DIGITS`] (8·log10(2) ≈ 2.408 digits per byte).
pub(crate) const MAX_LONG_BYTES: usize = 1785;

/// Decodes LONG1/LONG4's little-endian two's-complement bytes.
pub(crate) fn long_from_le_bytes(bytes: &[u8]) -> Result<Int, IntError> {
    if bytes.len() > MAX_LONG_BYTES {
        return Err(IntError::TooLarge);
    }
    let negative = bytes.last().is_some_and(|&b| b & 0x80 != 0);
    if bytes.len() <= 8 {
        let fill = if negative { 0xff } else { 0 };
        let mut buf = [fill; 8];
        buf[..bytes.len()].copy_from_slice(bytes);
        return Ok(Int::Small(i64::from_le_bytes(buf)));
    }
    // Magnitude as little-endian u32 limbs (two's complement negated when
    // negative: invert and add one).
    let mut limbs: Vec<u32> = bytes
        .chunks(4)
        .map(|c| {
            let mut w = [if negative { 0xff } else { 0 }; 4];
            w[..c.len()].copy_from_slice(c);
            let v = u32::from_le_bytes(w);
            if negative { !v } else { v }
        })
        .collect();
    if negative {
        for limb in &mut limbs {
            let (v, carry) = limb.overflowing_add(1);
            *limb = v;
            if !carry {
                break;
            }
        }
    }
    while limbs.last() == Some(&0) {
        limbs.pop();
    }
    // Repeated division by 10^9 yields base-10^9 chunks, least significant first.
    let mut chunks = Vec::with_capacity(limbs.len() * 32 / 29 + 1);
    while !limbs.is_empty() {
        let mut rem: u64 = 0;
        for limb in limbs.iter_mut().rev() {
            let cur = (rem << 32) | u64::from(*limb);
            *limb = (cur / 1_000_000_000) as u32;
            rem = cur % 1_000_000_000;
        }
        chunks.push(rem as u32);
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
    }
    let mut s = String::with_capacity(chunks.len() * 9 + 1);
    if negative {
        s.push('-');
    }
    let mut iter = chunks.iter().rev();
    if let Some(top) = iter.next() {
        s.push_str(itoa::Buffer::new().format(*top));
    }
    for chunk in iter {
        let mut buf = itoa::Buffer::new();
        let digits = buf.format(*chunk);
        for _ in digits.len()..9 {
            s.push('0');
        }
        s.push_str(digits);
    }
    if s.trim_start_matches('-').len() > MAX_INT_DIGITS {
        return Err(IntError::TooLarge);
    }
    Ok(match s.parse::<i64>() {
        Ok(n) => Int::Small(n),
        Err(_) => Int::Big(s.into()),
    })
}

/// Decodes bytes as UTF-8, writing each byte of an invalid sequence as
/// `\xNN` (Python's `backslashreplace`): readable text stays readable and
/// binary data loses nothing.
pub(crate) fn backslash_replace(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            push_hex_escape(&mut out, 'x', u32::from(*b), 2);
        }
    }
    Cow::Owned(out)
}

/// Appends `\<tag>` and `width` lowercase hex digits of `v`.
pub(crate) fn push_hex_escape(out: &mut String, tag: char, v: u32, width: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('\\');
    out.push(tag);
    for shift in (0..width).rev() {
        out.push(char::from(HEX[((v >> (shift * 4)) & 0xf) as usize]));
    }
}

/// Strips the quotes of a STRING argument (`'abc'` or `"abc"`), as Python's
/// `load_string` requires.
pub(crate) fn unquote(arg: &[u8]) -> Option<&[u8]> {
    match arg {
        [q @ (b'\'' | b'"'), body @ .., end] if end == q => Some(body),
        _ => None,
    }
}

/// Python's `codecs.escape_decode`, used by STRING: `\n`, `\x41`, `\101`,
/// `\\`, `\'`; unknown escapes stay as written. `None` for a broken `\x`.
pub(crate) fn escape_decode(body: &[u8]) -> Option<Cow<'_, [u8]>> {
    if !body.contains(&b'\\') {
        return Some(Cow::Borrowed(body));
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(&e) = body.get(i) else {
            // A trailing lone backslash: Python raises "Trailing \ in string".
            return None;
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(e),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match body.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let hi = body.get(i).and_then(|&d| char::from(d).to_digit(16))?;
                let lo = body.get(i + 1).and_then(|&d| char::from(d).to_digit(16))?;
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            _ => {
                out.push(b'\\');
                out.push(e);
            }
        }
    }
    Some(Cow::Owned(out))
}

/// Python's `raw-unicode-escape` decoding, used by UNICODE: bytes are
/// Latin-1 code points except `\uXXXX` and `\UXXXXXXXX` after an odd run of
/// backslashes. Surrogate pairs (Python 2 narrow builds) are joined; lone
/// surrogates and out-of-range code points become U+FFFD. `None` when an
/// escape is cut short.
pub(crate) fn raw_unicode_escape(bytes: &[u8]) -> Option<Cow<'_, str>> {
    if bytes.is_ascii() && !bytes.contains(&b'\\') {
        return std::str::from_utf8(bytes).ok().map(Cow::Borrowed);
    }
    let mut out = String::with_capacity(bytes.len());
    let mut pending_high: Option<u32> = None;
    let mut i = 0;
    let flush = |out: &mut String, pending: &mut Option<u32>| {
        if pending.take().is_some() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    };
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' {
            flush(&mut out, &mut pending_high);
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let run_start = i;
        while i < bytes.len() && bytes[i] == b'\\' {
            i += 1;
        }
        let run = i - run_start;
        let width = match bytes.get(i) {
            Some(b'u') if run % 2 == 1 => 4,
            Some(b'U') if run % 2 == 1 => 8,
            _ => {
                flush(&mut out, &mut pending_high);
                out.extend(std::iter::repeat_n('\\', run));
                continue;
            }
        };
        if run > 1 {
            flush(&mut out, &mut pending_high);
            out.extend(std::iter::repeat_n('\\', run - 1));
        }
        let hex = bytes.get(i + 1..i + 1 + width)?;
        let mut v: u32 = 0;
        for &d in hex {
            v = v
                .checked_mul(16)?
                .checked_add(char::from(d).to_digit(16)?)?;
        }
        i += 1 + width;
        match v {
            0xD800..=0xDBFF => {
                flush(&mut out, &mut pending_high);
                pending_high = Some(v);
            }
            0xDC00..=0xDFFF => match pending_high.take() {
                Some(high) => {
                    let c = 0x10000 + ((high - 0xD800) << 10) + (v - 0xDC00);
                    out.push(char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER));
                }
                None => out.push(char::REPLACEMENT_CHARACTER),
            },
            _ => {
                flush(&mut out, &mut pending_high);
                out.push(char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
        }
    }
    flush(&mut out, &mut pending_high);
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text() {
        assert_eq!(parse_decimal(b"42"), Ok(Int::Small(42)));
        assert_eq!(parse_decimal(b" -0042 "), Ok(Int::Small(-42)));
        assert_eq!(parse_decimal(b"-0"), Ok(Int::Small(0)));
        assert_eq!(
            parse_decimal(b"9223372036854775807"),
            Ok(Int::Small(i64::MAX))
        );
        assert_eq!(
            parse_decimal(b"-9223372036854775808"),
            Ok(Int::Small(i64::MIN))
        );
        assert_eq!(
            parse_decimal(b"9223372036854775808"),
            Ok(Int::Big("9223372036854775808".into()))
        );
        assert_eq!(
            parse_decimal(b"-1267650600228229401496703205376"),
            Ok(Int::Big("-1267650600228229401496703205376".into()))
        );
        for bad in [&b""[..], b"-", b"1x", b"0x10", b"1_000", b"1.5"] {
            assert_eq!(parse_decimal(bad), Err(IntError::Malformed), "{bad:?}");
        }
        assert_eq!(
            parse_decimal(&[b'7'; MAX_INT_DIGITS + 1]),
            Err(IntError::TooLarge)
        );
        assert!(parse_decimal(&[b'7'; MAX_INT_DIGITS]).is_ok());
    }

    #[test]
    fn long_bytes_two_complement() {
        let small = |b: &[u8]| long_from_le_bytes(b).unwrap();
        assert_eq!(small(&[]), Int::Small(0));
        assert_eq!(small(&[0xff]), Int::Small(-1));
        assert_eq!(small(&[0x80]), Int::Small(-128));
        assert_eq!(small(&[0xff, 0x00]), Int::Small(255));
        assert_eq!(small(&[0, 0, 0, 0, 0, 0, 0, 0x80]), Int::Small(i64::MIN));
        // 2**64 and -2**64, 2**100 and -2**70 (bytes from Python's encode_long).
        assert_eq!(
            small(&[0, 0, 0, 0, 0, 0, 0, 0, 1]),
            Int::Big("18446744073709551616".into())
        );
        assert_eq!(
            small(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff]),
            Int::Big("-18446744073709551616".into())
        );
        let mut p100 = vec![0u8; 12];
        p100.push(0x10);
        assert_eq!(
            small(&p100),
            Int::Big("1267650600228229401496703205376".into())
        );
        let mut m70 = vec![0u8; 8];
        m70.push(0xc0);
        assert_eq!(small(&m70), Int::Big("-1180591620717411303424".into()));
        // Nine bytes that still fit in i64.
        assert_eq!(small(&[5, 0, 0, 0, 0, 0, 0, 0, 0]), Int::Small(5));
        assert_eq!(
            small(&[0xfb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Int::Small(-5)
        );
        assert_eq!(
            long_from_le_bytes(&[1; MAX_LONG_BYTES + 1]),
            Err(IntError::TooLarge)
        );
        assert!(long_from_le_bytes(&[0x7f; MAX_LONG_BYTES]).is_ok());
    }

    #[test]
    fn backslash_replace_keeps_bytes() {
        assert_eq!(backslash_replace(b"caf\xc3\xa9"), "café");
        assert_eq!(backslash_replace(b"a\xff\x00b"), "a\\xff\u{0}b");
    }

    #[test]
    fn string_escapes() {
        let d = |s: &[u8]| escape_decode(s).map(|c| c.into_owned());
        assert_eq!(d(br"plain"), Some(b"plain".to_vec()));
        assert_eq!(d(br"a\nb\\c\'d\x41\101\0"), Some(b"a\nb\\c'dAA\0".to_vec()));
        assert_eq!(d(br"\q"), Some(br"\q".to_vec()));
        assert_eq!(d(br"\x4"), None);
        assert_eq!(d(b"end\\"), None);
        assert_eq!(unquote(b"'abc'"), Some(&b"abc"[..]));
        assert_eq!(unquote(b"\"a'b\""), Some(&b"a'b"[..]));
        assert_eq!(unquote(b"'abc\""), None);
        assert_eq!(unquote(b"'"), None);
    }

    #[test]
    fn raw_unicode_escapes() {
        let d = |s: &[u8]| raw_unicode_escape(s).map(|c| c.into_owned());
        assert_eq!(d(b"plain").as_deref(), Some("plain"));
        assert_eq!(d(br"caf\u00e9").as_deref(), Some("café"));
        assert_eq!(d(b"caf\xe9").as_deref(), Some("café"));
        assert_eq!(d(br"\U0001f600").as_deref(), Some("😀"));
        assert_eq!(d(br"\ud83d\ude00").as_deref(), Some("😀"));
        assert_eq!(d(br"\ud83dx").as_deref(), Some("\u{fffd}x"));
        assert_eq!(d(br"\ud83d\ud83d\ude00").as_deref(), Some("\u{fffd}😀"));
        assert_eq!(d(br"\ude00\u0041").as_deref(), Some("\u{fffd}A"));
        assert_eq!(d(br"\\u0041").as_deref(), Some(r"\\u0041"));
        assert_eq!(d(br"\\\u0041").as_deref(), Some(r"\\A"));
        assert_eq!(d(br"a\b").as_deref(), Some(r"a\b"));
        assert_eq!(d(br"\u00"), None);
        assert_eq!(d(br"\uzzzz"), None);
        assert_eq!(d(br"\U00110000").as_deref(), Some("\u{fffd}"));
    }
}
