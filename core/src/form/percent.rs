//! `msg % args` with Python's rules, for the message Python's
//! `LogRecord.getMessage` would have built: `%s %r %a %d %i %u %f %F %e %E
//! %g %G %x %X %o %c %%`, flags `-+ 0#`, width and precision, positional
//! arguments from a tuple or `%(name)s` from a dict.

use super::literal::Literal;
use crate::pyfmt::{write_float_repr, write_str_repr};

/// Why a message could not be formatted (Python raises `TypeError`,
/// `ValueError` or `KeyError` for the same message and arguments).
pub(crate) type FormatError = String;

/// The arguments of one message.
enum Args<'a> {
    Positional(&'a [Literal]),
    Mapping(&'a [(Literal, Literal)], &'a Literal),
}

/// Formats `msg % args` as Python does.
pub(crate) fn format(msg: &str, args: &Literal) -> Result<String, FormatError> {
    let one;
    let args = match args {
        Literal::Tuple(items) => Args::Positional(items),
        Literal::Dict(items) => Args::Mapping(items, args),
        other => {
            one = [other.clone()];
            Args::Positional(&one)
        }
    };
    let mut out = String::with_capacity(msg.len() + 16);
    let mut next = 0usize;
    let mut rest = msg;
    while let Some(pct) = rest.find('%') {
        out.push_str(&rest[..pct]);
        let spec = &rest[pct + 1..];
        let (arg_name, after_name) = match spec.strip_prefix('(') {
            Some(inner) => {
                let close = inner
                    .find(')')
                    .ok_or_else(|| "incomplete format key".to_owned())?;
                (Some(&inner[..close]), &inner[close + 1..])
            }
            None => (None, spec),
        };
        let mut chars = after_name.char_indices().peekable();
        let mut flags = Flags::default();
        while let Some(&(_, c)) = chars.peek() {
            match c {
                '-' => flags.left = true,
                '+' => flags.plus = true,
                ' ' => flags.space = true,
                '0' => flags.zero = true,
                '#' => flags.alt = true,
                _ => break,
            }
            chars.next();
        }
        let mut width = 0usize;
        while let Some(&(_, c @ '0'..='9')) = chars.peek() {
            width = width
                .saturating_mul(10)
                .saturating_add(c as usize - '0' as usize);
            chars.next();
        }
        let mut precision = None;
        if let Some(&(_, '.')) = chars.peek() {
            chars.next();
            let mut p = 0usize;
            while let Some(&(_, c @ '0'..='9')) = chars.peek() {
                p = p
                    .saturating_mul(10)
                    .saturating_add(c as usize - '0' as usize);
                chars.next();
            }
            precision = Some(p);
        }
        // Length modifiers are accepted and ignored, as by Python.
        while let Some(&(_, 'h' | 'l' | 'L')) = chars.peek() {
            chars.next();
        }
        let Some((at, conv)) = chars.next() else {
            return Err("incomplete format".to_owned());
        };
        let max = crate::pattern::spec::MAX_WIDTH;
        if width > max || precision.is_some_and(|p| p > max) {
            return Err("width or precision too large".to_owned());
        }
        rest = &after_name[at + conv.len_utf8()..];
        if conv == '%' && arg_name.is_none() {
            out.push('%');
            continue;
        }
        let value = match (arg_name, &args) {
            (Some(name), Args::Mapping(items, _)) => items
                .iter()
                .find(|(k, _)| matches!(k, Literal::Str(s) if s == name))
                .map(|(_, v)| v)
                .ok_or_else(|| format!("KeyError: {name:?}"))?,
            (Some(_), Args::Positional(_)) => {
                return Err("format requires a mapping".to_owned());
            }
            (None, Args::Mapping(_, whole)) => {
                // `'%s' % {'a': 1}`: the dict is the one argument.
                if next > 0 {
                    return Err("not enough arguments for format string".to_owned());
                }
                next += 1;
                whole
            }
            (None, Args::Positional(items)) => {
                let v = items
                    .get(next)
                    .ok_or_else(|| "not enough arguments for format string".to_owned())?;
                next += 1;
                v
            }
        };
        let body = convert(conv, value, &flags, precision)?;
        pad(&mut out, &body, width, &flags, is_numeric(conv));
    }
    out.push_str(rest);
    if let Args::Positional(items) = args
        && next < items.len()
    {
        return Err("not all arguments converted during string formatting".to_owned());
    }
    Ok(out)
}

#[derive(Default)]
struct Flags {
    left: bool,
    plus: bool,
    space: bool,
    zero: bool,
    alt: bool,
}

