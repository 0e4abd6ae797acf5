//! The values the pickle machine works with before they become [`Value`]s.
//!
//! Items borrow strings from the payload and refer to containers by index,
//! so copying one (memo GET, DUP) costs no allocation, and a container
//! stored in the memo and filled afterwards is seen filled, as in Python.
//!
//! [`Value`]: crate::Value

use std::borrow::Cow;
use std::cell::Cell;

/// A value on the stack, in the memo or inside a container. `Copy`, so
/// memo GETs, DUP and dropping the machine cost no reference counting.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Item<'a> {
    None,
    Bool(bool),
    Int(i64),
    /// Decimal digits of an integer beyond `i64`, in [`Parsed::owned`].
    ///
    /// [`Parsed::owned`]: super::machine::Parsed::owned
    BigInt(usize),
    Float(f64),
    /// Text borrowed from the payload, as sent: UTF-8 unless the peer is
    /// hostile (or Python's `surrogatepass` wrote a lone surrogate).
    /// Validated only when used, since most keys are only compared.
    Text(&'a [u8]),
    /// Text that had to be decoded (escapes, Python 2 bytes), in the
    /// machine's owned strings.
    Owned(usize),
    /// Python 3 `bytes`/`bytearray`, borrowed from the payload.
    Bytes(&'a [u8]),
    /// Index of a container in the machine's arena.
    Container(usize),
    /// What a code-executing opcode produced in lenient mode: the index of
    /// its display text, e.g. `<pickled object datetime.datetime>`.
    Opaque(usize),
}

impl<'a> Item<'a> {
    /// The bytes of a string item.
    pub(crate) fn text_bytes<'s>(&'s self, owned: &'s [Box<str>]) -> Option<&'s [u8]> {
        match *self {
            Item::Text(b) => Some(b),
            Item::Owned(i) => owned.get(i).map(|s| s.as_bytes()),
            _ => None,
        }
    }

    /// The text of a string item; invalid UTF-8 is replaced with U+FFFD.
    pub(crate) fn text<'s>(&'s self, owned: &'s [Box<str>]) -> Option<Cow<'s, str>> {
        // `from_utf8` is much faster than `from_utf8_lossy` on valid text.
        self.text_bytes(owned).map(|b| {
            crate::utf8::from_utf8(b).map_or_else(|_| String::from_utf8_lossy(b), Cow::Borrowed)
        })
    }
}

/// The owned string at `index` (digits, decoded text, opaque markers).
pub(crate) fn owned_str(owned: &[Box<str>], index: usize) -> &str {
    owned.get(index).map_or("", |s| s)
}

/// The Python type of a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    List,
    Tuple,
    Set,
    FrozenSet,
    /// Items alternate key, value.
    Dict,
}

/// A list, tuple, set or dict built by the machine.
#[derive(Debug)]
pub(crate) struct Container<'a> {
    pub(crate) kind: Kind,
    pub(crate) items: Vec<Item<'a>>,
    /// Set while the container is being converted, to spot reference cycles.
    pub(crate) visiting: Cell<bool>,
}

impl<'a> Container<'a> {
    pub(crate) fn new(kind: Kind, items: Vec<Item<'a>>) -> Container<'a> {
        Container {
            kind,
            items,
            visiting: Cell::new(false),
        }
    }
}

/// Python's name for the type of an item, for error messages.
pub(crate) fn type_name(item: &Item<'_>, arena: &[Container<'_>]) -> &'static str {
    match item {
        Item::None => "None",
        Item::Bool(_) => "bool",
        Item::Int(_) | Item::BigInt(_) => "int",
        Item::Float(_) => "float",
        Item::Text(_) | Item::Owned(_) => "str",
        Item::Bytes(_) => "bytes",
        Item::Opaque(_) => "Python object",
        Item::Container(i) => match arena.get(*i).map(|c| c.kind) {
            Some(Kind::List) => "list",
            Some(Kind::Tuple) => "tuple",
            Some(Kind::Set) => "set",
            Some(Kind::FrozenSet) => "frozenset",
            Some(Kind::Dict) | None => "dict",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_stay_small() {
        // Copies of items are the machine's hot path; keep them three words.
        assert!(std::mem::size_of::<Item<'_>>() <= 24);
        assert!(std::mem::size_of::<Option<Item<'_>>>() <= 24);
    }
}
