//! Writes one attribute's value through a [`Spec`], as Python's `%`
//! operator or `format()` would, straight into the output buffer.
//!
//! Values are written in place and padded afterwards (padding that goes in
//! front is rotated into place), so nothing is allocated besides `out`.
//! Where Python would raise for a value of the wrong type (possible only for
//! extras and optional attributes, whose type varies per record), the
//! value's `str()` is written instead, padded to the width: formatting
//! never fails.

use std::io::Write as _;

use super::attrs::Py;
use super::spec::{Align, Conv, Flavor, FloatKind, Radix, Sign, Spec};
use crate::pyfmt::{write_float_repr, write_str_repr, write_value_repr};

/// What `asctime` and `ts` are made from.
pub(crate) struct Ctx<'a> {
    pub record: &'a crate::Record,
    pub clock: &'a super::asctime::Clock,
}

/// Rewrites line feeds and carriage returns in `out[from..]` as the two
/// characters `\n` and `\r`, in place: what a record supplied is usually
/// clean, so the common case is one scan and no copy.
pub(crate) fn escape_newlines(out: &mut Vec<u8>, from: usize) {
    let breaks = out[from..]
        .iter()
        .filter(|&&c| c == b'\n' || c == b'\r')
        .count();
    if breaks == 0 {
        return;
    }
    let old_len = out.len();
    out.resize(old_len + breaks, 0);
    // From the end backwards, so nothing is overwritten before it moved.
    let mut write = out.len();
    for read in (from..old_len).rev() {
        let c = out[read];
        let escaped = match c {
            b'\n' => b'n',
            b'\r' => b'r',
            _ => {
                write -= 1;
                out[write] = c;
                continue;
            }
        };
        write -= 2;
        out[write] = b'\\';
        out[write + 1] = escaped;
    }
}

/// Appends `v` formatted by `spec`.
pub(crate) fn render(out: &mut Vec<u8>, v: Py<'_>, spec: &Spec, ctx: &Ctx<'_>) {
    match spec.flavor {
        Flavor::Percent => render_percent(out, v, spec, ctx),
        Flavor::Brace => render_brace(out, v, spec, ctx),
    }
}

fn render_percent(out: &mut Vec<u8>, v: Py<'_>, spec: &Spec, ctx: &Ctx<'_>) {
    let start = out.len();
    match spec.conv {
        Conv::Str | Conv::Auto | Conv::Locale => {
            write_str(out, v, ctx);
            finish_text(out, start, spec, Align::Right);
        }
        Conv::Repr | Conv::Ascii => {
            write_repr(out, v, ctx, spec.conv == Conv::Ascii);
            finish_text(out, start, spec, Align::Right);
        }
        Conv::Int(radix) => match int_of(v, radix == Radix::Dec) {
            Some(n) => write_int(out, n, radix, spec),
            None => fallback(out, v, spec, ctx),
        },
        Conv::Float { kind, upper } => match float_of(v) {
            Some(x) => write_float(out, x, kind, upper, spec),
            None => fallback(out, v, spec, ctx),
        },
        Conv::Char => match char_of(v) {
            Some(c) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                pad(out, start, start, spec, Align::Right);
            }
            None => fallback(out, v, spec, ctx),
        },
    }
}

fn render_brace(out: &mut Vec<u8>, v: Py<'_>, spec: &Spec, ctx: &Ctx<'_>) {
    let start = out.len();
    if let Some(pre) = spec.pre {
        match pre {
            Conv::Repr | Conv::Ascii => write_repr(out, v, ctx, pre == Conv::Ascii),
            _ => write_str(out, v, ctx),
        }
        finish_text(out, start, spec, Align::Left);
        return;
    }
    match (v, spec.conv) {
        (Py::Str(_) | Py::Asctime | Py::Ts, Conv::Auto | Conv::Str) => {
            write_str(out, v, ctx);
            finish_text(out, start, spec, Align::Left);
        }
        (Py::None | Py::Container(_) | Py::Bool(_), _) if spec.empty => write_str(out, v, ctx),
        (Py::Int(_) | Py::BigInt(_) | Py::Bool(_), Conv::Auto | Conv::Locale | Conv::Int(_))
            if spec.precision.is_none() =>
        {
            let radix = match spec.conv {
                Conv::Int(radix) => radix,
                _ => Radix::Dec,
            };
            match int_of(v, false) {
                Some(n) => write_int(out, n, radix, spec),
                None => fallback(out, v, spec, ctx),
            }
        }
        (Py::Int(_) | Py::Bool(_), Conv::Char) if spec.precision.is_none() => match char_of(v) {
            Some(c) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                pad(out, start, start, spec, Align::Right);
            }
            None => fallback(out, v, spec, ctx),
        },
        (Py::Int(_) | Py::BigInt(_) | Py::Bool(_) | Py::Float(_), Conv::Float { kind, upper }) => {
            match float_of(v) {
                Some(x) => write_float(out, x, kind, upper, spec),
                None => fallback(out, v, spec, ctx),
            }
        }
        (Py::Float(x), Conv::Locale) => write_float(out, x, FloatKind::General, false, spec),
        (Py::Float(x), Conv::Auto) => write_float_auto(out, x, spec),
        _ => fallback(out, v, spec, ctx),
    }
}

