//! A small, strict JSON reader for the decode hot path.
//!
//! serde_json spent most of a record's decode time validating UTF-8 string
//! by string and going through the `Deserializer` machinery (measured with
//! callgrind: ~17k instructions per 340-byte record). This reader validates
//! UTF-8 once per payload, borrows unescaped strings, keeps integers beyond
//! 64 bits exact, and bounds nesting depth.

use crate::{Fields, Value};
use compact_str::CompactString;
use std::borrow::Cow;

/// Nesting deeper than this is refused, so hostile input cannot exhaust the stack.
pub(crate) const MAX_DEPTH: u32 = 128;

/// Where and why a payload is not valid JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    pub offset: usize,
    pub reason: &'static str,
}

type Result<T> = std::result::Result<T, SyntaxError>;

pub(crate) struct Reader<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Reader<'a> {
        Reader {
            text,
            pos: 0,
            depth: 0,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn fail<T>(&self, reason: &'static str) -> Result<T> {
        Err(SyntaxError {
            offset: self.pos,
            reason,
        })
    }

    #[inline]
    pub(crate) fn skip_ws(&mut self) {
        let b = self.bytes();
        // Compact JSON (what producers send) has no whitespace: one test.
        if b.get(self.pos).is_some_and(|&c| c > b' ') {
            return;
        }
        while self.pos < b.len() && matches!(b[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    /// The next non-whitespace byte, not consumed.
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.bytes().get(self.pos).copied()
    }

    fn expect(&mut self, c: u8, reason: &'static str) -> Result<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail(reason)
        }
    }

    /// Call after the last value: only whitespace may follow.
    pub(crate) fn end(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.fail("trailing characters after the JSON value"),
        }
    }

    /// Opens an object: consumes `{`.
    pub(crate) fn begin_object(&mut self) -> Result<()> {
        self.expect(b'{', "expected a JSON object")
    }

    /// The next key of an object, or `None` at its closing `}`.
    /// `first` tells whether a comma is expected before it.
    pub(crate) fn next_key(&mut self, first: bool) -> Result<Option<Cow<'a, str>>> {
        // Compact JSON has `,"` before every key but the first: take that
        // without the general path's whitespace skips and re-checks.
        let b = self.bytes();
        if !first && b.get(self.pos..self.pos + 2) == Some(b",\"") {
            self.pos += 1;
            let key = self.string()?;
            if b.get(self.pos) == Some(&b':') {
                self.pos += 1;
            } else {
                self.expect(b':', "expected `:` after key")?;
            }
            return Ok(Some(key));
        }
        match self.peek() {
            Some(b'}') => {
                self.pos += 1;
                return Ok(None);
            }
            Some(b',') if !first => self.pos += 1,
            _ if first => {}
            _ => return self.fail("expected `,` or `}` in object"),
        }
        if self.peek() != Some(b'"') {
            return self.fail("expected a string key");
        }
        let key = self.string()?;
        self.expect(b':', "expected `:` after key")?;
        Ok(Some(key))
    }

    /// The compact-JSON fast path for a short key: when the cursor is on
    /// `"` (`first`) or `,"`, and a key of one to seven bytes is closed by
    /// `":`, returns the key's bytes as a little-endian word (zero above the
    /// key) and the position after the `:`. Consumes nothing: the caller
    /// moves there with [`Reader::skip_to`] if it knows the word, and reads
    /// the key with [`Reader::next_key`] otherwise.
    ///
    /// Every native key is this short, so recognising the word is one
    /// comparison per candidate instead of a string scan, a `Cow` and a
    /// string match (callgrind: about a third of the per-key cost).
    #[inline(always)]
    pub(crate) fn short_key(&self, first: bool) -> Option<(u64, usize)> {
        let b = self.bytes();
        let quote = self.pos + usize::from(!first);
        if (!first && b.get(self.pos) != Some(&b',')) || b.get(quote) != Some(&b'"') {
            return None;
        }
        let chunk = b.get(quote + 1..quote + 9)?;
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let quotes = zero_bytes(word ^ (ONES * u64::from(b'"')));
        // The closing quote within the eight bytes, after at least one byte.
        let len = (quotes.trailing_zeros() / 8) as usize;
        if len == 0 || len >= 8 || b.get(quote + len + 2) != Some(&b':') {
            return None;
        }
        // A backslash in the key leaves it unknown to the caller (no known
        // key has one), which then reads it in full; a NUL byte would make
        // `"ts\0"` look like `"ts"`, so such a key is not taken here.
        let mask = (1u64 << (8 * len)) - 1;
        if zero_bytes(word) & mask != 0 {
            return None;
        }
        Some((word & mask, quote + len + 3))
    }

    /// The sixteen bytes at the cursor as a little-endian word, if there
    /// are sixteen: lets a caller test for an expected `,"key":` in one
    /// comparison.
    #[inline(always)]
    pub(crate) fn window(&self) -> Option<u128> {
        let chunk = self.bytes().get(self.pos..self.pos + 16)?;
        let mut word = [0u8; 16];
        word.copy_from_slice(chunk);
        Some(u128::from_le_bytes(word))
    }

    /// The cursor, for offsets relative to [`Reader::window`] and for
    /// coming back with [`Reader::skip_to`].
    #[inline(always)]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Moves the cursor to `pos`, as returned by [`Reader::short_key`] or
    /// [`Reader::pos`].
    #[inline(always)]
    pub(crate) fn skip_to(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// Any value.
    pub(crate) fn value(&mut self) -> Result<Value> {
        match self.peek() {
            Some(b'"') => Ok(Value::Str(compact(self.string()?))),
            Some(b'{') => {
                let mut fields = Fields::new();
                self.object_into(&mut fields)?;
                Ok(Value::Map(fields))
            }
            Some(b'[') => {
                self.nest()?;
                self.pos += 1;
                let mut items = Vec::new();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                } else {
                    loop {
                        items.push(self.value()?);
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(b']') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return self.fail("expected `,` or `]` in array"),
                        }
                    }
                }
                self.depth -= 1;
                Ok(Value::List(items))
            }
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.fail("expected a JSON value"),
            None => self.fail("unexpected end of input"),
        }
    }

    /// An object at the cursor (on its `{`), its members added to `fields`:
    /// lets a caller collect into a map it already has.
    pub(crate) fn object_into(&mut self, fields: &mut Fields) -> Result<()> {
        self.nest()?;
        self.pos += 1;
        let mut first = true;
        while let Some(k) = self.next_key(first)? {
            first = false;
            let v = self.value()?;
            fields.insert_key(compact(k), v);
        }
        self.depth -= 1;
        Ok(())
    }

    /// A plain non-negative integer below 10^18 at the cursor (the shape of
    /// pid, line, tid and seq), consumed; `None`, consuming nothing, for
    /// anything else, which [`Reader::value`] then reads in full.
    pub(crate) fn small_uint(&mut self) -> Option<u64> {
        self.skip_ws();
        let b = self.bytes();
        let start = self.pos;
        let mut n = 0u64;
        let mut digits = 0;
        // One subtraction and one compare per digit (callgrind: -90
        // instructions per typical record over the bounds-checked loop;
        // eight digits at a time by multiplication measured no better).
        for &c in b[start..].iter().take(18) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            n = n * 10 + u64::from(d);
            digits += 1;
        }
        let i = start + digits;
        let leading_zero = digits > 1 && b[start] == b'0';
        let more = b
            .get(i)
            .is_some_and(|c| matches!(c, b'0'..=b'9' | b'.' | b'e' | b'E'));
        if digits == 0 || leading_zero || more {
            return None;
        }
        self.pos = i;
        Some(n)
    }

    fn nest(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail("nesting deeper than 128 levels");
        }
        Ok(())
    }

    fn literal(&mut self, word: &'static str, v: Value) -> Result<Value> {
        if self.bytes()[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(v)
        } else {
            self.fail("invalid literal")
        }
    }

    fn number(&mut self) -> Result<Value> {
        let b = self.bytes();
        let start = self.pos;
        let mut i = start;
        if b[i] == b'-' {
            i += 1;
        }
        let int_start = i;
        // Accumulated while scanning, so the common short integer needs no
        // second pass; 18 digits cannot overflow a u64.
        let mut magnitude = 0u64;
        while i < b.len() && b[i].is_ascii_digit() {
            magnitude = magnitude
                .wrapping_mul(10)
                .wrapping_add(u64::from(b[i] - b'0'));
            i += 1;
        }
        let int_digits = i - int_start;
        if int_digits == 0 || (int_digits > 1 && b[int_start] == b'0') {
            return self.fail("invalid number");
        }
        let mut is_float = false;
        // A short decimal's digits as one integer, for the exact fast path.
        let mut mantissa = magnitude;
        let mut frac_digits = 0;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let f = i;
            while i < b.len() && b[i].is_ascii_digit() {
                mantissa = mantissa
                    .wrapping_mul(10)
                    .wrapping_add(u64::from(b[i] - b'0'));
                i += 1;
            }
            frac_digits = i - f;
            if i == f {
                self.pos = i;
                return self.fail("invalid number: no digits after `.`");
            }
            is_float = true;
        }
        let mut exponent = false;
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            exponent = true;
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            let e = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == e {
                self.pos = i;
                return self.fail("invalid number: no digits in exponent");
            }
            is_float = true;
        }
        self.pos = i;
        let text = &self.text[start..i];
        if is_float {
            // Clinger's fast path: at most 15 digits make an integer below
            // 2^53 and 10^15 is exact, so one division rounds correctly
            // (the general parser cost ~150 instructions for `12.5`).
            if !exponent && int_digits + frac_digits <= 15 {
                let x = mantissa as f64 / POW10[frac_digits];
                return Ok(Value::Float(if b[start] == b'-' { -x } else { x }));
            }
            return match text.parse::<f64>() {
                Ok(x) => Ok(Value::Float(x)),
                Err(_) => self.fail("invalid number"),
            };
        }
        if int_digits <= 18 {
            // Below 10^18, so the cast is exact and negation cannot overflow.
            let n = magnitude as i64;
            return Ok(Value::Int(if b[start] == b'-' { -n } else { n }));
        }
        // Integers stay exact at any size; `big_int` only fails on non-digits.
        match text.parse::<i64>() {
            Ok(n) => Ok(Value::Int(n)),
            Err(_) => Value::big_int(text).map_or_else(|| self.fail("invalid number"), Ok),
        }
    }

    /// A string at the cursor (which is on its opening quote): borrowed when
    /// it has no escapes. Forced inline: a record has ~16 strings and the
    /// call itself cost more than the scan (callgrind: -5% per record).
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>> {
        let b = self.bytes();
        self.pos += 1;
        let start = self.pos;
        let Some(at) = quote_or_backslash(&b[start..]) else {
            return self.fail("unterminated string");
        };
        if b[start + at] == b'"' {
            self.pos = start + at + 1;
            return Ok(Cow::Borrowed(&self.text[start..start + at]));
        }
        self.escaped_string(start, start + at)
    }

    /// The rest of [`Reader::string`] once a backslash turned up at `at`:
    /// kept apart so the common escape-free case stays small enough to inline.
    #[cold]
    fn escaped_string(&mut self, start: usize, at: usize) -> Result<Cow<'a, str>> {
        let b = self.bytes();
        let mut out = String::with_capacity(at - start + 16);
        out.push_str(&self.text[start..at]);
        self.pos = at;
        loop {
            // The cursor is on a backslash.
            let esc = *b.get(self.pos + 1).ok_or(SyntaxError {
                offset: self.pos,
                reason: "unterminated string",
            })?;
            self.pos += 2;
            match esc {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let c = self.unicode_escape()?;
                    out.push(c);
                }
                _ => {
                    self.pos -= 1;
                    return self.fail("invalid escape in string");
                }
            }
            let from = self.pos;
            let Some(at) = memchr::memchr2(b'"', b'\\', &b[from..]) else {
                return self.fail("unterminated string");
            };
            out.push_str(&self.text[from..from + at]);
            self.pos = from + at;
            if b[self.pos] == b'"' {
                self.pos += 1;
                return Ok(Cow::Owned(out));
            }
        }
    }

    fn hex4(&mut self) -> Result<u32> {
        let Some(h) = self.bytes().get(self.pos..self.pos + 4) else {
            return self.fail("truncated \\u escape");
        };
        let mut v = 0u32;
        for &c in h {
            let d = (c as char).to_digit(16).ok_or(SyntaxError {
                offset: self.pos,
                reason: "invalid \\u escape",
            })?;
            v = v * 16 + d;
        }
        self.pos += 4;
        Ok(v)
    }

    /// After `\u`: one code point. A lone surrogate becomes U+FFFD rather
    /// than failing the record (browsers and Python emit them).
    fn unicode_escape(&mut self) -> Result<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) && self.bytes()[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                return Ok(char::from_u32(c).unwrap_or('\u{fffd}'));
            }
            self.pos = save;
        }
        Ok(char::from_u32(hi).unwrap_or('\u{fffd}'))
    }
}

