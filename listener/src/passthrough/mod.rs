//! Native JSON frames that are already exactly what the native JSON
//! formatter would write are written as they came, without decoding.
//!
//! Tributary's own producers send records through `JsonFormatter::native`,
//! so their frames are usually in the very form the listener would write:
//! keys in the native order, strings escaped the formatter's way, the
//! timestamp with six fraction digits and `Z`. For those frames, decoding
//! into a `Record` and formatting it again would only reproduce the input
//! (at about ten times the cost of checking it). [`check`] accepts a payload
//! only when it is in that form — every byte is checked, nothing is
//! assumed — and returns what routing needs (level number and logger).
//! Anything else (whitespace, another key order, an alias, a float, a
//! duplicate key, an unusual escape, invalid UTF-8) is declined and goes
//! through the decoder, which defines the behaviour; the tests check
//! `payload == format(decode(payload))` for every accepted payload.
//! Records in another key order, with whitespace or unknown keys, have
//! their own way around the decoder ([`reorder`]).

pub(crate) mod reorder;

use tributary_core::Timestamp;

/// What routing needs from an accepted payload.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Canonical<'a> {
    /// The record's level number.
    pub(crate) level_no: i32,
    /// The record's logger name (ASCII).
    pub(crate) logger: &'a [u8],
    /// Whether the record names its `host`.
    pub(crate) has_host: bool,
    /// Where `,"host":"…"` goes when the record names none: `host` is the
    /// first optional key, right after `msg`.
    pub(crate) host_at: usize,
}

/// The last second whose timestamp text was checked by a full parse and
/// re-render: records from one producer mostly share it, so the check of
/// the following ones is a comparison of 19 bytes.
#[derive(Debug, Default)]
pub(crate) struct TsCache {
    second: Option<[u8; 19]>,
}

/// Deepest nesting of `fields` values taken; deeper payloads are declined
/// (the decoder takes them, up to its own limit).
const MAX_DEPTH: u32 = 16;

/// Most keys per object taken (duplicate keys are looked for pairwise).
const MAX_KEYS: usize = 32;

/// How the value of each optional key is typed.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    U32,
    U64,
    Fields,
}

/// The index of `host` in [`OPTIONAL`].
const HOST: usize = 0;

/// The types of the optional keys of the native profile, in the
/// formatter's order (see [`Cursor::optional_key`]).
const OPTIONAL: [Kind; 13] = [
    Kind::Str,    // host
    Kind::U32,    // pid
    Kind::Str,    // process
    Kind::U64,    // tid
    Kind::Str,    // thread
    Kind::Str,    // file
    Kind::U32,    // line
    Kind::Str,    // func
    Kind::Str,    // module
    Kind::U64,    // seq
    Kind::Str,    // exc
    Kind::Str,    // stack
    Kind::Fields, // fields
];

