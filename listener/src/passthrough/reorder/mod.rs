//! Native JSON records in another producer's key order, written as the
//! native line by moving their values' bytes into the native order,
//! without decoding.
//!
//! Most producers are not Tributary's: a Go struct's `encoding/json`
//! writes its fields in struct order, Python's and Node's `json` in
//! insertion order (Python's with a space after `:` and `,`),
//! `serde_json::json!` alphabetically, and many add keys of their own.
//! [`check`](super::check) declines all of them, and decoding such a
//! record into a `Record` and formatting it again costs about ten times
//! what copying it does. [`parse`] reads the object once in any key order,
//! checks each value the way `check` checks the canonical form (strings
//! escaped the formatter's way and valid UTF-8, integers plain, the
//! timestamp canonical or parsed and rendered as the formatter renders it,
//! no duplicate key, bounded depth and key count) and keeps where each
//! value lies; [`Foreign::write`] then writes the native line: the
//! standard keys in the formatter's order, and `fields` with the record's
//! own members first and unknown top-level keys after them in the order
//! they came, as the decoder puts them. Whitespace between tokens is
//! dropped and floats are written the formatter's way.
//!
//! Anything unusual (an alias such as `message`, a key with an escape, a
//! value of another type than its key's, a duplicate, an unknown key that
//! is also a member of `fields`, a missing timestamp, an escaped or empty
//! logger, an escape the formatter would write differently, invalid
//! UTF-8) is declined and goes through the decoder, which keeps defining
//! the behaviour; the tests check `write(parse(payload)) ==
//! format(decode(payload))` for every accepted payload.

use super::{Cursor, HOST, Kind, MAX_DEPTH, MAX_KEYS, OPTIONAL, TsCache, check_ts, special};
use std::ops::Range;
use tributary_core::json::{write_str, write_value};
use tributary_core::{Level, Timestamp, Value};

/// What a connection keeps between payloads for [`parse`]: where the
/// members of `fields` and the unknown keys are written compact, in the
/// order the native line takes them.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// The members of the record's `fields` object, comma-separated.
    fields: Vec<u8>,
    /// The unknown top-level members, comma-separated.
    extra: Vec<u8>,
    /// A non-canonical timestamp rendered the formatter's way.
    ts: Vec<u8>,
}

/// A scratch buffer that grew past this for one large record is given
/// back, so a connection does not pin a frame's worth of memory.
const KEEP_SCRATCH_BYTES: usize = 4096;

impl Scratch {
    fn reset(&mut self) {
        for buf in [&mut self.fields, &mut self.extra] {
            if buf.capacity() > KEEP_SCRATCH_BYTES {
                *buf = Vec::new();
            } else {
                buf.clear();
            }
        }
    }
}

/// `,"key":` of each optional key of the native profile but `fields`, in
/// the formatter's order ([`OPTIONAL`]'s).
const OPTIONAL_KEYS: [&[u8]; 12] = [
    b",\"host\":",
    b",\"pid\":",
    b",\"process\":",
    b",\"tid\":",
    b",\"thread\":",
    b",\"file\":",
    b",\"line\":",
    b",\"func\":",
    b",\"module\":",
    b",\"seq\":",
    b",\"exc\":",
    b",\"stack\":",
];

/// What a top-level key is to the decoder.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Ts,
    Level,
    LevelNo,
    Logger,
    Msg,
    /// An index into [`OPTIONAL`] (`fields` included).
    Optional(usize),
    /// Not a key of the record: it becomes a field.
    Unknown,
    /// An alias the decoder reads (`message`, `time`, …): declined, since
    /// which of an alias and its native key wins is the decoder's business.
    Alias,
}

impl Slot {
    /// A bit per slot, for duplicates.
    fn bit(self) -> u32 {
        match self {
            Slot::Ts => 1,
            Slot::Level => 1 << 1,
            Slot::LevelNo => 1 << 2,
            Slot::Logger => 1 << 3,
            Slot::Msg => 1 << 4,
            Slot::Optional(at) => 1 << (5 + at),
            Slot::Unknown | Slot::Alias => 0,
        }
    }
}