fn is_numeric(conv: char) -> bool {
    matches!(
        conv,
        'd' | 'i' | 'u' | 'f' | 'F' | 'e' | 'E' | 'g' | 'G' | 'x' | 'X' | 'o'
    )
}

fn pad(out: &mut String, body: &str, width: usize, flags: &Flags, numeric: bool) {
    let len = body.chars().count();
    if len >= width {
        out.push_str(body);
        return;
    }
    let fill = width - len;
    if flags.left {
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if flags.zero && numeric {
        // Zeros go after the sign and any 0x prefix; CPython pads `inf`
        // and `nan` with zeros too (`00000inf`), unlike C's printf.
        let sign_len = body
            .find(|c: char| !matches!(c, '-' | '+' | ' '))
            .unwrap_or(0);
        let (sign, digits) = body.split_at(sign_len);
        let (prefix, digits) = match digits.get(..2) {
            Some("0x" | "0X" | "0o") => digits.split_at(2),
            _ => ("", digits),
        };
        out.push_str(sign);
        out.push_str(prefix);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(body);
    }
}

/// Python's `str()` of a literal.
pub(crate) fn py_str(v: &Literal, out: &mut String) {
    match v {
        Literal::Str(s) => out.push_str(s),
        other => py_repr(other, out),
    }
}

/// Python's `repr()` of a literal.
pub(crate) fn py_repr(v: &Literal, out: &mut String) {
    let mut bytes = Vec::new();
    write_repr(v, &mut bytes);
    out.push_str(&String::from_utf8_lossy(&bytes));
}

fn write_repr(v: &Literal, out: &mut Vec<u8>) {
    match v {
        Literal::None => out.extend_from_slice(b"None"),
        Literal::Bool(true) => out.extend_from_slice(b"True"),
        Literal::Bool(false) => out.extend_from_slice(b"False"),
        Literal::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Literal::BigInt(d) => out.extend_from_slice(d.as_bytes()),
        Literal::Float(x) => write_float_repr(out, *x),
        Literal::Str(s) => write_str_repr(out, s, false),
        Literal::Tuple(items) => {
            out.push(b'(');
            write_items(items, out);
            if items.len() == 1 {
                out.push(b',');
            }
            out.push(b')');
        }
        Literal::List(items) => {
            out.push(b'[');
            write_items(items, out);
            out.push(b']');
        }
        Literal::Dict(items) => {
            out.push(b'{');
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_repr(k, out);
                out.extend_from_slice(b": ");
                write_repr(v, out);
            }
            out.push(b'}');
        }
    }
}

fn write_items(items: &[Literal], out: &mut Vec<u8>) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        write_repr(item, out);
    }
}

/// An integer argument for `%d`, `%x`, `%o`, `%c` (floats are truncated by
/// `%d` only, as in Python).
enum Int<'a> {
    Small(i128),
    Big(std::borrow::Cow<'a, str>),
}

fn integer<'a>(conv: char, v: &'a Literal) -> Result<Int<'a>, FormatError> {
    match v {
        Literal::Int(i) => Ok(Int::Small(i128::from(*i))),
        Literal::Bool(b) => Ok(Int::Small(i128::from(*b))),
        Literal::BigInt(d) => Ok(Int::Big(std::borrow::Cow::Borrowed(d))),
        Literal::Float(x) if matches!(conv, 'd' | 'i' | 'u') => {
            // i128 holds every float below 2^127 truncated; a cast would
            // saturate beyond it, where Python prints the float's value.
            if x.abs() < 2f64.powi(127) {
                Ok(Int::Small(x.trunc() as i128))
            } else if x.is_finite() {
                Ok(Int::Big(std::borrow::Cow::Owned(float_as_integer(*x))))
            } else {
                Err(format!("cannot convert float {x} to integer"))
            }
        }
        other => Err(format!(
            "%{conv} format: a real number is required, not {}",
            type_name(other)
        )),
    }
}

/// Python refuses to convert longer decimal integer text
/// (`sys.int_info.default_max_str_digits`), so no client's `repr` holds
/// one.
const MAX_INT_DIGITS: usize = 4300;

