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
        let (&op, args) = rest.split_first()?;
        let (key, tail) = match op {
            SHORT_BINUNICODE => {
                let (&n, tail) = args.split_first()?;
                split(tail, usize::from(n))?
            }
            BINUNICODE => {
                let (n, tail) = args.split_first_chunk::<4>()?;
                split(tail, u32::from_le_bytes(*n) as usize)?
            }
            SETITEMS if args == [STOP] => break,
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
///
/// The opcode is matched first and its arguments' length tested in its
/// arm: slice patterns over both tested lengths before opcodes.
#[inline(always)]
fn value(rest: &[u8]) -> Option<(Item<'_>, &[u8])> {
    let (&op, args) = rest.split_first()?;
    Some(match op {
        SHORT_BINUNICODE => {
            let (&n, tail) = args.split_first()?;
            let (bytes, tail) = split(tail, usize::from(n))?;
            (Item::Text(bytes), tail)
        }
        BINUNICODE => {
            let (n, tail) = args.split_first_chunk::<4>()?;
            let (bytes, tail) = split(tail, u32::from_le_bytes(*n) as usize)?;
            (Item::Text(bytes), tail)
        }
        NONE => (Item::None, args),
        BININT1 => {
            let (&n, tail) = args.split_first()?;
            (Item::Int(i64::from(n)), tail)
        }
        BININT2 => {
            let (n, tail) = args.split_first_chunk::<2>()?;
            (Item::Int(i64::from(u16::from_le_bytes(*n))), tail)
        }
        BININT => {
            let (n, tail) = args.split_first_chunk::<4>()?;
            (Item::Int(i64::from(i32::from_le_bytes(*n))), tail)
        }
        BINFLOAT => {
            let (x, tail) = args.split_first_chunk::<8>()?;
            (Item::Float(f64::from_be_bytes(*x)), tail)
        }
        NEWTRUE => (Item::Bool(true), args),
        NEWFALSE => (Item::Bool(false), args),
        INT => {
            let (digits, tail) = line(args)?;
            let item = match digits {
                b"00" => Item::Bool(false),
                b"01" => Item::Bool(true),
                digits => small(text::parse_decimal(digits).ok()?)?,
            };
            (item, tail)
        }
        LONG => {
            if let Some((n, tail)) = plain_digits(args, b"L\n") {
                return Some((Item::Int(n), tail));
            }
            let (digits, tail) = line(args)?;
            let digits = digits.strip_suffix(b"L").unwrap_or(digits);
            (small(text::parse_decimal(digits).ok()?)?, tail)
        }
        LONG1 => {
            let (&n, tail) = args.split_first()?;
            let (bytes, tail) = split(tail, usize::from(n))?;
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

/// Past the memo store of the item just read: skipped, as nothing reads
/// it unless a GET follows, which is declined. One store at most, as
/// Python writes them; a second (or a cut-off one) is left in place, to be
/// declined as an unexpected opcode.
#[inline(always)]
fn skip_memo(rest: &[u8]) -> &[u8] {
    match rest.split_first() {
        Some((&BINPUT, args)) if !args.is_empty() => &args[1..],
        Some((&LONG_BINPUT, args)) if args.len() >= 4 => &args[4..],
        Some((&MEMOIZE, args)) => args,
        _ => rest,
    }
}

/// A LONG's or INT's argument when it is what Python writes for an integer
/// that fits `i64` comfortably: 1 to 18 ASCII digits, then `end`. Its value
/// and what follows `end`; anything else (a sign, spaces, more digits) is
/// `None`, for the general parser. A thread id, sent as a LONG by protocol
/// 1, costs a fifth of the general parser's instructions this way.
#[inline(always)]
fn plain_digits<'b>(rest: &'b [u8], end: &[u8]) -> Option<(i64, &'b [u8])> {
    let mut n: i64 = 0;
    for (at, &b) in rest.iter().enumerate() {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return match rest[at..].strip_prefix(end) {
                Some(tail) if at > 0 => Some((n, tail)),
                _ => None,
            };
        }
        if at == 18 {
            return None; // a 19th digit: perhaps beyond i64
        }
        n = n * 10 + i64::from(digit);
    }
    None
}

/// The item of an integer that fits `i64`; a bigger one (digits the
/// machine keeps aside) is left to the machine.
fn small<'a>(n: Int) -> Option<Item<'a>> {
    match n {
        Int::Small(v) => Some(Item::Int(v)),
        Int::Big(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::plain_digits;

    #[test]
    fn plain_digits_take_what_fits_and_leave_the_rest() {
        assert_eq!(
            plain_digits(b"140329834052480L\nX", b"L\n"),
            Some((140_329_834_052_480, &b"X"[..]))
        );
        assert_eq!(plain_digits(b"0L\n", b"L\n"), Some((0, &b""[..])));
        assert_eq!(plain_digits(b"007\n", b"\n"), Some((7, &b""[..])));
        let most = b"999999999999999999L\n"; // 18 digits
        assert_eq!(
            plain_digits(most, b"L\n"),
            Some((999_999_999_999_999_999, &b""[..]))
        );
        // For the general parser: 19 digits, a sign, spaces, no digits, no end.
        for text in [
            &b"9223372036854775807L\n"[..],
            b"1234567890123456789L\n",
            b"-5L\n",
            b" 5L\n",
            b"L\n",
            b"5",
            b"5L",
            b"5\n",
        ] {
            assert_eq!(
                plain_digits(text, b"L\n"),
                None,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
