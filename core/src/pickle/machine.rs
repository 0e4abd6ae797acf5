//! The pickle machine: a stack machine over a byte cursor that runs the data
//! opcodes of protocols 0-5 and never the code-executing ones.
//!
//! Follows CPython's `Lib/pickle.py` `_Unpickler` semantics
//! (<https://github.com/python/cpython/blob/v3.13.0/Lib/pickle.py>): MARK
//! fences the stack, so no opcode can pop below the last mark.

use std::borrow::Cow;
use std::collections::HashMap;

use super::PickleError;
use super::budget::Budget;
use super::item::{Container, Item, Kind};
use super::opcodes::*;
use super::scratch::{self, Scratch};
use super::text::{self, Int, IntError};

/// A finished run: the value STOP returned and the containers it refers to.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    pub(crate) root: Item<'a>,
    pub(crate) arena: Vec<Container<'a>>,
    /// Text the machine had to decode, referred to by index from items.
    pub(crate) owned: Vec<Box<str>>,
}

/// Runs the pickle in `input`. In `lenient` mode, code-executing opcodes
/// push or keep an opaque marker instead of failing; nothing is executed
/// in either mode. The machine works in `scratch`'s vectors and gives its
/// stack, memo and metastack back (the arena goes with [`Parsed`]).
pub(crate) fn run<'a>(
    input: &'a [u8],
    lenient: bool,
    budget: &mut Budget,
    scratch: &mut Scratch,
) -> Result<Parsed<'a>, PickleError> {
    let mut stack = scratch::relabel(std::mem::take(&mut scratch.stack));
    stack.reserve(8);
    let mut m = Machine {
        input,
        pos: 0,
        op: 0,
        at: 0,
        stack,
        metastack: scratch::relabel_stacks(std::mem::take(&mut scratch.metastack)),
        first_mark: scratch::relabel(std::mem::take(&mut scratch.first_mark)),
        memo: Memo::new(
            input.len(),
            scratch::relabel_memo(std::mem::take(&mut scratch.memo)),
        ),
        arena: scratch::relabel_containers(std::mem::take(&mut scratch.arena)),
        owned: Vec::new(),
        lenient,
        budget,
    };
    let root = m.run();
    scratch.stack = scratch::relabel(m.stack);
    scratch.metastack = scratch::relabel_stacks(m.metastack);
    scratch.memo = scratch::relabel_memo(m.memo.dense);
    if scratch.first_mark.capacity() < m.first_mark.capacity() {
        scratch.first_mark = scratch::relabel(m.first_mark);
    }
    Ok(Parsed {
        root: root?,
        arena: m.arena,
        owned: m.owned,
    })
}

/// Memo slots: a dense vector for the sequential ids picklers use, a map
/// for ids too large to index without trusting them for allocation.
#[derive(Debug)]
struct Memo<'a> {
    dense: Vec<Option<Item<'a>>>,
    sparse: HashMap<u64, Item<'a>>,
    dense_limit: u64,
    /// Number of distinct ids stored: MEMOIZE's next id.
    len: u64,
}

impl<'a> Memo<'a> {
    /// A memo for a payload of `input_len` bytes, in `dense`'s room.
    fn new(input_len: usize, mut dense: Vec<Option<Item<'a>>>) -> Memo<'a> {
        dense.reserve((input_len / 16).min(1024));
        Memo {
            dense,
            sparse: HashMap::new(),
            // Every memo store takes at least two payload bytes, so a
            // sequential pickler never needs more dense slots than this.
            dense_limit: (input_len / 2 + 1) as u64,
            len: 0,
        }
    }

    #[inline]
    fn put(&mut self, id: u64, item: Item<'a>) {
        if id == self.dense.len() as u64 && id < self.dense_limit {
            // The common case: picklers number memo entries 0, 1, 2, ...
            self.dense.push(Some(item));
            self.len += 1;
        } else {
            self.put_anywhere(id, item);
        }
    }

    #[cold]
    fn put_anywhere(&mut self, id: u64, item: Item<'a>) {
        let fresh = if id < self.dense_limit {
            let at = id as usize;
            if at >= self.dense.len() {
                self.dense.resize(at + 1, None);
            }
            self.dense[at].replace(item).is_none()
        } else {
            self.sparse.insert(id, item).is_none()
        };
        if fresh {
            self.len += 1;
        }
    }

    fn get(&self, id: u64) -> Option<&Item<'a>> {
        if id < self.dense_limit {
            self.dense.get(id as usize)?.as_ref()
        } else {
            self.sparse.get(&id)
        }
    }
}