/// The decimal digits `decimal` (no sign) in base `radix` (8 or 16),
/// lowercase.
fn big_in_radix(decimal: &str, radix: u32) -> Result<String, FormatError> {
    if decimal.len() > MAX_INT_DIGITS {
        return Err(format!(
            "Exceeds the limit ({MAX_INT_DIGITS} digits) for integer string conversion"
        ));
    }
    // Base 10^9 limbs, most significant first, divided by `radix` until
    // nothing is left; the remainders are the digits, last first.
    let head = decimal.len() % 9;
    let mut limbs: Vec<u32> = std::iter::once(&decimal[..head])
        .filter(|s| !s.is_empty())
        .chain(
            decimal.as_bytes()[head..]
                .chunks(9)
                .map(|c| std::str::from_utf8(c).unwrap_or("0")),
        )
        .map(|s| s.parse().unwrap_or(0))
        .collect();
    let mut digits = Vec::new();
    while limbs.iter().any(|&l| l != 0) {
        let mut rest = 0u64;
        for limb in &mut limbs {
            let v = rest * 1_000_000_000 + u64::from(*limb);
            *limb = (v / u64::from(radix)) as u32;
            rest = v % u64::from(radix);
        }
        digits.push(char::from_digit(rest as u32, radix).unwrap_or('0'));
    }
    if digits.is_empty() {
        digits.push('0');
    }
    Ok(digits.iter().rev().collect())
}

/// The exact decimal value of a finite float of at least 2^53 in
/// magnitude (an integer), as Python's `int(x)` prints it.
fn float_as_integer(x: f64) -> String {
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i32 - 1075;
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    // Base 10^9 digits, least significant first: the mantissa, doubled
    // `exponent` times.
    let mut limbs = vec![
        (mantissa % 1_000_000_000) as u32,
        (mantissa / 1_000_000_000) as u32,
    ];
    for _ in 0..exponent.max(0) {
        let mut carry = 0u64;
        for limb in &mut limbs {
            let v = u64::from(*limb) * 2 + carry;
            *limb = (v % 1_000_000_000) as u32;
            carry = v / 1_000_000_000;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut out = String::from(if x < 0.0 { "-" } else { "" });
    let mut rest = limbs.iter().rev();
    if let Some(top) = rest.next() {
        out.push_str(&top.to_string());
    }
    for limb in rest {
        out.push_str(&format!("{limb:09}"));
    }
    out
}

fn float(conv: char, v: &Literal) -> Result<f64, FormatError> {
    match v {
        Literal::Float(x) => Ok(*x),
        Literal::Int(i) => Ok(*i as f64),
        Literal::Bool(b) => Ok(f64::from(u8::from(*b))),
        Literal::BigInt(d) => match d.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err("int too large to convert to float".to_owned()),
        },
        other => Err(format!(
            "%{conv} format: a real number is required, not {}",
            type_name(other)
        )),
    }
}

fn type_name(v: &Literal) -> &'static str {
    match v {
        Literal::None => "NoneType",
        Literal::Bool(_) => "bool",
        Literal::Int(_) | Literal::BigInt(_) => "int",
        Literal::Float(_) => "float",
        Literal::Str(_) => "str",
        Literal::Tuple(_) => "tuple",
        Literal::List(_) => "list",
        Literal::Dict(_) => "dict",
    }
}

fn sign(negative: bool, flags: &Flags) -> &'static str {
    match (negative, flags.plus, flags.space) {
        (true, _, _) => "-",
        (false, true, _) => "+",
        (false, false, true) => " ",
        _ => "",
    }
}

fn convert(
    conv: char,
    v: &Literal,
    flags: &Flags,
    precision: Option<usize>,
) -> Result<String, FormatError> {
    let mut s = String::new();
    match conv {
        's' | 'r' | 'a' => {
            if conv == 's' {
                py_str(v, &mut s);
            } else {
                py_repr(v, &mut s);
            }
            if let Some(p) = precision {
                s = s.chars().take(p).collect();
            }
        }
        'd' | 'i' | 'u' | 'x' | 'X' | 'o' => {
            let (negative, digits) = match integer(conv, v)? {
                Int::Small(i) => {
                    let m = i.unsigned_abs();
                    let d = match conv {
                        'x' => format!("{m:x}"),
                        'X' => format!("{m:X}"),
                        'o' => format!("{m:o}"),
                        _ => m.to_string(),
                    };
                    (i < 0, d)
                }
                Int::Big(d) => {
                    let magnitude = d.trim_start_matches('-');
                    let digits = match conv {
                        'x' => big_in_radix(magnitude, 16)?,
                        'X' => big_in_radix(magnitude, 16)?.to_uppercase(),
                        'o' => big_in_radix(magnitude, 8)?,
                        _ => magnitude.to_owned(),
                    };
                    (d.starts_with('-'), digits)
                }
            };
            let digits = match precision {
                Some(p) if digits.len() < p => "0".repeat(p - digits.len()) + &digits,
                _ => digits,
            };
            s.push_str(sign(negative, flags));
            if flags.alt {
                s.push_str(match conv {
                    'x' => "0x",
                    'X' => "0X",
                    'o' => "0o",
                    _ => "",
                });
            }
            s.push_str(&digits);
        }
        'f' | 'F' | 'e' | 'E' | 'g' | 'G' => {
            let x = float(conv, v)?;
            s.push_str(sign(x.is_sign_negative() && !x.is_nan(), flags));
            s.push_str(&float_body(
                conv,
                x.abs(),
                precision.unwrap_or(6),
                flags.alt,
            ));
        }
        'c' => match v {
            Literal::Str(c) if c.chars().count() == 1 => s.push_str(c),
            other => match integer(conv, other)? {
                Int::Small(i) => s.push(
                    u32::try_from(i)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| "%c arg not in range(0x110000)".to_owned())?,
                ),
                Int::Big(_) => return Err("%c arg not in range(0x110000)".to_owned()),
            },
        },
        other => {
            return Err(format!("unsupported format character {other:?}"));
        }
    }
    Ok(s)
}

