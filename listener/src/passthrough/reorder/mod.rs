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

use super::{
    Cursor, HOST, Kind, MAX_DEPTH, MAX_KEYS, ONES, OPTIONAL, TsCache, check_ts, special,
    special_bytes, zero_bytes,
};
use std::ops::Range;
use tributary_core::json::{write_str, write_value};
use tributary_core::{Level, Timestamp, Value};

/// What a connection keeps between payloads for [`parse`], reused so a
/// record costs no allocation once warm.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    /// The members of the record's `fields` object, compact and
    /// comma-separated, when they came with whitespace or floats (else
    /// they are copied from the payload as they are).
    fields: Vec<u8>,
    /// The unknown top-level members, compact and comma-separated.
    extra: Vec<u8>,
    /// A non-canonical timestamp rendered the formatter's way.
    ts: Vec<u8>,
    /// The keys of the objects being read, innermost last (the members of
    /// `fields` stay until the end, to compare with the unknown keys).
    keys: Vec<KeyRef>,
    /// The unknown top-level keys.
    extra_keys: Vec<KeyRef>,
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
        self.keys.clear();
        self.extra_keys.clear();
    }
}

/// A key as it came (quotes included), for duplicates.
#[derive(Clone, Copy, Debug)]
struct KeyRef {
    /// A key of one to seven plain bytes as one word ([`short_key`]), else 0.
    word: u64,
    start: usize,
    end: usize,
}

impl KeyRef {
    /// Whether two keys are the same text. Escaping is one-to-one in the
    /// canonical form, so equal keys have equal bytes. Two short keys
    /// compare by their words; a key read in full (long, escaped, or too
    /// near the end of the payload for a word) by its bytes.
    fn same(&self, other: &KeyRef, b: &[u8]) -> bool {
        if self.word != 0 && other.word != 0 {
            self.word == other.word
        } else {
            b[self.start..self.end] == b[other.start..other.end]
        }
    }
}

/// A constant piece of the native line, padded to sixteen bytes so it is
/// copied as one fixed-size block (see [`put`]), and its length.
type Padded = ([u8; 16], usize);

const fn padded(text: &[u8]) -> Padded {
    let mut out = [0u8; 16];
    let mut i = 0;
    while i < text.len() {
        out[i] = text[i];
        i += 1;
    }
    (out, text.len())
}