/// The decoder's reading of a key without escapes (see its `classify`).
fn classify(key: &[u8]) -> Slot {
    match key {
        b"ts" => Slot::Ts,
        b"level" => Slot::Level,
        b"levelno" => Slot::LevelNo,
        b"logger" => Slot::Logger,
        b"msg" => Slot::Msg,
        b"host" => Slot::Optional(0),
        b"pid" => Slot::Optional(1),
        b"process" => Slot::Optional(2),
        b"tid" => Slot::Optional(3),
        b"thread" => Slot::Optional(4),
        b"file" => Slot::Optional(5),
        b"line" => Slot::Optional(6),
        b"func" => Slot::Optional(7),
        b"module" => Slot::Optional(8),
        b"seq" => Slot::Optional(9),
        b"exc" => Slot::Optional(10),
        b"stack" => Slot::Optional(11),
        b"fields" => Slot::Optional(12),
        b"timestamp" | b"time" | b"@timestamp" | b"levelname" | b"severity" | b"name"
        | b"target" | b"message" => Slot::Alias,
        _ => Slot::Unknown,
    }
}

/// How the level's name is written.
#[derive(Debug)]
enum LevelName {
    /// The payload's `level` string as it came (quotes included).
    Raw(Range<usize>),
    /// A standard name the decoder resolves a lone name or number to.
    Resolved(Level),
}

/// A payload [`parse`] accepted: what routing needs, and where its parts
/// are for [`Foreign::write`].
#[derive(Debug)]
pub(crate) struct Foreign<'a> {
    payload: &'a [u8],
    /// The record's level number.
    pub(crate) level_no: i32,
    /// The record's logger name (ASCII; `root` when the payload names
    /// none).
    pub(crate) logger: &'a [u8],
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
    ts: &'a [u8],
    level: LevelName,
    /// `levelno`'s digits as they came, when the payload has them.
    level_no_raw: Option<Range<usize>>,
    /// `msg`'s string (quotes included), when the payload has one.
    msg: Option<Range<usize>>,
    /// Each optional key's value as it came, by index into [`OPTIONAL`].
    optional: [Option<Range<usize>>; 12],
    fields: &'a [u8],
    extra: &'a [u8],
}

/// Keys of one object (quotes included), looked through pairwise.
struct Keys<'a> {
    keys: [&'a [u8]; MAX_KEYS],
    n: usize,
}

impl<'a> Keys<'a> {
    fn new() -> Keys<'a> {
        Keys {
            keys: [&[]; MAX_KEYS],
            n: 0,
        }
    }

    fn contains(&self, key: &[u8]) -> bool {
        self.keys[..self.n].contains(&key)
    }

    /// Adds `key`; `None` when it is there already or there are too many.
    /// Escaping is one-to-one in the canonical form, so equal keys have
    /// equal bytes.
    fn insert(&mut self, key: &'a [u8]) -> Option<()> {
        if self.n == MAX_KEYS || self.contains(key) {
            return None;
        }
        self.keys[self.n] = key;
        self.n += 1;
        Some(())
    }
}