/// Python would raise here; write `str(v)` padded to the width instead.
fn fallback(out: &mut Vec<u8>, v: Py<'_>, spec: &Spec, ctx: &Ctx<'_>) {
    let start = out.len();
    write_str(out, v, ctx);
    let default = if spec.flavor == Flavor::Percent {
        Align::Right
    } else {
        Align::Left
    };
    let align = match spec.align {
        Some(Align::AfterSign) | None => default,
        Some(align) => align,
    };
    pad_with(out, start, start, spec.width, spec.fill, align);
}

/// Appends Python's `str(v)`.
pub(crate) fn write_str(out: &mut Vec<u8>, v: Py<'_>, ctx: &Ctx<'_>) {
    match v {
        Py::None => out.extend_from_slice(b"None"),
        Py::Bool(true) => out.extend_from_slice(b"True"),
        Py::Bool(false) => out.extend_from_slice(b"False"),
        Py::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
        Py::BigInt(digits) | Py::Str(digits) => out.extend_from_slice(digits.as_bytes()),
        Py::Float(x) => write_float_repr(out, x),
        Py::Container(value) => write_value_repr(out, value, false),
        Py::Asctime => ctx.clock.write(ctx.record.ts, out),
        Py::Ts => ctx.record.ts.write_rfc3339(out),
    }
}

/// Appends Python's `repr(v)` (or `ascii(v)`).
fn write_repr(out: &mut Vec<u8>, v: Py<'_>, ctx: &Ctx<'_>, ascii_only: bool) {
    match v {
        Py::Str(s) => write_str_repr(out, s, ascii_only),
        Py::Container(value) => write_value_repr(out, value, ascii_only),
        Py::Asctime | Py::Ts => {
            // Rare enough (`%(asctime)r`) to make the text on the side.
            let mut text = Vec::new();
            write_str(&mut text, v, ctx);
            write_str_repr(out, &String::from_utf8_lossy(&text), ascii_only);
        }
        other => write_str(out, other, ctx),
    }
}

/// An integer operand: Python ints are unbounded, so beyond `i128` the
/// decimal digits (or the float) are kept.
#[derive(Clone, Copy)]
enum IntVal<'a> {
    Small(i128),
    Big(&'a str),
    /// A float too large for `i128`, truncated by `%d`.
    HugeFloat(f64),
}

fn int_of<'a>(v: Py<'a>, from_float: bool) -> Option<IntVal<'a>> {
    match v {
        Py::Int(i) => Some(IntVal::Small(i)),
        Py::Bool(b) => Some(IntVal::Small(i128::from(b))),
        Py::BigInt(digits) => Some(IntVal::Big(digits)),
        Py::Float(x) if from_float && x.is_finite() => Some(if x.abs() < 1e38 {
            IntVal::Small(x.trunc() as i128)
        } else {
            IntVal::HugeFloat(x.trunc())
        }),
        _ => None,
    }
}

fn float_of(v: Py<'_>) -> Option<f64> {
    match v {
        Py::Float(x) => Some(x),
        Py::Int(i) => Some(i as f64),
        Py::Bool(b) => Some(f64::from(u8::from(b))),
        Py::BigInt(digits) => digits.parse().ok(),
        _ => None,
    }
}

fn char_of(v: Py<'_>) -> Option<char> {
    match v {
        Py::Int(i) => u32::try_from(i).ok().and_then(char::from_u32),
        Py::Bool(b) => char::from_u32(u32::from(b)),
        Py::Str(s) => {
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(c),
                _ => None,
            }
        }
        _ => None,
    }
}

