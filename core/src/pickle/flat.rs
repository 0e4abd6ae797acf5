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
/// STOP` into `items`, or `None`.
fn read<'a>(input: &'a [u8], items: &mut Vec<Item<'a>>, owned: &mut Vec<Box<str>>) -> Option<()> {
    let mut c = Cursor { input, pos: 0 };
    if c.peek() == Some(PROTO) {
        c.pos += 1;
        if c.u8()? > HIGHEST_PROTOCOL {
            return None;
        }
    }
    if c.peek() == Some(FRAME) {
        c.pos += 1;
        let n = u64::from_le_bytes(c.array()?);
        if n > (input.len() - c.pos) as u64 {
            return None;
        }
    }
    if c.u8()? != EMPTY_DICT {
        return None;
    }
    c.skip_memo()?;
    if c.u8()? != MARK {
        return None;
    }
    loop {
        let item = match c.u8()? {
            SETITEMS => break,
            BINUNICODE => {
                let n = u32::from_le_bytes(c.array()?);
                Item::Text(c.take(n as usize)?)
            }
            SHORT_BINUNICODE => {
                let n = c.u8()?;
                Item::Text(c.take(usize::from(n))?)
            }
            NONE => Item::None,
            NEWTRUE => Item::Bool(true),
            NEWFALSE => Item::Bool(false),
            BININT1 => Item::Int(i64::from(c.u8()?)),
            BININT2 => Item::Int(i64::from(u16::from_le_bytes(c.array()?))),
            BININT => Item::Int(i64::from(i32::from_le_bytes(c.array()?))),
            BINFLOAT => Item::Float(f64::from_be_bytes(c.array()?)),
            INT => match c.line()? {
                b"00" => Item::Bool(false),
                b"01" => Item::Bool(true),
                digits => int(text::parse_decimal(digits).ok()?, owned),
            },
            LONG => {
                let line = c.line()?;
                let digits = line.strip_suffix(b"L").unwrap_or(line);
                int(text::parse_decimal(digits).ok()?, owned)
            }
            LONG1 => {
                let n = c.u8()?;
                int(
                    text::long_from_le_bytes(c.take(usize::from(n))?).ok()?,
                    owned,
                )
            }
            _ => return None,
        };
        items.push(item);
        c.skip_memo()?;
    }
    if items.len() % 2 != 0 || c.u8()? != STOP || c.pos != input.len() {
        return None;
    }
    Some(())
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

struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.input.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(b)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    /// The bytes up to the next newline, which is consumed.
    fn line(&mut self) -> Option<&'a [u8]> {
        let rest = &self.input[self.pos..];
        let n = memchr::memchr(b'\n', rest)?;
        self.pos += n + 1;
        Some(&rest[..n])
    }

    /// Memo stores of the item just read: skipped, as nothing reads them
    /// unless a GET follows, which is declined.
    fn skip_memo(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(BINPUT) => self.pos += 2,
                Some(LONG_BINPUT) => self.pos += 5,
                Some(MEMOIZE) => self.pos += 1,
                _ => return (self.pos <= self.input.len()).then_some(()),
            }
        }
    }
}
