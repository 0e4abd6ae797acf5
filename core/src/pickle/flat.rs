//! A flat dict of strings and numbers read straight into the record,
//! without the stack machine: the shape `SocketHandler.makePickle` gives
//! every LogRecord.
//!
//! The machine pays for generality on every opcode (dispatch, a stack, a
//! memo of every string, MARK segments), and its dict is then walked a
//! second time to build the record. A LogRecord pickle is one EMPTY_DICT, a
//! MARK, key and value after key and value, SETITEMS and STOP, so
//! [`decode_into`] reads that shape and hands each key and value to the
//! record builder ([`Attrs`]) as it reads them: the pairs the machine's dict
//! would have held, in the same order, by the same rules. Memo stores are
//! skipped: without a GET nothing reads them. Anything else (a key that is
//! not a string, a GET, a nested container, Python 2 strings, bytes, an
//! integer beyond `i64`, a code opcode, an error of any kind) is declined,
//! and the machine, which defines the behaviour, decodes the payload again
//! from the start.

use super::budget::Budget;
use super::convert::{Converter, MAX_DICT_KEYS};
use super::item::{Container, Item};
use super::opcodes::*;
use super::record::Attrs;
use super::text::{self, Int};
use crate::Record;

/// Decodes the flat dict `input` pickles into `r`; `None` (with `r` in
/// any valid state) to let the machine decode it.
///
/// Slice patterns: one length test per opcode and its arguments (a cursor
/// with a bounds check per read cost twice the instructions).
pub(crate) fn decode_into(
    input: &[u8],
    budget: &mut Budget,
    max_depth: usize,
    r: &mut Record,
) -> Option<()> {
    let mut rest = input;
    if let [PROTO, version, tail @ ..] = rest {
        if *version > HIGHEST_PROTOCOL {
            return None;
        }
        rest = tail;
    }
    if let [FRAME, a, b, c, d, e, f, g, h, tail @ ..] = rest {
        if u64::from_le_bytes([*a, *b, *c, *d, *e, *f, *g, *h]) > tail.len() as u64 {
            return None;
        }
        rest = tail;
    }
    rest = match rest {
        [EMPTY_DICT, tail @ ..] => skip_memo(tail),
        _ => return None,
    };
    rest = match rest {
        [MARK, tail @ ..] => tail,
        _ => return None,
    };
    // The machine spends this when EMPTY_DICT makes the container.
    budget.spend(std::mem::size_of::<Container<'_>>()).ok()?;
    let mut conv = Converter {
        arena: &[],
        owned: &[],
        budget,
        max_depth,
    };
    let mut attrs = Attrs::start(r);
    let mut pairs = 0usize;
    loop {
        let (key, tail) = match rest {
            [SHORT_BINUNICODE, n, tail @ ..] => split(tail, usize::from(*n))?,
            [BINUNICODE, a, b, c, d, tail @ ..] => {
                split(tail, u32::from_le_bytes([*a, *b, *c, *d]) as usize)?
            }
            [SETITEMS, STOP] => break,
            _ => return None,
        };
        let (value, tail) = value(skip_memo(tail))?;
        rest = skip_memo(tail);
        pairs += 1;
        if pairs > MAX_DICT_KEYS {
            return None;
        }
        attrs.named_pair(key, &value, &mut conv, r).ok()?;
    }
    attrs.finish(&mut conv, r).ok()
}

/// The value at the start of `rest`, when it is a string, a number, a bool
/// or None, and what follows it.
#[inline(always)]
fn value(rest: &[u8]) -> Option<(Item<'_>, &[u8])> {
    Some(match rest {
        [BINUNICODE, a, b, c, d, tail @ ..] => {
            let (bytes, tail) = split(tail, u32::from_le_bytes([*a, *b, *c, *d]) as usize)?;
            (Item::Text(bytes), tail)
        }
        [SHORT_BINUNICODE, n, tail @ ..] => {
            let (bytes, tail) = split(tail, usize::from(*n))?;
            (Item::Text(bytes), tail)
        }
        [NONE, tail @ ..] => (Item::None, tail),
        [BININT1, n, tail @ ..] => (Item::Int(i64::from(*n)), tail),
        [BININT2, a, b, tail @ ..] => (Item::Int(i64::from(u16::from_le_bytes([*a, *b]))), tail),
        [BININT, a, b, c, d, tail @ ..] => (
            Item::Int(i64::from(i32::from_le_bytes([*a, *b, *c, *d]))),
            tail,
        ),
        [BINFLOAT, a, b, c, d, e, f, g, h, tail @ ..] => (
            Item::Float(f64::from_be_bytes([*a, *b, *c, *d, *e, *f, *g, *h])),
            tail,
        ),
        [NEWTRUE, tail @ ..] => (Item::Bool(true), tail),
        [NEWFALSE, tail @ ..] => (Item::Bool(false), tail),
        [INT, tail @ ..] => {
            let (digits, tail) = line(tail)?;
            let item = match digits {
                b"00" => Item::Bool(false),
                b"01" => Item::Bool(true),
                digits => small(text::parse_decimal(digits).ok()?)?,
            };
            (item, tail)
        }
        [LONG, tail @ ..] => {
            let (digits, tail) = line(tail)?;
            let digits = digits.strip_suffix(b"L").unwrap_or(digits);
            (small(text::parse_decimal(digits).ok()?)?, tail)
        }
        [LONG1, n, tail @ ..] => {
            let (bytes, tail) = split(tail, usize::from(*n))?;
            (small(text::long_from_le_bytes(bytes).ok()?)?, tail)
        }
        _ => return None,
    })
}

/// The `n` bytes at the start of `rest`, and what follows them.
#[inline(always)]
fn split(rest: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    if n > rest.len() {
        return None;
    }
    Some(rest.split_at(n))
}

/// The bytes up to the next newline, and what follows the newline.
fn line(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let n = memchr::memchr(b'\n', rest)?;
    Some((&rest[..n], &rest[n + 1..]))
}

/// Past the memo stores of the item just read: skipped, as nothing reads
/// them unless a GET follows, which is declined. A cut-off store is left
/// in place, to be declined as an unknown opcode.
#[inline(always)]
fn skip_memo(mut rest: &[u8]) -> &[u8] {
    loop {
        rest = match rest {
            [BINPUT, _, tail @ ..] => tail,
            [LONG_BINPUT, _, _, _, _, tail @ ..] => tail,
            [MEMOIZE, tail @ ..] => tail,
            _ => return rest,
        };
    }
}

/// The item of an integer that fits `i64`; a bigger one (digits the
/// machine keeps aside) is left to the machine.
fn small<'a>(n: Int) -> Option<Item<'a>> {
    match n {
        Int::Small(v) => Some(Item::Int(v)),
        Int::Big(_) => None,
    }
}
