//! A flat dict of strings and numbers read without the stack machine: the
//! shape `SocketHandler.makePickle` gives every LogRecord.
//!
//! The machine pays for generality on every opcode (dispatch, a stack, a
//! memo of every string, MARK segments), about 4,600 instructions for a
//! typical LogRecord (callgrind, `examples/hot_paths.rs pickle`). A
//! LogRecord pickle is one EMPTY_DICT, a MARK, key and value after key and
//! value, SETITEMS and STOP, so [`run`] reads that shape straight into the
//! dict's items and hands the record builder exactly the [`Parsed`] the
//! machine would have. Memo stores are skipped: without a GET nothing reads
//! them. Anything else (a GET, a nested container, Python 2 strings, bytes,
//! a code opcode, an error of any kind) is declined, and the machine, which
//! defines the behaviour, runs instead.

use super::budget::Budget;
use super::item::{Container, Item, Kind};
use super::machine::Parsed;
use super::opcodes::*;
use super::scratch::{self, Scratch};
use super::text::{self, Int};

/// The dict `input` pickles, when it is flat; `None` to let the machine
/// decode it. Works in `scratch`'s vectors and gives them back if it
/// declines.
pub(crate) fn run<'a>(
    input: &'a [u8],
    budget: &mut Budget,
    scratch: &mut Scratch,
) -> Option<Parsed<'a>> {
    let mut items = scratch::relabel(std::mem::take(&mut scratch.first_mark));
    let mut owned = Vec::new();
    // The machine spends this when EMPTY_DICT makes the container.
    let read = read(input, &mut items, &mut owned)
        .and_then(|()| budget.spend(std::mem::size_of::<Container<'_>>()).ok());
    if read.is_none() {
        scratch.first_mark = scratch::relabel(items);
        return None;
    }
    let mut arena = scratch::relabel_containers(std::mem::take(&mut scratch.arena));
    arena.push(Container::new(Kind::Dict, items));
    Some(Parsed {
        root: Item::Container(0),
        arena,
        owned,
    })
}

/// Reads `[PROTO] [FRAME] EMPTY_DICT [memo] MARK (item [memo])* SETITEMS
/// STOP` into `items`, or `None`. Slice patterns: one length test per
/// opcode and its arguments (a cursor with a bounds check per read cost
/// twice the instructions).
fn read<'a>(input: &'a [u8], items: &mut Vec<Item<'a>>, owned: &mut Vec<Box<str>>) -> Option<()> {
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
    loop {
        let (item, tail) = match rest {
            [BINUNICODE, a, b, c, d, tail @ ..] => {
                text(tail, u32::from_le_bytes([*a, *b, *c, *d]) as usize)?
            }
            [SHORT_BINUNICODE, n, tail @ ..] => text(tail, usize::from(*n))?,
            [NONE, tail @ ..] => (Item::None, tail),
            [BININT1, n, tail @ ..] => (Item::Int(i64::from(*n)), tail),
            [BININT2, a, b, tail @ ..] => {
                (Item::Int(i64::from(u16::from_le_bytes([*a, *b]))), tail)
            }
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
                    digits => int(text::parse_decimal(digits).ok()?, owned),
                };
                (item, tail)
            }
            [LONG, tail @ ..] => {
                let (digits, tail) = line(tail)?;
                let digits = digits.strip_suffix(b"L").unwrap_or(digits);
                (int(text::parse_decimal(digits).ok()?, owned), tail)
            }
            [LONG1, n, tail @ ..] => {
                let n = usize::from(*n);
                if n > tail.len() {
                    return None;
                }
                let (bytes, tail) = tail.split_at(n);
                (int(text::long_from_le_bytes(bytes).ok()?, owned), tail)
            }
            [SETITEMS, STOP] if items.len().is_multiple_of(2) => return Some(()),
            _ => return None,
        };
        items.push(item);
        rest = skip_memo(tail);
    }
}

/// A string of `n` bytes at the start of `rest`, and what follows it.
#[inline(always)]
fn text(rest: &[u8], n: usize) -> Option<(Item<'_>, &[u8])> {
    if n > rest.len() {
        return None;
    }
    let (bytes, tail) = rest.split_at(n);
    Some((Item::Text(bytes), tail))
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

/// The machine's item for a parsed integer.
fn int<'a>(n: Int, owned: &mut Vec<Box<str>>) -> Item<'a> {
    match n {
        Int::Small(v) => Item::Int(v),
        Int::Big(digits) => {
            owned.push(digits);
            Item::BigInt(owned.len() - 1)
        }
    }
}