/// A read string as a [`CompactString`]: `CompactString::new` for borrowed
/// text is the crate's inlined fast path, where `From<Cow>` is a call
/// (callgrind: ~20 instructions per string); escaped text keeps its buffer.
#[inline(always)]
pub(crate) fn compact(text: Cow<'_, str>) -> CompactString {
    match text {
        Cow::Borrowed(s) => CompactString::new(s),
        Cow::Owned(s) => CompactString::from(s),
    }
}

/// 10^0 … 10^15, each exact in an f64.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each zero byte of `v` set. Borrow propagation can also
/// flag bytes above a real zero byte, never below, so the lowest flag is
/// exact.
#[inline(always)]
const fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGH
}

/// The index of the first `"` or `\\` in `b`. Log strings are short, where
/// memchr's vector setup cost more than it saved (callgrind), so this tests
/// eight bytes at a time and leaves long strings to memchr.
/// Forced inline for the same reason as [`Reader::string`], its only caller.
#[inline(always)]
fn quote_or_backslash(b: &[u8]) -> Option<usize> {
    let zero = zero_bytes;
    let mut at = 0;
    while let Some(chunk) = b.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let hits = zero(x ^ (ONES * u64::from(b'"'))) | zero(x ^ (ONES * u64::from(b'\\')));
        if hits != 0 {
            // Borrow propagation only flags bytes after a real hit, so the
            // lowest flag is the first match.
            return Some(at + (hits.trailing_zeros() / 8) as usize);
        }
        at += 8;
        if at >= 64 {
            return memchr::memchr2(b'"', b'\\', &b[at..]).map(|i| at + i);
        }
    }
    b[at..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\')
        .map(|i| at + i)
}