struct Machine<'a, 'b> {
    input: &'a [u8],
    pos: usize,
    /// The opcode being run and its offset, for errors.
    op: u8,
    at: usize,
    stack: Vec<Item<'a>>,
    /// The stacks below each open MARK, as in Python's `metastack`: the
    /// current stack holds only what was pushed since the last MARK, so a
    /// SETITEMS can hand it to its dict whole, without copying.
    metastack: Vec<Vec<Item<'a>>>,
    /// Room kept from an earlier decode, for the first MARK.
    first_mark: Vec<Item<'a>>,
    memo: Memo<'a>,
    arena: Vec<Container<'a>>,
    owned: Vec<Box<str>>,
    lenient: bool,
    budget: &'b mut Budget,
}

impl<'a> Machine<'a, '_> {
    fn run(&mut self) -> Result<Item<'a>, PickleError> {
        loop {
            let Some(&op) = self.input.get(self.pos) else {
                return Err(PickleError::MissingStop {
                    len: self.input.len(),
                });
            };
            self.op = op;
            self.at = self.pos;
            self.pos += 1;
            match op {
                STOP => {
                    let root = self.pop()?;
                    let count = self.input.len() - self.pos;
                    if count > 0 {
                        return Err(PickleError::TrailingBytes {
                            offset: self.at,
                            count,
                        });
                    }
                    return Ok(root);
                }
                // Strings and bytes.
                BINUNICODE => {
                    let n = self.u32()?;
                    let b = self.take(u64::from(n))?;
                    self.push_text(b);
                    self.memoize_next(Item::Text(b));
                }
                SHORT_BINUNICODE => {
                    let n = self.u8()?;
                    let b = self.take(u64::from(n))?;
                    self.push_text(b);
                    self.memoize_next(Item::Text(b));
                }
                BINUNICODE8 => {
                    let n = self.u64()?;
                    let b = self.take(n)?;
                    self.push_text(b);
                }
                SHORT_BINSTRING => {
                    let n = self.u8()?;
                    let b = self.take(u64::from(n))?;
                    self.push_py2_str(b);
                }
                BINSTRING => {
                    let n = self.i32()?;
                    let n = u64::try_from(n)
                        .map_err(|_| self.invalid("BINSTRING has a negative length"))?;
                    let b = self.take(n)?;
                    self.push_py2_str(b);
                }
                STRING => {
                    let line = self.line()?;
                    let body = text::unquote(line)
                        .ok_or_else(|| self.invalid("STRING argument must be quoted"))?;
                    let bytes = text::escape_decode(body)
                        .ok_or_else(|| self.invalid("STRING has a broken escape"))?;
                    let item = match bytes {
                        Cow::Borrowed(b) => self.py2_str(b),
                        Cow::Owned(v) => self.own(text::backslash_replace(&v).into_owned()),
                    };
                    self.stack.push(item);
                }
                UNICODE => {
                    let line = self.line()?;
                    let s = text::raw_unicode_escape(line)
                        .ok_or_else(|| self.invalid("UNICODE has a truncated \\u escape"))?;
                    let item = match s {
                        Cow::Borrowed(s) => Item::Text(s.as_bytes()),
                        Cow::Owned(s) => self.own(s),
                    };
                    self.stack.push(item);
                }
                SHORT_BINBYTES => {
                    let n = self.u8()?;
                    let b = self.take(u64::from(n))?;
                    self.stack.push(Item::Bytes(b));
                }
                BINBYTES => {
                    let n = self.u32()?;
                    let b = self.take(u64::from(n))?;
                    self.stack.push(Item::Bytes(b));
                }
                BINBYTES8 | BYTEARRAY8 => {
                    let n = self.u64()?;
                    let b = self.take(n)?;
                    self.stack.push(Item::Bytes(b));
                }
                // Numbers and constants.
                BININT1 => {
                    let v = self.u8()?;
                    self.stack.push(Item::Int(i64::from(v)));
                }
                BININT2 => {
                    let v = u16::from_le_bytes(self.array()?);
                    self.stack.push(Item::Int(i64::from(v)));
                }
                BININT => {
                    let v = self.i32()?;
                    self.stack.push(Item::Int(i64::from(v)));
                }
                INT => {
                    let line = self.line()?;
                    let item = match line {
                        b"00" => Item::Bool(false),
                        b"01" => Item::Bool(true),
                        digits => self.int_item(text::parse_decimal(digits))?,
                    };
                    self.stack.push(item);
                }
                LONG => {
                    let line = self.line()?;
                    let digits = line.strip_suffix(b"L").unwrap_or(line);
                    let item = self.int_item(text::parse_decimal(digits))?;
                    self.stack.push(item);
                }
                LONG1 => {
                    let n = self.u8()?;
                    let b = self.take(u64::from(n))?;
                    let item = self.int_item(text::long_from_le_bytes(b))?;
                    self.stack.push(item);
                }
                LONG4 => {
                    let n = self.i32()?;
                    let n = u64::try_from(n)
                        .map_err(|_| self.invalid("LONG4 has a negative length"))?;
                    let b = self.take(n)?;
                    let item = self.int_item(text::long_from_le_bytes(b))?;
                    self.stack.push(item);
                }
                BINFLOAT => {
                    let v = f64::from_be_bytes(self.array()?);
                    self.stack.push(Item::Float(v));
                }
                FLOAT => {
                    let line = self.line()?;
                    let v = std::str::from_utf8(line)
                        .ok()
                        .and_then(|s| s.trim_ascii().parse::<f64>().ok())
                        .ok_or_else(|| self.invalid("FLOAT argument is not a number"))?;
                    self.stack.push(Item::Float(v));
                }
                NONE => self.stack.push(Item::None),
                NEWTRUE => self.stack.push(Item::Bool(true)),
                NEWFALSE => self.stack.push(Item::Bool(false)),
                // Containers.
                EMPTY_DICT => self.push_container(Kind::Dict, Vec::new())?,
                EMPTY_LIST => self.push_container(Kind::List, Vec::new())?,
                EMPTY_TUPLE => self.push_container(Kind::Tuple, Vec::new())?,
                EMPTY_SET => self.push_container(Kind::Set, Vec::new())?,
                TUPLE1 | TUPLE2 | TUPLE3 => {
                    let n = usize::from(op - TUPLE1 + 1);
                    let items = self.pop_n(n)?;
                    self.push_container(Kind::Tuple, items)?;
                }
                TUPLE => {
                    let items = self.pop_to_mark()?;
                    self.push_container(Kind::Tuple, items)?;
                }
                LIST => {
                    let items = self.pop_to_mark()?;
                    self.push_container(Kind::List, items)?;
                }
                FROZENSET => {
                    let items = self.pop_to_mark()?;
                    self.push_container(Kind::FrozenSet, items)?;
                }
                DICT => {
                    let items = self.pop_to_mark()?;
                    if items.len() % 2 != 0 {
                        return Err(self.invalid("DICT needs key/value pairs"));
                    }
                    self.push_container(Kind::Dict, items)?;
                }
                APPEND => {
                    let v = self.pop()?;
                    self.extend_top(Kind::List, std::iter::once(v))?;
                }
                APPENDS => self.extend_from_mark(Kind::List)?,
                SETITEM => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.extend_top(Kind::Dict, [k, v])?;
                }
                SETITEMS => self.extend_from_mark(Kind::Dict)?,
                ADDITEMS => self.extend_from_mark(Kind::Set)?,
                // Stack and memo.
                MARK => {
                    // The first MARK usually collects a whole LogRecord
                    // dict: size it once. Deeper ones start empty, so a run
                    // of MARKs costs no allocation.
                    let segment = if self.metastack.is_empty() {
                        let room = ((self.input.len() - self.pos) / 8).clamp(4, 256);
                        let mut kept = std::mem::take(&mut self.first_mark);
                        kept.reserve(room);
                        kept
                    } else {
                        Vec::new()
                    };
                    let below = std::mem::replace(&mut self.stack, segment);
                    self.metastack.push(below);
                }
                POP => {
                    if self.stack.pop().is_none() {
                        // Python's load_pop: an empty segment drops its MARK.
                        self.stack = self.metastack.pop().ok_or_else(|| self.underflow())?;
                    }
                }
                POP_MARK => {
                    self.pop_to_mark()?;
                }
                DUP => {
                    let top = *self.top()?;
                    self.stack.push(top);
                }
                BINPUT => {
                    let id = self.u8()?;
                    self.put(u64::from(id))?;
                }
                LONG_BINPUT => {
                    let id = self.u32()?;
                    self.put(u64::from(id))?;
                }
                PUT => {
                    let id = self.line_id()?;
                    self.put(id)?;
                }
                MEMOIZE => {
                    let id = self.memo.len;
                    self.put(id)?;
                }
                BINGET => {
                    let id = self.u8()?;
                    self.get(u64::from(id))?;
                }
                LONG_BINGET => {
                    let id = self.u32()?;
                    self.get(u64::from(id))?;
                }
                GET => {
                    let id = self.line_id()?;
                    self.get(id)?;
                }
                // Framing hints.
                PROTO => {
                    let v = self.u8()?;
                    if v > HIGHEST_PROTOCOL {
                        return Err(self.invalid("unsupported pickle protocol (newer than 5)"));
                    }
                }
                FRAME => {
                    let n = self.u64()?;
                    if n > (self.input.len() - self.pos) as u64 {
                        return Err(self.truncated());
                    }
                }
                READONLY_BUFFER => {
                    self.top()?;
                }
                // Code-executing opcodes.
                GLOBAL | INST => {
                    let module = self.line()?;
                    let name = self.line()?;
                    let target = format!(
                        "{}.{}",
                        text::backslash_replace(module),
                        text::backslash_replace(name)
                    );
                    let target = self.refuse(Some(target))?;
                    if op == INST {
                        self.pop_to_mark()?;
                    }
                    self.push_opaque(&target);
                }
                STACK_GLOBAL => {
                    let names = self.pop_n(2)?;
                    let target = match (names[0].text(&self.owned), names[1].text(&self.owned)) {
                        (Some(m), Some(n)) => Some(format!("{m}.{n}")),
                        _ => None,
                    };
                    if target.is_none() && self.lenient {
                        return Err(self.invalid("STACK_GLOBAL needs a module and a name"));
                    }
                    let target = self.refuse(target)?;
                    self.push_opaque(&target);
                }
                REDUCE | NEWOBJ => {
                    self.refuse(None)?;
                    self.pop()?;
                    self.keep_object()?;
                }
                NEWOBJ_EX => {
                    self.refuse(None)?;
                    self.pop_n(2)?;
                    self.keep_object()?;
                }
                BUILD => {
                    self.refuse(None)?;
                    self.pop()?;
                    self.keep_object()?;
                }
                OBJ => {
                    self.refuse(None)?;
                    let items = self.pop_to_mark()?;
                    let class = items.into_iter().next().ok_or_else(|| self.underflow())?;
                    self.stack.push(class);
                    self.keep_object()?;
                }
                EXT1 | EXT2 | EXT4 => {
                    let code = match op {
                        EXT1 => u32::from(self.u8()?),
                        EXT2 => u32::from(u16::from_le_bytes(self.array()?)),
                        _ => self.u32()?,
                    };
                    self.refuse(Some(format!("copyreg extension {code}")))?;
                    let marker = self.own(format!("<pickled extension {code}>"));
                    self.stack.push(opaque(marker));
                }
                PERSID => {
                    let id = self.line()?;
                    let id = self.refuse(Some(format!(
                        "persistent id {}",
                        text::backslash_replace(id)
                    )))?;
                    let marker = self.own(format!("<pickled {id}>"));
                    self.stack.push(opaque(marker));
                }
                BINPERSID => {
                    self.refuse(None)?;
                    self.pop()?;
                    let marker = self.own("<pickled persistent object>".to_owned());
                    self.stack.push(opaque(marker));
                }
                _ => {
                    return Err(PickleError::UnknownOpcode {
                        opcode: op,
                        offset: self.at,
                    });
                }
            }
        }
    }

    // ---- cursor ----

    #[inline]
    fn take(&mut self, n: u64) -> Result<&'a [u8], PickleError> {
        let left = self.input.len() - self.pos;
        if n > left as u64 {
            return Err(self.truncated());
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.input[start..self.pos])
    }

    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], PickleError> {
        let b = self.take(N as u64)?;
        let mut out = [0; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    #[inline]
    fn u8(&mut self) -> Result<u8, PickleError> {
        let [b] = self.array()?;
        Ok(b)
    }

    #[inline]
    fn u32(&mut self) -> Result<u32, PickleError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    #[inline]
    fn i32(&mut self) -> Result<i32, PickleError> {
        Ok(i32::from_le_bytes(self.array()?))
    }

    #[inline]
    fn u64(&mut self) -> Result<u64, PickleError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// The bytes up to the next newline (consumed, not returned).
    fn line(&mut self) -> Result<&'a [u8], PickleError> {
        let rest = &self.input[self.pos..];
        let n = memchr::memchr(b'\n', rest).ok_or_else(|| self.truncated())?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    /// A decimal memo id on its own line (PUT, GET).
    fn line_id(&mut self) -> Result<u64, PickleError> {
        let line = self.line()?;
        match text::parse_decimal(line) {
            Ok(Int::Small(id)) if id >= 0 => Ok(id as u64),
            _ => Err(self.invalid("memo id is not a non-negative integer")),
        }
    }

    // ---- errors ----

    fn truncated(&self) -> PickleError {
        PickleError::Truncated {
            opcode: self.op,
            offset: self.at,
        }
    }

    fn underflow(&self) -> PickleError {
        PickleError::StackUnderflow {
            opcode: self.op,
            offset: self.at,
        }
    }

    fn invalid(&self, what: &'static str) -> PickleError {
        PickleError::Invalid {
            offset: self.at,
            what,
        }
    }

    /// Fails with [`PickleError::Forbidden`] unless lenient; returns the
    /// target's name for the opaque marker.
    fn refuse(&self, target: Option<String>) -> Result<String, PickleError> {
        if self.lenient {
            Ok(target.unwrap_or_default())
        } else {
            Err(PickleError::Forbidden {
                opcode: self.op,
                offset: self.at,
                target,
            })
        }
    }

    // ---- stack ----

    #[inline]
    fn pop(&mut self) -> Result<Item<'a>, PickleError> {
        self.stack.pop().ok_or_else(|| self.underflow())
    }

    fn pop_n(&mut self, n: usize) -> Result<Vec<Item<'a>>, PickleError> {
        let at = self
            .stack
            .len()
            .checked_sub(n)
            .ok_or_else(|| self.underflow())?;
        Ok(self.stack.split_off(at))
    }

    #[inline]
    fn top(&self) -> Result<&Item<'a>, PickleError> {
        self.stack.last().ok_or_else(|| self.underflow())
    }

    /// Closes the last MARK: returns what was pushed since, and makes the
    /// stack below it current again.
    fn pop_to_mark(&mut self) -> Result<Vec<Item<'a>>, PickleError> {
        let below = self.metastack.pop().ok_or(PickleError::MarkNotFound {
            opcode: self.op,
            offset: self.at,
        })?;
        let mut items = std::mem::replace(&mut self.stack, below);
        // The segment may become a container: don't let a MARK's
        // preallocation outlive it (`(t(t(t...` would keep each one).
        if items.capacity() > 2 * items.len() + 8 {
            items.shrink_to_fit();
        }
        Ok(items)
    }

    /// Runs a BINPUT or MEMOIZE that directly follows a string, as pickle
    /// writes after every string, without a trip through the dispatch loop
    /// (a third of a LogRecord's opcodes).
    #[inline]
    fn memoize_next(&mut self, top: Item<'a>) {
        match self.input[self.pos..] {
            [BINPUT, id, ..] => {
                self.memo.put(u64::from(id), top);
                self.pos += 2;
            }
            [MEMOIZE, ..] => {
                self.memo.put(self.memo.len, top);
                self.pos += 1;
            }
            _ => {}
        }
    }

    /// BINUNICODE and friends: kept as bytes, validated when used (invalid
    /// UTF-8 from hostile peers or `surrogatepass` becomes U+FFFD then).
    #[inline]
    fn push_text(&mut self, bytes: &'a [u8]) {
        self.stack.push(Item::Text(bytes));
    }

    fn push_py2_str(&mut self, bytes: &'a [u8]) {
        let item = self.py2_str(bytes);
        self.stack.push(item);
    }

    /// A Python 2 `str` (bytes that are usually text): UTF-8 when valid,
    /// else escaped so nothing is lost.
    fn py2_str(&mut self, bytes: &'a [u8]) -> Item<'a> {
        match text::backslash_replace(bytes) {
            Cow::Borrowed(_) => Item::Text(bytes),
            Cow::Owned(s) => self.own(s),
        }
    }

    /// Stores decoded text and returns it as an [`Item::Owned`].
    fn own(&mut self, s: String) -> Item<'a> {
        self.owned.push(s.into_boxed_str());
        Item::Owned(self.owned.len() - 1)
    }

    fn int_item(&mut self, parsed: Result<Int, IntError>) -> Result<Item<'a>, PickleError> {
        match parsed {
            Ok(Int::Small(v)) => Ok(Item::Int(v)),
            Ok(Int::Big(digits)) => {
                self.owned.push(digits);
                Ok(Item::BigInt(self.owned.len() - 1))
            }
            Err(IntError::Malformed) => {
                Err(self.invalid("integer argument is not a decimal number"))
            }
            Err(IntError::TooLarge) => Err(PickleError::IntegerTooLarge {
                offset: self.at,
                limit: text::MAX_INT_DIGITS,
            }),
        }
    }

    fn push_container(&mut self, kind: Kind, items: Vec<Item<'a>>) -> Result<(), PickleError> {
        self.budget.spend(std::mem::size_of::<Container<'_>>())?;
        self.arena.push(Container::new(kind, items));
        self.stack.push(Item::Container(self.arena.len() - 1));
        Ok(())
    }

    fn push_opaque(&mut self, target: &str) {
        let marker = self.own(format!("<pickled object {target}>"));
        self.stack.push(opaque(marker));
    }

    /// Adds items to the container on top of the stack, which must be of
    /// `kind`. In lenient mode, items added to an opaque object are dropped.
    fn extend_top(
        &mut self,
        kind: Kind,
        items: impl IntoIterator<Item = Item<'a>>,
    ) -> Result<(), PickleError> {
        let (op, at) = (self.op, self.at);
        let target = match self.top()? {
            Item::Container(i) => Some(*i),
            Item::Opaque(_) if self.lenient => None,
            _ => return Err(wrong_target(op, at)),
        };
        match target {
            Some(i) => match self.arena.get_mut(i) {
                Some(c) if c.kind == kind => {
                    c.items.extend(items);
                    Ok(())
                }
                _ => Err(wrong_target(op, at)),
            },
            None => Ok(()),
        }
    }

    /// Moves the items above the last MARK into the container just below
    /// it (APPENDS, SETITEMS, ADDITEMS); an empty container takes the
    /// segment's vector as its own.
    fn extend_from_mark(&mut self, kind: Kind) -> Result<(), PickleError> {
        let (op, offset) = (self.op, self.at);
        let items = self.pop_to_mark()?;
        if kind == Kind::Dict && items.len() % 2 != 0 {
            return Err(self.invalid("SETITEMS needs key/value pairs"));
        }
        match self.stack.last() {
            None => Err(self.underflow()),
            Some(Item::Container(i)) => match self.arena.get_mut(*i) {
                Some(c) if c.kind == kind => {
                    if c.items.is_empty() {
                        c.items = items;
                    } else {
                        c.items.extend(items);
                    }
                    Ok(())
                }
                _ => Err(wrong_target(op, offset)),
            },
            Some(Item::Opaque(_)) if self.lenient => Ok(()),
            Some(_) => Err(wrong_target(op, offset)),
        }
    }

    /// After REDUCE, NEWOBJ, BUILD or OBJ consumed their arguments, checks
    /// that the object they act on is an opaque marker and leaves it there.
    fn keep_object(&mut self) -> Result<(), PickleError> {
        match self.top()? {
            Item::Opaque(_) => Ok(()),
            _ => Err(self.invalid("object opcode applied to plain data")),
        }
    }

    #[inline]
    fn put(&mut self, id: u64) -> Result<(), PickleError> {
        let top = *self.top()?;
        self.memo.put(id, top);
        Ok(())
    }

    fn get(&mut self, id: u64) -> Result<(), PickleError> {
        let item = *self.memo.get(id).ok_or(PickleError::MemoMiss {
            id,
            offset: self.at,
        })?;
        self.stack.push(item);
        Ok(())
    }
}

/// Turns an [`Item::Owned`] marker text into an [`Item::Opaque`].
fn opaque(marker: Item<'_>) -> Item<'_> {
    match marker {
        Item::Owned(i) => Item::Opaque(i),
        other => other,
    }
}

fn wrong_target(op: u8, offset: usize) -> PickleError {
    PickleError::Invalid {
        offset,
        what: match op {
            APPEND | APPENDS => "APPEND(S) onto a value that is not a list",
            SETITEM | SETITEMS => "SETITEM(S) onto a value that is not a dict",
            _ => "ADDITEMS onto a value that is not a set",
        },
    }
}