fn write_sign(out: &mut Vec<u8>, negative: bool, sign: Sign) {
    match (negative, sign) {
        (true, _) => out.push(b'-'),
        (false, Sign::Plus) => out.push(b'+'),
        (false, Sign::Space) => out.push(b' '),
        (false, Sign::Minus) => {}
    }
}

fn write_int(out: &mut Vec<u8>, n: IntVal<'_>, radix: Radix, spec: &Spec) {
    let start = out.len();
    let negative = match n {
        IntVal::Small(i) => i < 0,
        IntVal::Big(digits) => digits.starts_with('-'),
        IntVal::HugeFloat(x) => x < 0.0,
    };
    write_sign(out, negative, spec.sign);
    if spec.alt {
        out.extend_from_slice(match radix {
            Radix::Dec => b"",
            Radix::Hex { upper: false } => b"0x",
            Radix::Hex { upper: true } => b"0X",
            Radix::Oct => b"0o",
            Radix::Bin => b"0b",
        });
    }
    let digits_at = out.len();
    match n {
        IntVal::Small(i) => write_digits(out, i.unsigned_abs(), radix),
        IntVal::Big(digits) => {
            let magnitude = digits.trim_start_matches('-');
            match radix {
                Radix::Dec => out.extend_from_slice(magnitude.as_bytes()),
                _ => write_big_digits(out, magnitude, radix),
            }
        }
        IntVal::HugeFloat(x) => {
            let _ = write!(out, "{:.0}", x.abs());
        }
    }
    // `%.3d`: the precision is a minimum digit count.
    if let Some(min) = spec.precision.filter(|_| spec.flavor == Flavor::Percent) {
        let have = out.len() - digits_at;
        if min > have {
            insert_fill(out, digits_at, '0', min - have);
        }
    }
    pad(out, start, digits_at, spec, Align::Right);
}