/// `Some` when `payload` is exactly what `JsonFormatter::native()` writes
/// for the record `decode_json(payload)` returns.
pub(crate) fn check<'a>(payload: &'a [u8], ts: &mut TsCache) -> Option<Canonical<'a>> {
    // Outside strings only ASCII literals, digits and punctuation are
    // taken, and `string_body` validates UTF-8 inside strings: together,
    // the whole payload is valid UTF-8 when it is accepted.
    let mut c = Cursor { b: payload, pos: 0 };
    c.literal(b"{\"ts\":\"")?;
    check_ts(c.take(27)?, ts)?;
    c.literal(b"\",\"level\":\"")?;
    c.string_body()?;
    c.literal(b",\"levelno\":")?;
    let level_no = i32::try_from(c.integer()?).ok()?;
    c.literal(b",\"logger\":\"")?;
    // Routing needs the name itself: one with escapes (or not ASCII) takes
    // the long way.
    let start = c.pos;
    let end = special(payload, start);
    if end == start || payload.get(end) != Some(&b'"') {
        return None;
    }
    c.pos = end + 1;
    let logger = &payload[start..end];
    c.literal(b",\"msg\":\"")?;
    c.string_body()?;
    let host_at = c.pos;
    let mut next = 0;
    let mut has_host = false;
    while c.peek()? == b',' {
        c.literal(b",\"")?;
        let at = c.optional_key()?;
        if at < next {
            return None;
        }
        next = at + 1;
        has_host |= at == HOST;
        match OPTIONAL[at] {
            Kind::Str => {
                c.literal(b"\"")?;
                c.string_body()?;
            }
            Kind::U32 => {
                u32::try_from(c.unsigned()?).ok()?;
            }
            Kind::U64 => {
                c.unsigned()?;
            }
            Kind::Fields => {
                // An empty map is omitted by the formatter.
                if c.object(0)? == 0 {
                    return None;
                }
            }
        }
    }
    c.literal(b"}")?;
    (c.pos == payload.len()).then_some(Canonical {
        level_no,
        logger,
        has_host,
        host_at,
    })
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ` that parses and renders back to itself.
/// The cached second's comparison is inlined into each caller; the full
/// check, once a second, is not.
#[inline(always)]
fn check_ts(t: &[u8], cache: &mut TsCache) -> Option<()> {
    let fraction = t[19] == b'.' && t[20..26].iter().all(u8::is_ascii_digit) && t[26] == b'Z';
    if !fraction {
        return None;
    }
    if cache.second.as_ref().is_some_and(|s| s[..] == t[..19]) {
        return Some(());
    }
    check_new_second(t, cache)
}

/// [`check_ts`] for a second other than the cached one.
#[inline(never)]
fn check_new_second(t: &[u8], cache: &mut TsCache) -> Option<()> {
    let parsed = Timestamp::parse_rfc3339(std::str::from_utf8(t).ok()?)?;
    let mut back = Vec::with_capacity(27);
    parsed.write_rfc3339(&mut back);
    if back != t {
        return None;
    }
    // From 1970 on the instant is non-negative, so any other six digits
    // after the same second render back the same way too.
    if &t[..4] >= b"1970".as_slice() {
        let mut second = [0u8; 19];
        second.copy_from_slice(&t[..19]);
        cache.second = Some(second);
    }
    Some(())
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline]
    fn literal<const N: usize>(&mut self, lit: &[u8; N]) -> Option<()> {
        // A fixed-size comparison: a few word compares, no call.
        if self.b.get(self.pos..)?.first_chunk::<N>() == Some(lit) {
            self.pos += N;
            Some(())
        } else {
            None
        }
    }

    /// After `,"`: an optional key of the native profile and its `":`, as
    /// an index into [`OPTIONAL`].
    fn optional_key(&mut self) -> Option<usize> {
        match self.peek()? {
            b'h' => self.literal(b"host\":").map(|()| 0),
            b'p' => (self.literal(b"pid\":").map(|()| 1))
                .or_else(|| self.literal(b"process\":").map(|()| 2)),
            b't' => (self.literal(b"tid\":").map(|()| 3))
                .or_else(|| self.literal(b"thread\":").map(|()| 4)),
            b'f' => (self.literal(b"file\":").map(|()| 5))
                .or_else(|| self.literal(b"func\":").map(|()| 7))
                .or_else(|| self.literal(b"fields\":").map(|()| 12)),
            b'l' => self.literal(b"line\":").map(|()| 6),
            b'm' => self.literal(b"module\":").map(|()| 8),
            b's' => (self.literal(b"seq\":").map(|()| 9))
                .or_else(|| self.literal(b"stack\":").map(|()| 11)),
            b'e' => self.literal(b"exc\":").map(|()| 10),
            _ => None,
        }
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(s)
    }

    /// After an opening quote: a string body as `write_str` escapes it, and
    /// the closing quote. Returns the position after the closing quote.
    fn string_body(&mut self) -> Option<usize> {
        loop {
            self.pos = special(self.b, self.pos);
            match *self.b.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    return Some(self.pos);
                }
                b'\\' => {
                    let esc = *self.b.get(self.pos + 1)?;
                    match esc {
                        b'"' | b'\\' | b'b' | b't' | b'n' | b'f' | b'r' => self.pos += 2,
                        b'u' => {
                            let hex = self.b.get(self.pos + 2..self.pos + 6)?;
                            let (hi, lo) = (hex_digit(hex[2])?, hex_digit(hex[3])?);
                            let byte = hi << 4 | lo;
                            // Only what the formatter writes as \u00XX.
                            let short = matches!(byte, 0x08 | 0x09 | 0x0a | 0x0c | 0x0d);
                            if &hex[..2] != b"00" || !(byte < 0x20 || byte == 0x7f) || short {
                                return None;
                            }
                            self.pos += 6;
                        }
                        _ => return None,
                    }
                }
                lead @ 0x80.. => {
                    let width = match lead {
                        0xc2..=0xdf => 2,
                        0xe0..=0xef => 3,
                        0xf0..=0xf4 => 4,
                        _ => return None,
                    };
                    let seq = self.b.get(self.pos..self.pos + width)?;
                    std::str::from_utf8(seq).ok()?;
                    self.pos += width;
                }
                // A raw control character or DEL: the formatter escapes them.
                _ => return None,
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)`, not `-0`, with no fraction or exponent; any
    /// length (the decoder keeps big integers' digits as they are).
    fn digits(&mut self) -> Option<(bool, usize, usize)> {
        let negative = self.peek()? == b'-';
        if negative {
            self.pos += 1;
        }
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        let end = self.pos;
        let n = end - start;
        if n == 0 || (n > 1 && self.b[start] == b'0') || (negative && self.b[start] == b'0') {
            return None;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some((negative, start, end))
    }

    /// A canonical integer that fits in an `i64`.
    fn integer(&mut self) -> Option<i64> {
        let negative = self.peek()? == b'-';
        if negative {
            self.pos += 1;
        }
        let magnitude = self.unsigned()?;
        if !negative {
            return i64::try_from(magnitude).ok();
        }
        match magnitude {
            0 => None, // `-0` is written `0`
            m => 0i64.checked_sub_unsigned(m),
        }
    }

    /// A canonical non-negative integer that fits in a `u64`, in one pass.
    fn unsigned(&mut self) -> Option<u64> {
        let start = self.pos;
        let mut n = 0u64;
        while let Some(&d) = self.b.get(self.pos) {
            if !d.is_ascii_digit() {
                break;
            }
            n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            self.pos += 1;
        }
        let len = self.pos - start;
        let leading_zero = len > 1 && self.b[start] == b'0';
        if len == 0 || leading_zero || matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(n)
    }

    /// An object at the cursor with canonical keys and values and no
    /// duplicate key; returns its number of keys.
    fn object(&mut self, depth: u32) -> Option<usize> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.literal(b"{")?;
        let mut keys: [&[u8]; MAX_KEYS] = [&[]; MAX_KEYS];
        let mut n = 0;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(0);
        }
        loop {
            if n == MAX_KEYS {
                return None;
            }
            self.literal(b"\"")?;
            let start = self.pos;
            let end = self.string_body()? - 1;
            // Escaping is one-to-one, so equal keys have equal bytes.
            let key = &self.b[start..end];
            if keys[..n].contains(&key) {
                return None;
            }
            keys[n] = key;
            n += 1;
            self.literal(b":")?;
            self.value(depth + 1)?;
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(n);
                }
                _ => return None,
            }
        }
    }

    fn value(&mut self, depth: u32) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.string_body().map(drop)
            }
            b'{' => self.object(depth).map(drop),
            b'[' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.pos += 1;
                if self.peek()? == b']' {
                    self.pos += 1;
                    return Some(());
                }
                loop {
                    self.value(depth + 1)?;
                    match self.peek()? {
                        b',' => self.pos += 1,
                        b']' => {
                            self.pos += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.digits().map(drop),
            _ => None,
        }
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// Each byte of a word: eight bytes tested at once.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each zero byte of `v`. Borrows only flag bytes after
/// the first real zero, never before it, so the lowest flag is exact.
#[inline(always)]
const fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGH
}

/// The high bit of each byte of the little-endian word `x` that a string
/// the formatter writes as it is cannot hold: a quote, a backslash, a
/// control character, DEL or not ASCII (the lowest flag is exact).
#[inline(always)]
const fn special_bytes(x: u64) -> u64 {
    (x.wrapping_sub(ONES * 0x20) & !x & HIGH)
        | (x & HIGH)
        | zero_bytes(x ^ (ONES * b'"' as u64))
        | zero_bytes(x ^ (ONES * b'\\' as u64))
        | zero_bytes(x ^ (ONES * 0x7f))
}

/// The index of the first byte at or after `from` that is a quote, a
/// backslash, a control character, DEL or not ASCII (or the length): eight
/// bytes at a time, since most of a record is plain ASCII text.
#[inline]
fn special(b: &[u8], mut from: usize) -> usize {
    while let Some(chunk) = b.get(from..from + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let hits = special_bytes(u64::from_le_bytes(word));
        if hits != 0 {
            // Borrows only flag bytes after the first real hit, never
            // before it, so the lowest flag is a safe place to stop.
            return from + (hits.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    while from < b.len() && !matches!(b[from], 0..=0x1f | b'"' | b'\\' | 0x7f..) {
        from += 1;
    }
    from
}

#[cfg(test)]
mod tests;