/// `,"key":` of each optional key of the native profile but `fields`, in
/// the formatter's order ([`OPTIONAL`]'s).
const OPTIONAL_KEYS: [Padded; 12] = [
    padded(b",\"host\":"),
    padded(b",\"pid\":"),
    padded(b",\"process\":"),
    padded(b",\"tid\":"),
    padded(b",\"thread\":"),
    padded(b",\"file\":"),
    padded(b",\"line\":"),
    padded(b",\"func\":"),
    padded(b",\"module\":"),
    padded(b",\"seq\":"),
    padded(b",\"exc\":"),
    padded(b",\"stack\":"),
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

/// [`classify`] from a short key's word: one comparison per candidate
/// instead of a slice match (the keys of a record are mostly these).
#[inline(always)]
fn classify_word(w: u64) -> Slot {
    use tributary_core::json::key_words::*;
    match w {
        TS => Slot::Ts,
        LEVEL => Slot::Level,
        LEVELNO => Slot::LevelNo,
        LOGGER => Slot::Logger,
        MSG => Slot::Msg,
        HOST => Slot::Optional(0),
        PID => Slot::Optional(1),
        PROCESS => Slot::Optional(2),
        TID => Slot::Optional(3),
        THREAD => Slot::Optional(4),
        FILE => Slot::Optional(5),
        LINE => Slot::Optional(6),
        FUNC => Slot::Optional(7),
        MODULE => Slot::Optional(8),
        SEQ => Slot::Optional(9),
        EXC => Slot::Optional(10),
        STACK => Slot::Optional(11),
        FIELDS => Slot::Optional(12),
        TIME | NAME | TARGET | MESSAGE => Slot::Alias,
        _ => Slot::Unknown,
    }
}

/// At an opening quote: a key of one to seven bytes of printable ASCII
/// but `"` and `\` (a string the formatter writes as it is), as its
/// little-endian word, and the position after its closing quote; `None`
/// for any other key, which is then read in full.
#[inline(always)]
fn short_key(b: &[u8], quote: usize) -> Option<(u64, usize)> {
    let chunk = b.get(quote + 1..)?.first_chunk::<8>()?;
    let x = u64::from_le_bytes(*chunk);
    let len = (zero_bytes(x ^ (ONES * u64::from(b'"'))).trailing_zeros() / 8) as usize;
    if len == 0 || len >= 8 {
        return None;
    }
    let mask = (1u64 << (8 * len)) - 1;
    // Flags below the first real one are exact, so any flag under the mask
    // is real (and no quote is under it: the key ends at the first).
    if special_bytes(x) & mask != 0 {
        return None;
    }
    Some((x & mask, quote + len + 2))
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
    ts: &'a [u8; 27],
    level: LevelName,
    /// `levelno`'s digits as they came, when the payload has them.
    level_no_raw: Option<Range<usize>>,
    /// `msg`'s string (quotes included), when the payload has one.
    msg: Option<Range<usize>>,
    /// Each optional key's value as it came, by index into [`OPTIONAL`].
    optional: [Option<Range<usize>>; 12],
    /// The members of `fields`, compact, comma-separated.
    fields: &'a [u8],
    /// The unknown top-level members, compact, comma-separated.
    extra: &'a [u8],
}

/// Where the members of `fields` are.
enum FieldsAt {
    None,
    /// In the payload as they are (between its braces).
    Payload(Range<usize>),
    /// Rewritten compact in [`Scratch::fields`].
    Scratch,
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
    let mut w = Walk {
        c: Cursor { b: payload, pos: 0 },
        keys: &mut scratch.keys,
        verbatim: true,
    };
    w.c.literal(b"{")?;
    let mut seen = 0u32;
    let mut ts = None;
    let mut level = None;
    let mut level_no = None;
    let mut logger: &[u8] = b"root";
    let mut msg = None;
    let mut optional: [Option<Range<usize>>; 12] = Default::default();
    let mut fields = FieldsAt::None;
    let mut members = 0;
    w.ws();
    if w.c.peek()? == b'}' {
        w.c.pos += 1;
    } else {
        loop {
            members += 1;
            if members > MAX_KEYS || w.c.peek()? != b'"' {
                return None;
            }
            let quote = w.c.pos;
            let (word, key_end) = match short_key(payload, quote) {
                Some(k) => k,
                None => {
                    w.c.pos = quote + 1;
                    (0, w.c.string_body()?)
                }
            };
            w.c.pos = key_end;
            w.ws();
            w.c.literal(b":")?;
            w.ws();
            let slot = if word != 0 {
                classify_word(word)
            } else {
                classify(&payload[quote + 1..key_end - 1])
            };
            if seen & slot.bit() != 0 {
                return None;
            }
            seen |= slot.bit();
            match slot {
                Slot::Alias => return None,
                Slot::Unknown => {
                    // An escape could spell a native key.
                    if word == 0 && payload[quote..key_end].contains(&b'\\') {
                        return None;
                    }
                    let key = KeyRef {
                        word,
                        start: quote,
                        end: key_end,
                    };
                    if scratch.extra_keys.iter().any(|k| k.same(&key, payload)) {
                        return None;
                    }
                    scratch.extra_keys.push(key);
                    if !scratch.extra.is_empty() {
                        scratch.extra.push(b',');
                    }
                    scratch.extra.extend_from_slice(&payload[quote..key_end]);
                    scratch.extra.push(b':');
                    w.value(1, &mut scratch.extra)?;
                }
                Slot::Ts => {
                    w.c.literal(b"\"")?;
                    let start = w.c.pos;
                    let end = special(payload, start);
                    if payload.get(end) != Some(&b'"') {
                        return None;
                    }
                    w.c.pos = end + 1;
                    ts = Some(start..end);
                }
                Slot::Level => {
                    let start = w.c.pos;
                    w.c.literal(b"\"")?;
                    w.c.string_body()?;
                    level = Some(start..w.c.pos);
                }
                Slot::LevelNo => {
                    let start = w.c.pos;
                    let no = i32::try_from(w.c.integer()?).ok()?;
                    level_no = Some((no, start..w.c.pos));
                }
                Slot::Logger => {
                    // Routing needs the name itself: one with escapes (or not
                    // ASCII) takes the long way, as does an empty one.
                    w.c.literal(b"\"")?;
                    let start = w.c.pos;
                    let end = special(payload, start);
                    if end == start || payload.get(end) != Some(&b'"') {
                        return None;
                    }
                    w.c.pos = end + 1;
                    logger = &payload[start..end];
                }
                Slot::Msg => {
                    let start = w.c.pos;
                    w.c.literal(b"\"")?;
                    w.c.string_body()?;
                    msg = Some(start..w.c.pos);
                }
                Slot::Optional(at) => {
                    let start = w.c.pos;
                    match OPTIONAL[at] {
                        // Python sends None for what it does not know: absent.
                        Kind::Str if w.c.peek()? == b'n' => w.c.literal(b"null")?,
                        Kind::Str => {
                            w.c.literal(b"\"")?;
                            w.c.string_body()?;
                            optional[at] = Some(start..w.c.pos);
                        }
                        Kind::U32 => {
                            w.uint(b"4294967295")?;
                            optional[at] = Some(start..w.c.pos);
                        }
                        Kind::U64 => {
                            w.uint(b"18446744073709551615")?;
                            optional[at] = Some(start..w.c.pos);
                        }
                        Kind::Fields => {
                            // Checked first; copied from the payload as it
                            // is unless it needs rewriting.
                            w.c.literal(b"{")?;
                            let verbatim = std::mem::replace(&mut w.verbatim, true);
                            w.members(0, &mut Discard)?;
                            if w.verbatim {
                                fields = FieldsAt::Payload(start + 1..w.c.pos - 1);
                            } else {
                                w.c.pos = start + 1;
                                w.keys.clear();
                                w.members(0, &mut scratch.fields)?;
                                fields = FieldsAt::Scratch;
                            }
                            w.verbatim = verbatim;
                        }
                    }
                }
            }
            w.ws();
            match w.c.peek()? {
                b',' => {
                    w.c.pos += 1;
                    w.ws();
                }
                b'}' => {
                    w.c.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    w.ws();
    if w.c.pos != payload.len() {
        return None;
    }
    // An unknown key that is also a member of `fields` replaces that
    // member's value in place: the decoder's business.
    let field_keys = &w.keys[..];
    if scratch
        .extra_keys
        .iter()
        .any(|e| field_keys.iter().any(|f| f.same(e, payload)))
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
    let (level, level_no, level_no_raw) = match (level, level_no) {
        // Name and number: kept as they came (`Level::from_parts`).
        (Some(raw), Some((no, digits))) => (LevelName::Raw(raw), no, Some(digits)),
        (Some(raw), None) => {
            // A lone name: a standard one by any case, else a custom
            // level of INFO's number under the name as it came.
            if special(payload, raw.start + 1) != raw.end - 1 {
                return None;
            }
            let name = std::str::from_utf8(&payload[raw.start + 1..raw.end - 1]).ok()?;
            match Level::from_name(name) {
                Some(l) => {
                    let no = l.no();
                    (LevelName::Resolved(l), no, None)
                }
                None => (LevelName::Raw(raw), Level::INFO.no(), None),
            }
        }
        (None, Some((no, digits))) => (LevelName::Resolved(Level::from_no(no)), no, Some(digits)),
        (None, None) => (LevelName::Resolved(Level::INFO), Level::INFO.no(), None),
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
        ts: ts.first_chunk::<27>()?,
        level,
        level_no_raw,
        msg,
        optional,
        fields: match fields {
            FieldsAt::None => &[],
            FieldsAt::Payload(at) => &payload[at],
            FieldsAt::Scratch => &scratch.fields,
        },
        extra: &scratch.extra,
    })
}

/// [`check_ts`] for text of any length.
fn check_ts_text(t: &[u8], cache: &mut TsCache) -> bool {
    t.len() == 27 && check_ts(t, cache).is_some()
}

/// Appends `src[range]`: a piece of at most 16 bytes with 16 readable
/// from its start is copied as one fixed-size block and cut back (a few
/// moves instead of a `memcpy` call: most pieces of a record are short).
#[inline(always)]
fn put(out: &mut Vec<u8>, src: &[u8], range: Range<usize>) {
    let n = range.end - range.start;
    match src.get(range.start..).and_then(|s| s.first_chunk::<16>()) {
        Some(block) if n <= 16 => {
            let at = out.len();
            out.extend_from_slice(block);
            out.truncate(at + n);
        }
        _ => out.extend_from_slice(&src[range]),
    }
}

impl Foreign<'_> {
    /// Appends the native JSON line (without newline); a record that
    /// names no host gets `host` when given (the peer's address).
    pub(crate) fn write(&self, host: Option<&str>, out: &mut Vec<u8>) {
        let p = self.payload;
        let mut head = *b"{\"ts\":\"YYYY-MM-DDTHH:MM:SS.ffffffZ\",\"level\":";
        head[7..34].copy_from_slice(self.ts);
        out.extend_from_slice(&head);
        match &self.level {
            LevelName::Raw(raw) => put(out, p, raw.clone()),
            LevelName::Resolved(level) => write_str(out, level.name()),
        }
        out.extend_from_slice(b",\"levelno\":");
        match &self.level_no_raw {
            Some(raw) => put(out, p, raw.clone()),
            None => write_value(out, &Value::Int(i64::from(self.level_no))),
        }
        out.extend_from_slice(b",\"logger\":\"");
        put(out, self.logger, 0..self.logger.len());
        out.extend_from_slice(b"\",\"msg\":");
        match &self.msg {
            Some(raw) => out.extend_from_slice(&p[raw.clone()]),
            None => out.extend_from_slice(b"\"\""),
        }
        for (at, value) in self.optional.iter().enumerate() {
            let (key, len) = &OPTIONAL_KEYS[at];
            match value {
                Some(raw) => {
                    put(out, key, 0..*len);
                    put(out, p, raw.clone());
                }
                None if at == HOST => {
                    if let Some(host) = host {
                        put(out, key, 0..*len);
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

/// Where a value read is written: a buffer, or nowhere while a `fields`
/// object is only checked.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
    fn push(&mut self, byte: u8);
    fn float(&mut self, x: f64);
}

impl Sink for Vec<u8> {
    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    #[inline(always)]
    fn push(&mut self, byte: u8) {
        Vec::push(self, byte);
    }

    fn float(&mut self, x: f64) {
        write_value(self, &Value::Float(x));
    }
}

/// Writes nothing: the value is only checked.
struct Discard;

impl Sink for Discard {
    #[inline(always)]
    fn put(&mut self, _: &[u8]) {}

    #[inline(always)]
    fn push(&mut self, _: u8) {}

    #[inline(always)]
    fn float(&mut self, _: f64) {}
}

/// A reader of values that checks them and writes them compact.
struct Walk<'a, 's> {
    c: Cursor<'a>,
    keys: &'s mut Vec<KeyRef>,
    /// No whitespace and no float met since it was last set: what was
    /// read is already what would be written.
    verbatim: bool,
}

impl Walk<'_, '_> {
    /// Skips JSON whitespace (the decoder's: space, tab, newline, return).
    #[inline(always)]
    fn ws(&mut self) {
        if matches!(self.c.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.verbatim = false;
            while matches!(self.c.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                self.c.pos += 1;
            }
        }
    }

    /// A canonical non-negative integer no larger than `max` (its digits:
    /// equal lengths of digits compare as the numbers do).
    fn uint(&mut self, max: &[u8]) -> Option<()> {
        let b = self.c.b;
        let start = self.c.pos;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        let n = end - start;
        self.c.pos = end;
        let fits = n < max.len() || (n == max.len() && &b[start..end] <= max);
        let canonical = n > 0 && (n == 1 || b[start] != b'0');
        (fits && canonical && !matches!(b.get(end), Some(b'.' | b'e' | b'E'))).then_some(())
    }

    /// After an object's `{`, through its `}`: its members compact and
    /// comma-separated onto `out` (no braces). `None` for a duplicate key,
    /// too many keys, or anything [`Walk::value`] declines. The keys of
    /// the outermost object (`depth` 0) stay in [`Walk::keys`].
    fn members<S: Sink>(&mut self, depth: u32, out: &mut S) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let base = self.keys.len();
        self.ws();
        if self.c.peek()? == b'}' {
            self.c.pos += 1;
            return Some(());
        }
        loop {
            let quote = self.c.pos;
            if self.c.peek()? != b'"' {
                return None;
            }
            let (word, end) = match short_key(self.c.b, quote) {
                Some(k) => k,
                None => {
                    self.c.pos = quote + 1;
                    (0, self.c.string_body()?)
                }
            };
            self.c.pos = end;
            let key = KeyRef {
                word,
                start: quote,
                end,
            };
            let b = self.c.b;
            if self.keys.len() - base == MAX_KEYS
                || self.keys[base..].iter().any(|k| k.same(&key, b))
            {
                return None;
            }
            self.keys.push(key);
            out.put(&b[quote..end]);
            self.ws();
            self.c.literal(b":")?;
            out.push(b':');
            self.ws();
            self.value(depth + 1, out)?;
            self.ws();
            match self.c.peek()? {
                b',' => {
                    self.c.pos += 1;
                    out.push(b',');
                    self.ws();
                }
                b'}' => {
                    self.c.pos += 1;
                    if depth > 0 {
                        self.keys.truncate(base);
                    }
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// The value at the cursor, as the formatter writes what the decoder
    /// reads from it, onto `out`: strings in the canonical form as they
    /// are, integers as they are (not `-0`), floats rendered, no
    /// whitespace.
    fn value<S: Sink>(&mut self, depth: u32, out: &mut S) -> Option<()> {
        let b = self.c.b;
        let start = self.c.pos;
        match self.c.peek()? {
            b'"' => {
                self.c.pos += 1;
                self.c.string_body()?;
                out.put(&b[start..self.c.pos]);
            }
            b'{' => {
                self.c.pos += 1;
                out.push(b'{');
                self.members(depth, out)?;
                out.push(b'}');
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return None;
                }
                self.c.pos += 1;
                out.push(b'[');
                self.ws();
                if self.c.peek()? == b']' {
                    self.c.pos += 1;
                } else {
                    loop {
                        self.value(depth + 1, out)?;
                        self.ws();
                        match self.c.peek()? {
                            b',' => {
                                self.c.pos += 1;
                                out.push(b',');
                                self.ws();
                            }
                            b']' => {
                                self.c.pos += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                out.push(b']');
            }
            b't' => {
                self.c.literal(b"true")?;
                out.put(b"true");
            }
            b'f' => {
                self.c.literal(b"false")?;
                out.put(b"false");
            }
            b'n' => {
                self.c.literal(b"null")?;
                out.put(b"null");
            }
            b'-' | b'0'..=b'9' => self.number(out)?,
            _ => return None,
        }
        Some(())
    }

    /// A number at the cursor: an integer as it came (the decoder keeps
    /// every digit, and the formatter writes them back the same when
    /// canonical), a float as the formatter writes the `f64` the decoder
    /// reads.
    fn number<S: Sink>(&mut self, out: &mut S) -> Option<()> {
        let b = self.c.b;
        let start = self.c.pos;
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
        self.c.pos = i;
        if !float {
            // `-0` reads as 0 and is written `0`.
            if negative && int_digits == 1 && b[int_start] == b'0' {
                return None;
            }
            out.put(&b[start..i]);
            return Some(());
        }
        self.verbatim = false;
        // The decoder's reading: Clinger's exact fast path for short
        // decimals, else the standard parser (both correctly rounded).
        let x = if !exponent && int_digits + frac_digits <= 15 {
            let x = mantissa as f64 / POW10[frac_digits];
            if negative { -x } else { x }
        } else {
            std::str::from_utf8(&b[start..i])
                .ok()?
                .parse::<f64>()
                .ok()?
        };
        out.float(x);
        Some(())
    }
}

/// 10^0 … 10^15, each exact in an f64 (the decoder's table).
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

#[cfg(test)]
mod tests;