fn write_digits(out: &mut Vec<u8>, n: u128, radix: Radix) {
    let (base, upper) = match radix {
        Radix::Dec => {
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            return;
        }
        Radix::Hex { upper } => (16, upper),
        Radix::Oct => (8, false),
        Radix::Bin => (2, false),
    };
    let table: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut buf = [0u8; 128];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = table[(n % base) as usize];
        n /= base;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// Digits of a decimal string beyond `u128` in another base, by long
/// division (rare: only Python ints wider than 128 bits get here).
fn write_big_digits(out: &mut Vec<u8>, decimal: &str, radix: Radix) {
    let (base, upper) = match radix {
        Radix::Hex { upper } => (16u32, upper),
        Radix::Oct => (8, false),
        Radix::Bin => (2, false),
        Radix::Dec => (10, false),
    };
    let table: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut number: Vec<u32> = decimal
        .bytes()
        .map(|b| u32::from(b.wrapping_sub(b'0')) % 10)
        .collect();
    let first = out.len();
    while number.iter().any(|&d| d != 0) {
        let mut rem = 0;
        for d in &mut number {
            let cur = rem * 10 + *d;
            *d = cur / base;
            rem = cur % base;
        }
        out.push(table[rem as usize]);
    }
    if out.len() == first {
        out.push(b'0');
    }
    out[first..].reverse();
}

fn write_float(out: &mut Vec<u8>, x: f64, kind: FloatKind, upper: bool, spec: &Spec) {
    let start = out.len();
    write_sign(out, x.is_sign_negative() && !x.is_nan(), spec.sign);
    let body = out.len();
    let a = x.abs();
    let precision = spec.precision.unwrap_or(6);
    if !a.is_finite() {
        write_non_finite(out, a, upper);
        if kind == FloatKind::Percent {
            out.push(b'%');
        }
    } else {
        match kind {
            FloatKind::Fixed => write_fixed(out, a, precision, spec.alt),
            FloatKind::Exp => {
                write_exp(out, a, precision, spec.alt, upper);
            }
            FloatKind::General => write_general(out, a, precision, spec.alt, upper, false),
            FloatKind::Percent => {
                write_fixed(out, a * 100.0, precision, spec.alt);
                out.push(b'%');
            }
        }
    }
    pad(out, start, body, spec, Align::Right);
}

/// `format(x, '')` and `format(x, '.3')`: `repr()` without a precision,
/// otherwise `g` that keeps a `.0` and goes scientific one digit earlier.
fn write_float_auto(out: &mut Vec<u8>, x: f64, spec: &Spec) {
    let start = out.len();
    write_sign(out, x.is_sign_negative() && !x.is_nan(), spec.sign);
    let body = out.len();
    let a = x.abs();
    match spec.precision {
        _ if !a.is_finite() => write_non_finite(out, a, false),
        None => write_float_repr(out, a),
        Some(p) => write_general(out, a, p, spec.alt, false, true),
    }
    pad(out, start, body, spec, Align::Right);
}

fn write_non_finite(out: &mut Vec<u8>, a: f64, upper: bool) {
    out.extend_from_slice(match (a.is_nan(), upper) {
        (true, false) => b"nan",
        (true, true) => b"NAN",
        (false, false) => b"inf",
        (false, true) => b"INF",
    });
}

fn write_fixed(out: &mut Vec<u8>, a: f64, precision: usize, alt: bool) {
    let _ = write!(out, "{a:.precision$}");
    if alt && precision == 0 {
        out.push(b'.');
    }
}

/// Writes `a` as `d.ddde±XX` and returns the decimal exponent.
fn write_exp(out: &mut Vec<u8>, a: f64, precision: usize, alt: bool, upper: bool) -> i32 {
    let at = out.len();
    let _ = write!(out, "{a:.precision$e}");
    // Rust writes `1.5e3` / `1.5e-3`; Python wants `1.5e+03` / `1.5e-03`.
    let e_at = out[at..]
        .iter()
        .position(|&b| b == b'e')
        .map_or(out.len(), |p| at + p);
    let exp: i32 = std::str::from_utf8(&out[e_at + 1..])
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    out.truncate(e_at);
    if alt && precision == 0 {
        out.push(b'.');
    }
    out.push(if upper { b'E' } else { b'e' });
    out.push(if exp < 0 { b'-' } else { b'+' });
    let magnitude = exp.unsigned_abs();
    if magnitude < 10 {
        out.push(b'0');
    }
    out.extend_from_slice(itoa::Buffer::new().format(magnitude).as_bytes());
    exp
}

/// `%g`: `precision` significant digits, fixed unless the exponent is
/// below -4 or not below the precision; trailing zeros dropped unless `#`.
/// `add_dot_0` is `format()`'s no-type variant (CPython's
/// `Py_DTSF_ADD_DOT_0`): scientific from one digit earlier, and a whole
/// number keeps `.0`.
fn write_general(
    out: &mut Vec<u8>,
    a: f64,
    precision: usize,
    alt: bool,
    upper: bool,
    add_dot_0: bool,
) {
    let p = precision.max(1);
    let at = out.len();
    let exp = write_exp(out, a, p - 1, alt, upper);
    let limit = if add_dot_0 { p as i32 - 1 } else { p as i32 };
    if (-4..limit).contains(&exp) {
        out.truncate(at);
        write_fixed(out, a, (p as i32 - 1 - exp) as usize, alt);
    }
    let mantissa_end = out[at..]
        .iter()
        .position(|&b| b == b'e' || b == b'E')
        .map_or(out.len(), |p| at + p);
    let has_point = out[at..mantissa_end].contains(&b'.');
    if !alt && has_point {
        let mut end = mantissa_end;
        while out[end - 1] == b'0' {
            end -= 1;
        }
        if out[end - 1] == b'.' {
            end -= 1;
        }
        out.drain(end..mantissa_end);
    }
    if add_dot_0 && !out[at..].iter().any(|&b| matches!(b, b'.' | b'e' | b'E')) {
        out.extend_from_slice(b".0");
    }
}

/// Truncates text written from `start` to the precision (in characters),
/// then pads it to the width.
fn finish_text(out: &mut Vec<u8>, start: usize, spec: &Spec, default: Align) {
    if let Some(cut) = spec
        .precision
        .and_then(|max| char_boundary(&out[start..], max))
    {
        out.truncate(start + cut);
    }
    pad(out, start, start, spec, default);
}

/// Byte offset of the `n`th character, or `None` when there are fewer.
fn char_boundary(bytes: &[u8], n: usize) -> Option<usize> {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| (**b & 0xc0) != 0x80)
        .nth(n)
        .map(|(i, _)| i)
}

