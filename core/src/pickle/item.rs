//! The values the pickle machine works with before they become [`Value`]s.
//!
//! Items borrow strings from the payload and refer to containers by index,
//! so copying one (memo GET, DUP) costs no allocation, and a container
//! stored in the memo and filled afterwards is seen filled, as in Python.
//!
//! [`Value`]: crate::Value

use std::cell::Cell;
use std::rc::Rc;

/// A value on the stack, in the memo or inside a container.
#[derive(Clone, Debug)]
pub(crate) enum Item<'a> {
    None,
    Bool(bool),
    Int(i64),
    /// Decimal digits of an integer beyond `i64`.
    BigInt(Rc<str>),
    Float(f64),
    /// Text borrowed from the payload.
    Str(&'a str),
    /// Text that had to be decoded (escapes, invalid UTF-8).
    OwnedStr(Rc<str>),
    /// Python 3 `bytes`/`bytearray`, borrowed from the payload.
    Bytes(&'a [u8]),
    /// Index of a container in the machine's arena.
    Container(usize),
    /// What a code-executing opcode produced in lenient mode: its display
    /// text, e.g. `<pickled object datetime.datetime>`.
    Opaque(Rc<str>),
}

impl Item<'_> {
    /// The text, if this is a string.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Item::Str(s) => Some(s),
            Item::OwnedStr(s) => Some(s),
            _ => None,
        }
    }
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
        Item::Str(_) | Item::OwnedStr(_) => "str",
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