/// `Some` when `payload` is a JSON object the decoder reads as a record
/// that [`Foreign::write`] writes exactly as `JsonFormatter::native()`
/// would; `None` for anything else, which the decoder then handles.
pub(crate) fn parse<'a>(
    payload: &'a [u8],
    cache: &mut TsCache,
    scratch: &'a mut Scratch,
) -> Option<Foreign<'a>> {
    scratch.reset();
    let mut c = Cursor { b: payload, pos: 0 };
    c.literal(b"{")?;
    let mut seen = 0u32;
    let mut ts = None;
    let mut level = None;
    let mut level_no_raw = None;
    let mut logger: &[u8] = b"root";
    let mut msg = None;
    let mut optional: [Option<Range<usize>>; 12] = Default::default();
    let mut field_keys = Keys::new();
    let mut extra_keys = Keys::new();
    let mut level_plain = false;
    let mut members = 0;
    skip_ws(&mut c);
    if c.peek()? == b'}' {
        c.pos += 1;
    } else {
        loop {
            members += 1;
            if members > MAX_KEYS {
                return None;
            }
            let key_start = c.pos;
            c.literal(b"\"")?;
            let key_end = c.string_body()?;
            let key = &payload[key_start + 1..key_end - 1];
            skip_ws(&mut c);
            c.literal(b":")?;
            skip_ws(&mut c);
            let slot = classify(key);
            if seen & slot.bit() != 0 {
                return None;
            }
            seen |= slot.bit();
            match slot {
                Slot::Alias => return None,
                Slot::Unknown => {
                    // An escape could spell a native key.
                    if key.contains(&b'\\') {
                        return None;
                    }
                    let key = &payload[key_start..key_end];
                    extra_keys.insert(key)?;
                    if !scratch.extra.is_empty() {
                        scratch.extra.push(b',');
                    }
                    scratch.extra.extend_from_slice(key);
                    scratch.extra.push(b':');
                    copy_value(&mut c, 1, &mut scratch.extra)?;
                }
                Slot::Ts => {
                    c.literal(b"\"")?;
                    let start = c.pos;
                    let end = special(payload, start);
                    if payload.get(end) != Some(&b'"') {
                        return None;
                    }
                    c.pos = end + 1;
                    ts = Some(start..end);
                }
                Slot::Level => {
                    let start = c.pos;
                    c.literal(b"\"")?;
                    c.string_body()?;
                    level_plain = special(payload, start + 1) == c.pos - 1;
                    level = Some(start..c.pos);
                }
                Slot::LevelNo => {
                    let start = c.pos;
                    i32::try_from(c.integer()?).ok()?;
                    level_no_raw = Some(start..c.pos);
                }
                Slot::Logger => {
                    // Routing needs the name itself: one with escapes (or not
                    // ASCII) takes the long way; an empty one is `root`.
                    c.literal(b"\"")?;
                    let start = c.pos;
                    let end = special(payload, start);
                    if end == start || payload.get(end) != Some(&b'"') {
                        return None;
                    }
                    c.pos = end + 1;
                    logger = &payload[start..end];
                }
                Slot::Msg => {
                    let start = c.pos;
                    c.literal(b"\"")?;
                    c.string_body()?;
                    msg = Some(start..c.pos);
                }
                Slot::Optional(at) => {
                    let start = c.pos;
                    match OPTIONAL[at] {
                        // Python sends None for what it does not know: absent.
                        Kind::Str if c.peek()? == b'n' => c.literal(b"null")?,
                        Kind::Str => {
                            c.literal(b"\"")?;
                            c.string_body()?;
                            optional[at] = Some(start..c.pos);
                        }
                        Kind::U32 => {
                            u32::try_from(c.unsigned()?).ok()?;
                            optional[at] = Some(start..c.pos);
                        }
                        Kind::U64 => {
                            c.unsigned()?;
                            optional[at] = Some(start..c.pos);
                        }
                        Kind::Fields => {
                            c.literal(b"{")?;
                            members_into(&mut c, 0, &mut scratch.fields, &mut field_keys)?;
                        }
                    }
                }
            }
            skip_ws(&mut c);
            match c.peek()? {
                b',' => {
                    c.pos += 1;
                    skip_ws(&mut c);
                }
                b'}' => {
                    c.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    skip_ws(&mut c);
    if c.pos != payload.len() {
        return None;
    }
    // An unknown key that is also a member of `fields` replaces that
    // member's value in place: the decoder's business.
    if extra_keys.keys[..extra_keys.n]
        .iter()
        .any(|k| field_keys.contains(k))
    {
        return None;
    }
    // A record without a time is stamped on receipt: the decoder's.
    let ts = ts?;
    let canonical_ts = check_ts_text(&payload[ts.clone()], cache);
    if !canonical_ts {
        let text = std::str::from_utf8(&payload[ts.clone()]).ok()?;
        let parsed = Timestamp::parse_rfc3339(text)?;
        scratch.ts.clear();
        parsed.write_rfc3339(&mut scratch.ts);
    }
    let level_no = match &level_no_raw {
        Some(raw) => parse_i32(&payload[raw.clone()])?,
        None => 0,
    };
    let (level, level_no) = match (level, level_no_raw.is_some()) {
        // Name and number: kept as they came (`Level::from_parts`).
        (Some(raw), true) => (LevelName::Raw(raw), level_no),
        (Some(raw), false) => {
            // A lone name: a standard one by any case, else a custom
            // level of INFO's number under the name as it came.
            if !level_plain {
                return None;
            }
            let name = std::str::from_utf8(&payload[raw.start + 1..raw.end - 1]).ok()?;
            match Level::from_name(name) {
                Some(l) => {
                    let no = l.no();
                    (LevelName::Resolved(l), no)
                }
                None => (LevelName::Raw(raw), Level::INFO.no()),
            }
        }
        (None, true) => {
            let l = Level::from_no(level_no);
            (LevelName::Resolved(l), level_no)
        }
        (None, false) => (LevelName::Resolved(Level::INFO), Level::INFO.no()),
    };
    let scratch: &'a Scratch = scratch;
    let ts = if canonical_ts {
        &payload[ts]
    } else {
        &scratch.ts[..]
    };
    Some(Foreign {
        payload,
        level_no,
        logger,
        ts,
        level,
        level_no_raw,
        msg,
        optional,
        fields: &scratch.fields,
        extra: &scratch.extra,
    })
}

/// [`check_ts`] for text of any length.
fn check_ts_text(t: &[u8], cache: &mut TsCache) -> bool {
    t.len() == 27 && check_ts(t, cache).is_some()
}

/// Digits [`Cursor::integer`] accepted, as the `i32` it checked they fit.
fn parse_i32(digits: &[u8]) -> Option<i32> {
    std::str::from_utf8(digits).ok()?.parse().ok()
}

impl Foreign<'_> {
    /// Appends the native JSON line (without newline); a record that
    /// names no host gets `host` when given (the peer's address, which
    /// needs no escaping).
    pub(crate) fn write(&self, host: Option<&str>, out: &mut Vec<u8>) {
        let p = self.payload;
        out.extend_from_slice(b"{\"ts\":\"");
        out.extend_from_slice(self.ts);
        out.extend_from_slice(b"\",\"level\":");
        match &self.level {
            LevelName::Raw(raw) => out.extend_from_slice(&p[raw.clone()]),
            LevelName::Resolved(level) => write_str(out, level.name()),
        }
        out.extend_from_slice(b",\"levelno\":");
        match &self.level_no_raw {
            Some(raw) => out.extend_from_slice(&p[raw.clone()]),
            None => write_value(out, &Value::Int(i64::from(self.level_no))),
        }
        out.extend_from_slice(b",\"logger\":\"");
        out.extend_from_slice(self.logger);
        out.extend_from_slice(b"\",\"msg\":");
        match &self.msg {
            Some(raw) => out.extend_from_slice(&p[raw.clone()]),
            None => out.extend_from_slice(b"\"\""),
        }
        for (at, value) in self.optional.iter().enumerate() {
            match value {
                Some(raw) => {
                    out.extend_from_slice(OPTIONAL_KEYS[at]);
                    out.extend_from_slice(&p[raw.clone()]);
                }
                None if at == HOST => {
                    if let Some(host) = host {
                        out.extend_from_slice(OPTIONAL_KEYS[HOST]);
                        write_str(out, host);
                    }
                }
                None => {}
            }
        }
        if !self.fields.is_empty() || !self.extra.is_empty() {
            out.extend_from_slice(b",\"fields\":{");
            out.extend_from_slice(self.fields);
            if !self.fields.is_empty() && !self.extra.is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(self.extra);
            out.push(b'}');
        }
        out.push(b'}');
    }
}

/// Skips JSON whitespace (the decoder's: space, tab, newline, return).
#[inline]
fn skip_ws(c: &mut Cursor<'_>) {
    while matches!(c.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        c.pos += 1;
    }
}

/// After an object's `{`, through its `}`: its members compact and
/// comma-separated onto `out` (no braces), their keys into `keys`.
/// `None` for a duplicate key, too many keys, or anything `copy_value`
/// declines.
fn members_into<'a>(
    c: &mut Cursor<'a>,
    depth: u32,
    out: &mut Vec<u8>,
    keys: &mut Keys<'a>,
) -> Option<()> {
    if depth >= MAX_DEPTH {
        return None;
    }
    skip_ws(c);
    if c.peek()? == b'}' {
        c.pos += 1;
        return Some(());
    }
    loop {
        let start = c.pos;
        c.literal(b"\"")?;
        let end = c.string_body()?;
        let key = &c.b[start..end];
        keys.insert(key)?;
        out.extend_from_slice(key);
        skip_ws(c);
        c.literal(b":")?;
        out.push(b':');
        skip_ws(c);
        copy_value(c, depth + 1, out)?;
        skip_ws(c);
        match c.peek()? {
            b',' => {
                c.pos += 1;
                out.push(b',');
                skip_ws(c);
            }
            b'}' => {
                c.pos += 1;
                return Some(());
            }
            _ => return None,
        }
    }
}

/// The value at the cursor, as the formatter writes what the decoder
/// reads from it, onto `out`: strings in the canonical form as they are,
/// integers as they are (not `-0`), floats rendered, no whitespace.
fn copy_value(c: &mut Cursor<'_>, depth: u32, out: &mut Vec<u8>) -> Option<()> {
    let start = c.pos;
    match c.peek()? {
        b'"' => {
            c.pos += 1;
            c.string_body()?;
            out.extend_from_slice(&c.b[start..c.pos]);
        }
        b'{' => {
            c.pos += 1;
            out.push(b'{');
            members_into(c, depth, out, &mut Keys::new())?;
            out.push(b'}');
        }
        b'[' => {
            if depth >= MAX_DEPTH {
                return None;
            }
            c.pos += 1;
            out.push(b'[');
            skip_ws(c);
            if c.peek()? == b']' {
                c.pos += 1;
            } else {
                loop {
                    copy_value(c, depth + 1, out)?;
                    skip_ws(c);
                    match c.peek()? {
                        b',' => {
                            c.pos += 1;
                            out.push(b',');
                            skip_ws(c);
                        }
                        b']' => {
                            c.pos += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            out.push(b']');
        }
        b't' => {
            c.literal(b"true")?;
            out.extend_from_slice(b"true");
        }
        b'f' => {
            c.literal(b"false")?;
            out.extend_from_slice(b"false");
        }
        b'n' => {
            c.literal(b"null")?;
            out.extend_from_slice(b"null");
        }
        b'-' | b'0'..=b'9' => copy_number(c, out)?,
        _ => return None,
    }
    Some(())
}

/// 10^0 … 10^15, each exact in an f64 (the decoder's table).
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// A number at the cursor: an integer as it came (the decoder keeps every
/// digit, and the formatter writes them back the same when canonical), a
/// float as the formatter writes the `f64` the decoder reads.
fn copy_number(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Option<()> {
    let b = c.b;
    let start = c.pos;
    let negative = b[start] == b'-';
    let int_start = start + usize::from(negative);
    let mut i = int_start;
    let mut mantissa = 0u64;
    while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        i += 1;
    }
    let int_digits = i - int_start;
    if int_digits == 0 || (int_digits > 1 && b[int_start] == b'0') {
        return None;
    }
    let mut frac_digits = 0;
    let mut float = false;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let f = i;
        while let Some(&d) = b.get(i).filter(|d| d.is_ascii_digit()) {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            i += 1;
        }
        frac_digits = i - f;
        if frac_digits == 0 {
            return None;
        }
        float = true;
    }
    let mut exponent = false;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let e = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == e {
            return None;
        }
        float = true;
        exponent = true;
    }
    c.pos = i;
    if !float {
        // `-0` reads as 0 and is written `0`.
        if negative && int_digits == 1 && b[int_start] == b'0' {
            return None;
        }
        out.extend_from_slice(&b[start..i]);
        return Some(());
    }
    // The decoder's reading: Clinger's exact fast path for short decimals,
    // else the standard parser (both correctly rounded).
    let x = if !exponent && int_digits + frac_digits <= 15 {
        let x = mantissa as f64 / POW10[frac_digits];
        if negative { -x } else { x }
    } else {
        std::str::from_utf8(&b[start..i])
            .ok()?
            .parse::<f64>()
            .ok()?
    };
    write_value(out, &Value::Float(x));
    Some(())
}

#[cfg(test)]
mod tests;