/// Pads what was written from `start` to the spec's width. `after_sign` is
/// where `=` alignment (and zero padding) inserts.
fn pad(out: &mut Vec<u8>, start: usize, after_sign: usize, spec: &Spec, default: Align) {
    if spec.width == 0 {
        return;
    }
    let (fill, align) = match spec.flavor {
        Flavor::Percent => match spec.align {
            Some(Align::Left) => (' ', Align::Left),
            _ if spec.zero && is_number_conv(spec.conv) => ('0', Align::AfterSign),
            _ => (' ', Align::Right),
        },
        // CPython: `0` means fill `0` unless a fill was given, and `=`
        // unless an alignment was given and the type aligns right.
        Flavor::Brace => {
            let fill = if spec.zero && !spec.fill_given {
                '0'
            } else {
                spec.fill
            };
            let align = match spec.align {
                Some(align) => align,
                None if spec.zero && default == Align::Right => Align::AfterSign,
                None => default,
            };
            (fill, align)
        }
    };
    pad_with(out, start, after_sign, spec.width, fill, align);
}

fn is_number_conv(conv: Conv) -> bool {
    matches!(conv, Conv::Int(_) | Conv::Float { .. })
}

fn pad_with(
    out: &mut Vec<u8>,
    start: usize,
    after_sign: usize,
    width: usize,
    fill: char,
    align: Align,
) {
    // Characters, not bytes; ASCII text (nearly all) is checked a word at
    // a time instead of counted byte by byte.
    let written = &out[start..];
    let len = if written.is_ascii() {
        written.len()
    } else {
        written.iter().filter(|b| (**b & 0xc0) != 0x80).count()
    };
    if width <= len {
        return;
    }
    let n = width - len;
    match align {
        Align::Left => insert_fill(out, out.len(), fill, n),
        Align::Right => insert_fill(out, start, fill, n),
        Align::AfterSign => insert_fill(out, after_sign, fill, n),
        Align::Center => {
            insert_fill(out, start, fill, n / 2);
            insert_fill(out, out.len(), fill, n - n / 2);
        }
    }
}

