//! Machine items → [`Value`]s, and Python's `str()`/`repr()` of items for
//! messages and dict keys that are not strings.
//!
//! Conversion is where shared references multiply, so every value written
//! spends the decode's [`Budget`], nesting is bounded, and a container that
//! contains itself is written as Python writes it (`[...]`).

use super::PickleError;
use super::budget::Budget;
use super::item::{Container, Item, Kind, owned_str};
use super::text::push_hex_escape;
use crate::{Fields, Value};
use compact_str::CompactString;

/// Python `str()` of a dict with more keys than this is fine, but building
/// [`Fields`] costs O(n²) in the number of keys (it keeps insertion order
/// with unique keys), so larger dicts are refused rather than stalling the
/// listener.
pub(crate) const MAX_DICT_KEYS: usize = 10_000;

const VALUE_COST: usize = std::mem::size_of::<Value>();

/// Converts items of one parsed pickle.
pub(crate) struct Converter<'p, 'a> {
    pub(crate) arena: &'p [Container<'a>],
    pub(crate) owned: &'p [Box<str>],
    pub(crate) budget: &'p mut Budget,
    pub(crate) max_depth: usize,
}

impl<'a> Converter<'_, 'a> {
    /// The [`Value`] of an item: tuples and sets become lists, bytes become
    /// text (`\xNN` for bytes that are not UTF-8), dict keys become strings.
    pub(crate) fn value(&mut self, item: &Item<'a>, depth: usize) -> Result<Value, PickleError> {
        self.budget.spend(VALUE_COST)?;
        Ok(match item {
            Item::None => Value::Null,
            Item::Bool(b) => Value::Bool(*b),
            Item::Int(i) => Value::Int(*i),
            Item::BigInt(i) => {
                let digits = owned_str(self.owned, *i);
                self.budget.spend(digits.len())?;
                Value::BigInt(Box::from(digits))
            }
            Item::Float(x) => Value::Float(*x),
            Item::Text(b) => {
                self.budget.spend(b.len())?;
                Value::Str(match crate::utf8::from_utf8(b) {
                    Ok(s) => CompactString::new(s),
                    Err(_) => String::from_utf8_lossy(b).into(),
                })
            }
            Item::Owned(i) | Item::Opaque(i) => self.string(owned_str(self.owned, *i))?,
            Item::Bytes(b) => {
                self.budget.spend(b.len())?;
                Value::Str(super::text::backslash_replace(b).into())
            }
            Item::Container(i) => self.container(*i, depth)?,
        })
    }

    /// An owned copy of a string, paid for.
    pub(crate) fn string(&mut self, s: &str) -> Result<Value, PickleError> {
        self.budget.spend(s.len())?;
        Ok(Value::Str(CompactString::new(s)))
    }

    fn container(&mut self, index: usize, depth: usize) -> Result<Value, PickleError> {
        let arena = self.arena;
        let Some(c) = arena.get(index) else {
            return Ok(Value::Null);
        };
        if depth >= self.max_depth {
            return Err(PickleError::TooDeep {
                limit: self.max_depth,
            });
        }
        if c.visiting.get() {
            return Ok(Value::Str(CompactString::new(recursion_marker(c.kind))));
        }
        c.visiting.set(true);
        let result = self.container_items(c, depth);
        c.visiting.set(false);
        result
    }

    fn container_items(&mut self, c: &Container<'a>, depth: usize) -> Result<Value, PickleError> {
        if c.kind == Kind::Dict {
            let pairs = c.items.len() / 2;
            if pairs > MAX_DICT_KEYS {
                return Err(PickleError::TooLarge {
                    limit: MAX_DICT_KEYS,
                });
            }
            let mut fields = Fields::with_capacity(pairs.min(64));
            for pair in c.items.chunks_exact(2) {
                let key = self.key(&pair[0], depth + 1)?;
                let value = self.value(&pair[1], depth + 1)?;
                fields.insert(key, value);
            }
            Ok(Value::Map(fields))
        } else {
            let mut list = Vec::with_capacity(c.items.len().min(64));
            for item in &c.items {
                list.push(self.value(item, depth + 1)?);
            }
            Ok(Value::List(list))
        }
    }

    /// A dict key as a field name: strings as they are, anything else as
    /// Python's `str()` of it.
    pub(crate) fn key(&mut self, item: &Item<'a>, depth: usize) -> Result<String, PickleError> {
        match item.text(self.owned) {
            Some(s) => {
                self.budget.spend(s.len())?;
                Ok(s.into_owned())
            }
            None => {
                let mut out = String::new();
                self.py_str(item, &mut out, depth)?;
                Ok(out)
            }
        }
    }

    /// Python's `str()`: strings as they are, everything else as `repr()`.
    pub(crate) fn py_str(
        &mut self,
        item: &Item<'a>,
        out: &mut String,
        depth: usize,
    ) -> Result<(), PickleError> {
        let owned = self.owned;
        match item.text(owned) {
            Some(s) => self.put(out, &s),
            None => self.py_repr(item, out, depth),
        }
    }

    /// Python's `repr()`, as far as plain data goes.
    fn py_repr(
        &mut self,
        item: &Item<'a>,
        out: &mut String,
        depth: usize,
    ) -> Result<(), PickleError> {
        match item {
            Item::None => self.put(out, "None"),
            Item::Bool(true) => self.put(out, "True"),
            Item::Bool(false) => self.put(out, "False"),
            Item::Int(i) => self.put(out, itoa::Buffer::new().format(*i)),
            Item::BigInt(i) | Item::Opaque(i) => self.put(out, owned_str(self.owned, *i)),
            Item::Float(x) => self.put(out, &crate::pyfmt::float_repr(*x)),
            Item::Text(_) | Item::Owned(_) => {
                let owned = self.owned;
                let text = item.text(owned).unwrap_or_default();
                self.quoted(out, &text)
            }
            Item::Bytes(b) => {
                self.budget.spend(b.len() + 3)?;
                bytes_repr(b, out);
                Ok(())
            }
            Item::Container(i) => self.container_repr(*i, out, depth),
        }
    }

    fn container_repr(
        &mut self,
        index: usize,
        out: &mut String,
        depth: usize,
    ) -> Result<(), PickleError> {
        let arena = self.arena;
        let Some(c) = arena.get(index) else {
            return self.put(out, "None");
        };
        if depth >= self.max_depth {
            return Err(PickleError::TooDeep {
                limit: self.max_depth,
            });
        }
        if c.visiting.get() {
            return self.put(out, recursion_marker(c.kind));
        }
        c.visiting.set(true);
        let result = self.container_repr_items(c, out, depth);
        c.visiting.set(false);
        result
    }

    fn container_repr_items(
        &mut self,
        c: &Container<'a>,
        out: &mut String,
        depth: usize,
    ) -> Result<(), PickleError> {
        let (open, close) = match (c.kind, c.items.is_empty()) {
            (Kind::List, _) => ("[", "]"),
            (Kind::Tuple, _) => ("(", ")"),
            (Kind::Dict, _) | (Kind::Set, false) => ("{", "}"),
            (Kind::Set, true) => return self.put(out, "set()"),
            (Kind::FrozenSet, true) => return self.put(out, "frozenset()"),
            (Kind::FrozenSet, false) => ("frozenset({", "})"),
        };
        self.put(out, open)?;
        if c.kind == Kind::Dict {
            for (n, pair) in c.items.chunks_exact(2).enumerate() {
                if n > 0 {
                    self.put(out, ", ")?;
                }
                self.py_repr(&pair[0], out, depth + 1)?;
                self.put(out, ": ")?;
                self.py_repr(&pair[1], out, depth + 1)?;
            }
        } else {
            for (n, item) in c.items.iter().enumerate() {
                if n > 0 {
                    self.put(out, ", ")?;
                }
                self.py_repr(item, out, depth + 1)?;
            }
            if c.kind == Kind::Tuple && c.items.len() == 1 {
                self.put(out, ",")?;
            }
        }
        self.put(out, close)
    }

    fn put(&mut self, out: &mut String, s: &str) -> Result<(), PickleError> {
        self.budget.spend(s.len())?;
        out.push_str(s);
        Ok(())
    }

    fn quoted(&mut self, out: &mut String, s: &str) -> Result<(), PickleError> {
        // An escaped character takes at most 10 bytes (`\U0001f600`).
        self.budget.spend(s.len() + 2)?;
        let before = out.len();
        str_repr(s, out);
        self.budget
            .spend((out.len() - before).saturating_sub(s.len() + 2))
    }
}