/// C's `%f`, `%e`, `%g` of a non-negative number.
fn float_body(conv: char, x: f64, precision: usize, alt: bool) -> String {
    let upper = conv.is_ascii_uppercase();
    let text = if x.is_infinite() {
        "inf".to_owned()
    } else if x.is_nan() {
        "nan".to_owned()
    } else {
        match conv.to_ascii_lowercase() {
            'f' => {
                let mut s = format!("{x:.precision$}");
                if alt && precision == 0 {
                    s.push('.');
                }
                s
            }
            'e' => exp_form(x, precision, alt),
            _ => {
                let p = precision.max(1);
                let exp = exponent_after_rounding(x, p);
                let mut s = if exp >= -4 && exp < p as i32 {
                    let decimals = (p as i32 - 1 - exp).max(0) as usize;
                    let mut s = format!("{x:.decimals$}");
                    if alt && decimals == 0 {
                        s.push('.');
                    }
                    s
                } else {
                    exp_form(x, p - 1, alt)
                };
                if !alt {
                    s = strip_zeros(&s);
                }
                s
            }
        }
    };
    if upper { text.to_uppercase() } else { text }
}

/// C's `%e`: `alt` (the `#` flag) keeps the point when no digit follows
/// it (`1.e+00`).
fn exp_form(x: f64, precision: usize, alt: bool) -> String {
    let s = format!("{x:.precision$e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    let point = if alt && precision == 0 { "." } else { "" };
    format!("{mantissa}{point}e{sign}{:02}", exp.abs())
}

fn exponent_after_rounding(x: f64, significant: usize) -> i32 {
    if x == 0.0 {
        return 0;
    }
    let s = format!("{x:.*e}", significant - 1);
    s.split_once('e')
        .and_then(|(_, e)| e.parse().ok())
        .unwrap_or(0)
}

/// `%g` drops trailing zeros of the fraction, and the point with them.
fn strip_zeros(s: &str) -> String {
    let (mantissa, exp) = match s.find('e') {
        Some(i) => s.split_at(i),
        None => (s, ""),
    };
    let mantissa = if mantissa.contains('.') {
        mantissa.trim_end_matches('0').trim_end_matches('.')
    } else {
        mantissa
    };
    format!("{mantissa}{exp}")
}

#[cfg(test)]
mod tests {
    use super::super::literal::parse;
    use super::*;

    fn fmt(msg: &str, args: &str) -> Result<String, FormatError> {
        format(msg, &parse(args).unwrap())
    }

    #[test]
    fn python_results() {
        // Each expected value is what CPython prints for the same `%`.
        let cases = [
            ("hello %s", "('world',)", "hello world"),
            ("%r and %s", "('a', 'b')", "'a' and b"),
            ("%d%%", "(42.9,)", "42%"),
            ("%5d|%-5d|%05d", "(1, 2, -3)", "    1|2    |-0003"),
            ("%+d % d", "(3, 3)", "+3  3"),
            (
                "%x %X %#x %o %#o",
                "(255, 255, 255, 8, 8)",
                "ff FF 0xff 10 0o10",
            ),
            ("%f %.2f %.0f", "(1.5, 2.345, 2.5)", "1.500000 2.35 2"),
            ("%e %E", "(12345.678, 0.00012)", "1.234568e+04 1.200000E-04"),
            (
                "%g %g %g %g",
                "(0.0001, 123456789.0, 100000.0, 1.5)",
                "0.0001 1.23457e+08 100000 1.5",
            ),
            ("%s %s %s", "(None, True, [1, 'x'])", "None True [1, 'x']"),
            ("%s", "((1, 'a'),)", "(1, 'a')"),
            (
                "%(user)s logged in %(n)d times",
                "{'user': 'ann', 'n': 3}",
                "ann logged in 3 times",
            ),
            ("%s", "{'a': 1}", "{'a': 1}"),
            (
                "%.3s|%10.2f|%c%c",
                "('abcdef', 3.14159, 65, 'z')",
                "abc|      3.14|Az",
            ),
            (
                "%i",
                "(123456789012345678901234567890,)",
                "123456789012345678901234567890",
            ),
            ("%s", "(1e+16,)", "1e+16"),
            ("%s", "(inf,)", "inf"),
        ];
        for (msg, args, want) in cases {
            assert_eq!(fmt(msg, args).as_deref(), Ok(want), "{msg} % {args}");
        }
    }

    /// Every flag, width and precision with every numeric conversion, for
    /// numbers where C's rules differ (zero, a power of ten, rounding up to
    /// the next exponent, tiny, huge, negative, inf, nan), against what
    /// CPython prints for the same `%`.
    #[test]
    fn numbers_format_as_cpython_formats_them() {
        let mut specs = Vec::new();
        for flags in ["", "#", "-", "+", " ", "0", "#0", "-#", "+#"] {
            for width in ["", "8"] {
                for precision in ["", ".0", ".1", ".3"] {
                    for conv in ["d", "x", "X", "o", "f", "F", "e", "E", "g", "G"] {
                        specs.push(format!("%{flags}{width}{precision}{conv}"));
                    }
                }
            }
        }
        let big = "1".to_owned() + &"0".repeat(400);
        let values = [
            "0",
            "1",
            "-7",
            "255",
            "1.0",
            "0.0",
            "-2.5",
            "9.96",
            "99999.5",
            "100000.0",
            "0.0001",
            "0.00001234",
            "123.456",
            "5e10",
            "1e300",
            "-1e300",
            "-0.0",
            "inf",
            "nan",
            "0.5",
            "0.125",
            "2.5",
            "1.7014118346046923e+38",
            "123456789012345678901234567890",
            "-1606938044258990275541962092341162602522202993782792835301376",
            &big,
        ];
        let cases: Vec<(String, &str)> = specs
            .iter()
            .flat_map(|spec| values.iter().map(move |v| (spec.clone(), *v)))
            .collect();
        let script = r#"
import sys, json
for line in sys.stdin:
    spec, value = line.rstrip("\n").split("\t")
    try:
        print(json.dumps(spec % (float(value) if value in ("inf", "nan") else eval(value))))
    except Exception:
        print(json.dumps(None))
"#;
        let mut child = match std::process::Command::new("python3")
            .args(["-c", script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
        {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "python3 is not installed; this test compares with CPython's % \
                 (apt-get install python3)"
            ),
            Err(e) => panic!("running python3: {e}"),
        };
        let input: String = cases.iter().map(|(s, v)| format!("{s}\t{v}\n")).collect();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            std::io::Write::write_all(&mut stdin, input.as_bytes()).unwrap();
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        assert!(out.status.success(), "python3 failed");
        let answers: Vec<Option<String>> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(answers.len(), cases.len());
        let mut wrong = Vec::new();
        for ((spec, value), python) in cases.iter().zip(&answers) {
            // As Python's repr writes the tuple in an HTTPHandler's form.
            let args = format!("({value},)");
            let ours = parse(&args).ok().map(|a| format(spec, &a));
            let ours = ours.and_then(Result::ok);
            if &ours != python {
                wrong.push(format!(
                    "{spec} % {value}: python {python:?}, ours {ours:?}"
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {} differ:\n{}",
            wrong.len(),
            cases.len(),
            wrong[..wrong.len().min(30)].join("\n")
        );
    }

    #[test]
    fn what_python_refuses_is_an_error() {
        assert!(fmt("%s %s", "('one',)").is_err());
        assert!(fmt("%s", "('one', 'two')").is_err());
        assert!(fmt("%d", "('x',)").is_err());
        assert!(fmt("%(missing)s", "{'a': 1}").is_err());
        assert!(fmt("%", "('a',)").is_err());
        assert!(fmt("%y", "('a',)").is_err());
    }
}