/// Inserts `n` copies of `fill` at byte `at`, without allocating beyond `out`.
fn insert_fill(out: &mut Vec<u8>, at: usize, fill: char, n: usize) {
    // The usual fill, a space, is one byte; appended (`%(levelname)-8s`)
    // it needs no rotation.
    if fill.is_ascii() {
        let old = out.len();
        out.resize(old + n, fill as u8);
        if at < old {
            out[at..].rotate_right(n);
        }
        return;
    }
    let mut buf = [0u8; 4];
    let fill = fill.encode_utf8(&mut buf).as_bytes();
    let old = out.len();
    out.reserve(n * fill.len());
    for _ in 0..n {
        out.extend_from_slice(fill);
    }
    let added = out.len() - old;
    out[at..].rotate_right(added);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::asctime::Clock;
    use crate::{Level, Record};

    /// Renders `v` through the spec of a one-field template; expected
    /// strings come from Python 3.11.
    fn fmt(v: Py<'_>, flavor: Flavor, spec: &str) -> String {
        let spec = match flavor {
            Flavor::Percent => Spec::parse_percent(spec).unwrap().0,
            Flavor::Brace => Spec::parse_brace(spec, None).unwrap(),
        };
        let record = Record::new(Level::INFO, "root", "");
        let clock = Clock::new(None, jiff::tz::TimeZone::UTC);
        let mut out = Vec::new();
        render(
            &mut out,
            v,
            &spec,
            &Ctx {
                record: &record,
                clock: &clock,
            },
        );
        String::from_utf8(out).unwrap()
    }

    use Flavor::{Brace, Percent};

    #[test]
    fn percent_floats() {
        assert_eq!(fmt(Py::Float(f64::INFINITY), Percent, "05f"), "00inf");
        assert_eq!(fmt(Py::Float(f64::NAN), Percent, "+05.1f"), "+0nan");
        assert_eq!(fmt(Py::Float(12345.678), Percent, "-10.2e"), "1.23e+04  ");
        assert_eq!(fmt(Py::Float(1e-5), Percent, "g"), "1e-05");
        assert_eq!(fmt(Py::Float(1.0), Percent, "#g"), "1.00000");
        assert_eq!(fmt(Py::Float(999.9), Percent, ".3g"), "1e+03");
        assert_eq!(fmt(Py::Float(1e-10), Percent, "G"), "1E-10");
        assert_eq!(fmt(Py::Float(0.0), Percent, "e"), "0.000000e+00");
        assert_eq!(fmt(Py::Float(5.0), Percent, "#.0e"), "5.e+00");
        assert_eq!(fmt(Py::Float(5.0), Percent, "#.0f"), "5.");
        // Exact binary value, ties to even: as Python's dtoa.
        for (x, want) in [(0.5, "0"), (1.5, "2"), (2.5, "2")] {
            assert_eq!(fmt(Py::Float(x), Percent, ".0f"), want);
        }
        assert_eq!(fmt(Py::Float(0.125), Percent, ".2f"), "0.12");
        assert_eq!(
            fmt(Py::Float(1e300), Percent, "d")[..29],
            *"10000000000000000525047602552"
        );
    }

    #[test]
    fn percent_ints() {
        assert_eq!(fmt(Py::Int(5), Percent, ".3x"), "005");
        assert_eq!(fmt(Py::Int(5), Percent, "#.3x"), "0x005");
        assert_eq!(fmt(Py::Int(-255), Percent, "#08x"), "-0x000ff");
        assert_eq!(fmt(Py::Float(-3.9), Percent, "d"), "-3");
        assert_eq!(fmt(Py::Bool(true), Percent, "x"), "1");
        assert_eq!(
            fmt(
                Py::BigInt("123456789012345678901234567890123456789012"),
                Percent,
                "x"
            ),
            "16ace90adff55eb3423799556e890a03a14"
        );
        assert_eq!(fmt(Py::Str("x"), Percent, "5c"), "    x");
        assert_eq!(fmt(Py::Str("ab"), Percent, "05s"), "   ab");
    }

    #[test]
    fn brace_numbers() {
        assert_eq!(fmt(Py::Float(1.0), Brace, ".0"), "1e+00");
        assert_eq!(fmt(Py::Float(100.0), Brace, ".3"), "1e+02");
        assert_eq!(fmt(Py::Float(1.0), Brace, ".3"), "1.0");
        assert_eq!(fmt(Py::Float(9.99), Brace, ".2"), "1e+01");
        assert_eq!(fmt(Py::Float(0.0), Brace, ""), "0.0");
        assert_eq!(fmt(Py::Float(-0.0), Brace, ".2f"), "-0.00");
        assert_eq!(fmt(Py::Float(f64::INFINITY), Brace, "%"), "inf%");
        assert_eq!(fmt(Py::Float(f64::NEG_INFINITY), Brace, "08"), "-0000inf");
        assert_eq!(fmt(Py::Int(12), Brace, "=+6"), "+   12");
        assert_eq!(fmt(Py::Int(-12), Brace, "06"), "-00012");
        assert_eq!(fmt(Py::Int(255), Brace, "#010x"), "0x000000ff");
        assert_eq!(fmt(Py::Int(5), Brace, "c"), "\u{5}");
        assert_eq!(fmt(Py::Bool(true), Brace, ">5"), "    1");
        assert_eq!(
            fmt(
                Py::BigInt("-123456789012345678901234567890123456789012"),
                Brace,
                "#o"
            ),
            "-0o2653164412677725365464106746252556422050035024"
        );
    }

    #[test]
    fn brace_text() {
        assert_eq!(fmt(Py::Str("ab"), Brace, "05"), "ab000");
        assert_eq!(fmt(Py::Str("a"), Brace, "^4"), " a  ");
        assert_eq!(fmt(Py::Str("日本語"), Brace, "*>5.2"), "***日本");
        assert_eq!(fmt(Py::None, Brace, ""), "None");
        // Python raises for a spec on None; the str() is padded instead.
        assert_eq!(fmt(Py::None, Brace, ">6"), "  None");
    }

    #[test]
    fn escaped_newlines_touch_only_what_the_record_supplied() {
        use crate::{Formatter, Level, PatternFormatter, Record};
        let f = PatternFormatter::builder("%(name)s|\n%(user)s|%(message)s")
            .allow_any_field()
            .escape_newlines(true)
            .build()
            .unwrap();
        let r = Record::builder(Level::INFO, "a\nb\r\nc")
            .logger("x\ny")
            .field("user", "u\rv")
            .exc("Traceback\n  line")
            .build();
        let mut out = b"kept\n".to_vec();
        f.format(&r, &mut out);
        // The template's own line break stays; the record's are escaped,
        // and so is the break Python puts before the traceback.
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "kept\nx\\ny|\nu\\rv|a\\nb\\r\\nc\\nTraceback\\n  line"
        );
        let mut clean = Vec::new();
        escape_newlines(&mut clean, 0);
        assert!(clean.is_empty());
    }
}