fn recursion_marker(kind: Kind) -> &'static str {
    match kind {
        Kind::List => "[...]",
        Kind::Tuple => "(...)",
        Kind::Dict | Kind::Set => "{...}",
        Kind::FrozenSet => "frozenset(...)",
    }
}

/// The quote Python's `repr` picks: `'` unless the text has `'` and no `"`.
fn quote_for(has_single: bool, has_double: bool) -> char {
    if has_single && !has_double { '"' } else { '\'' }
}

/// Python's `repr(str)`.
fn str_repr(s: &str, out: &mut String) {
    let quote = quote_for(s.contains('\''), s.contains('"'));
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => {
                let v = u32::from(c);
                match v {
                    0..=0xff => push_hex_escape(out, 'x', v, 2),
                    0x100..=0xffff => push_hex_escape(out, 'u', v, 4),
                    _ => push_hex_escape(out, 'U', v, 8),
                }
            }
        }
    }
    out.push(quote);
}

/// Python's `str.isprintable()` for one character, approximated: control,
/// separator (other than the ASCII space), format and private-use
/// characters are escaped.
fn is_printable(c: char) -> bool {
    !(c.is_control()
        || matches!(
            c,
            '\u{a0}'
                | '\u{ad}'
                | '\u{1680}'
                | '\u{2000}'..='\u{200f}'
                | '\u{2028}'..='\u{202f}'
                | '\u{205f}'..='\u{206f}'
                | '\u{3000}'
                | '\u{e000}'..='\u{f8ff}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..
        ))
}

/// Python's `repr(bytes)`: `b'...'` with `\xNN` for non-printable bytes.
fn bytes_repr(b: &[u8], out: &mut String) {
    let quote = quote_for(b.contains(&b'\''), b.contains(&b'"'));
    out.push('b');
    out.push(quote);
    for &byte in b {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ if char::from(byte) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(char::from(byte)),
            _ => push_hex_escape(out, 'x', u32::from(byte), 2),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reprs_match_python() {
        let r = |s: &str| {
            let mut out = String::new();
            str_repr(s, &mut out);
            out
        };
        assert_eq!(r("abc"), "'abc'");
        assert_eq!(r("it's"), "\"it's\"");
        assert_eq!(r("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(r("tab\there\n\\"), "'tab\\there\\n\\\\'");
        assert_eq!(
            r("é😀\u{0}\u{7f}\u{a0}\u{200b}"),
            "'é😀\\x00\\x7f\\xa0\\u200b'"
        );
        let b = |x: &[u8]| {
            let mut out = String::new();
            bytes_repr(x, &mut out);
            out
        };
        assert_eq!(b(b"ab\x00\xff'"), "b\"ab\\x00\\xff'\"");
        assert_eq!(b(b""), "b''");
    }
}