/// Parses a whole payload as one JSON value (control frames, tests).
pub(crate) fn parse_value(text: &str) -> Result<Value> {
    let mut r = Reader::new(text);
    let v = r.value()?;
    r.end()?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn to_value(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Value::Int(i),
                (None, Some(u), _) => Value::from(u),
                (_, _, Some(f)) => Value::Float(f),
                _ => Value::Null,
            },
            serde_json::Value::String(s) => Value::Str(s.into()),
            serde_json::Value::Array(a) => Value::List(a.iter().map(to_value).collect()),
            serde_json::Value::Object(o) => {
                Value::Map(o.iter().map(|(k, v)| (k.clone(), to_value(v))).collect())
            }
        }
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(|i| serde_json::json!(i)),
            any::<u64>().prop_map(|i| serde_json::json!(i)),
            (-1e300f64..1e300).prop_map(|f| serde_json::json!(f)),
            "(?s).{0,20}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                prop::collection::vec(("[a-z\"\\\\]{0,6}", inner), 0..6)
                    .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn agrees_with_serde_json(j in arb_json(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&j).unwrap() } else { j.to_string() };
            prop_assert_eq!(parse_value(&text).unwrap(), to_value(&j));
        }

        #[test]
        fn small_uint_reads_plain_digits_or_nothing(
            digits in "[0-9]{0,20}",
            tail in prop_oneof![Just(""), Just(","), Just("}"), Just(".5"), Just("e3"), Just("x")],
            pad in "([,}][0-9,}]{0,8})?",
        ) {
            let text = format!("{digits}{tail}{pad}");
            let mut r = Reader::new(&text);
            let leading_zero = digits.len() > 1 && digits.starts_with('0');
            let fraction_or_exponent = matches!(tail, ".5" | "e3");
            let plain = (1..=18).contains(&digits.len()) && !leading_zero && !fraction_or_exponent;
            let expected = plain.then(|| digits.parse::<u64>().unwrap());
            prop_assert_eq!(r.small_uint(), expected);
            let consumed = if plain { digits.len() } else { 0 };
            prop_assert_eq!(r.pos(), consumed);
        }

        #[test]
        fn short_decimals_parse_exactly(digits in "-?(0|[1-9][0-9]{0,8})\\.[0-9]{1,9}") {
            // The fast path must round exactly as the standard parser does.
            prop_assert_eq!(
                parse_value(&digits).unwrap(),
                Value::Float(digits.parse::<f64>().unwrap()),
                "{}", digits
            );
        }

        #[test]
        fn never_panics_and_agrees_on_validity(s in "(?s)[\\[\\]{}\",:0-9.eE+\\-tfnrul\\\\ ]{0,40}") {
            let ours = parse_value(&s).is_ok();
            let theirs = serde_json::from_str::<serde_json::Value>(&s).is_ok();
            prop_assert_eq!(ours, theirs, "{:?}", s);
        }
    }

    #[test]
    fn big_integers_stay_exact() {
        assert_eq!(
            parse_value("123456789012345678901234567890").unwrap(),
            Value::BigInt("123456789012345678901234567890".into())
        );
        assert_eq!(
            parse_value("-9223372036854775808").unwrap(),
            Value::Int(i64::MIN)
        );
    }

    #[test]
    fn escapes_and_surrogates() {
        assert_eq!(
            parse_value(r#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00""#).unwrap(),
            Value::from("a\"\\/\u{8}\u{c}\n\r\té😀")
        );
        assert_eq!(
            parse_value(r#""\ud800x""#).unwrap(),
            Value::from("\u{fffd}x")
        );
    }

    #[test]
    fn depth_is_bounded() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert_eq!(
            parse_value(&deep).unwrap_err().reason,
            "nesting deeper than 128 levels"
        );
        let ok = "[".repeat(100) + &"]".repeat(100);
        assert!(parse_value(&ok).is_ok());
    }
}
