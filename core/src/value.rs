//! Typed field values and the ordered field map.

use compact_str::CompactString;
use std::collections::HashMap;
use std::fmt;

/// A typed field value: what Python's `extra=`, a `tracing` field or a JSON
/// producer can attach to a record.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// JSON `null`, Python `None`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// An integer beyond 64 bits (Python ints are unbounded), as its decimal
    /// digits with an optional leading `-`. Rendered as a JSON number.
    BigInt(Box<str>),
    /// A floating-point number. Non-finite values render as strings in JSON.
    Float(f64),
    /// A string: inline up to 24 bytes, so the short strings log fields
    /// carry (methods, paths, user names) cost no allocation.
    Str(CompactString),
    /// A list of values.
    List(Vec<Value>),
    /// A map of values, in insertion order.
    Map(Fields),
}

impl Value {
    /// The string inside, if this is a [`Value::Str`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside, if this is a [`Value::Int`].
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// A big integer from its decimal digits, or `None` when `digits` is not
    /// an optionally signed run of ASCII digits. Values that fit in an `i64`
    /// become [`Value::Int`].
    pub fn big_int(digits: &str) -> Option<Value> {
        let body = digits.strip_prefix('-').unwrap_or(digits);
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(match digits.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::BigInt(digits.into()),
        })
    }
}

impl fmt::Display for Value {
    /// Displays a value as Python's `str()` would for the common types, so a
    /// pattern like `%(user)s` prints `ann`, not `"ann"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.pad("None"),
            Value::Bool(true) => f.pad("True"),
            Value::Bool(false) => f.pad("False"),
            Value::Int(i) => fmt::Display::fmt(i, f),
            Value::BigInt(s) => f.pad(s),
            Value::Float(x) => f.pad(&crate::pyfmt::float_repr(*x)),
            Value::Str(s) => f.pad(s),
            Value::List(_) | Value::Map(_) => {
                let mut out = Vec::new();
                crate::json::write_value(&mut out, self);
                f.pad(&String::from_utf8_lossy(&out))
            }
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(v: $t) -> Self { Value::Int(i64::from(v)) }
        }
    )*};
}
from_int!(i8, i16, i32, i64, u8, u16, u32);

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::BigInt(v.to_string().into()),
        }
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::from(v as u64)
    }
}

impl From<i128> for Value {
    fn from(v: i128) -> Self {
        match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::BigInt(v.to_string().into()),
        }
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}

impl From<f32> for Value {
    fn from(v: f32) -> Self {
        Value::Float(f64::from(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(CompactString::new(v))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v.into())
    }
}

impl From<CompactString> for Value {
    fn from(v: CompactString) -> Self {
        Value::Str(v)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl From<Fields> for Value {
    fn from(v: Fields) -> Self {
        Value::Map(v)
    }
}

/// Named values in insertion order, with unique keys.
///
/// Inserting an existing key replaces its value in place, as a Python dict
/// update does, so a key never appears twice in the output.
///
/// ```
/// use tributary_core::{Fields, Value};
/// let mut fields = Fields::new();
/// fields.insert("user", "ann");
/// fields.insert("attempt", 3);
/// fields.insert("user", "bob");
/// assert_eq!(fields.len(), 2);
/// assert_eq!(fields.get("user"), Some(&Value::from("bob")));
/// assert_eq!(fields.keys().collect::<Vec<_>>(), ["user", "attempt"]);
/// ```
///
/// Keys are [`CompactString`]s: field names are short, so they are kept
/// inline and a decoded field costs no allocation for its name.
#[derive(Clone, Default)]
pub struct Fields {
    entries: Vec<(CompactString, Value)>,
    /// Key → position, built only once a map is large: log records carry a
    /// handful of fields, where a scan beats hashing, but a hostile peer can
    /// send thousands of keys, where a scan per insert would be quadratic.
    ///
    /// Boxed: it is rare, and inline it tripled the size of every `Fields`,
    /// `Value` and field entry (72 → 32 bytes for a `Fields`).
    #[allow(
        clippy::box_collection,
        reason = "one pointer instead of 48 bytes inline"
    )]
    index: Option<Box<HashMap<CompactString, usize>>>,
}

/// Maps up to this many keys are searched linearly.
const SCAN_LIMIT: usize = 32;

/// Shows the entries as a map, in order; the lookup index is an
/// implementation detail (and a hash map would print in a different order
/// each run, making equal values look different).
impl std::fmt::Debug for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl Fields {
    /// An empty map.
    pub const fn new() -> Fields {
        Fields {
            entries: Vec::new(),
            index: None,
        }
    }

    /// An empty map with room for `n` fields.
    pub fn with_capacity(n: usize) -> Fields {
        Fields {
            entries: Vec::with_capacity(n),
            index: None,
        }
    }

    fn position(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|(k, _)| k == key),
        }
    }

    /// Sets `key` to `value`: replaces the value of an existing key in its
    /// place, or appends a new key.
    pub fn insert(&mut self, key: impl Into<CompactString>, value: impl Into<Value>) {
        self.insert_key(key.into(), value.into());
    }

    /// [`Fields::insert`] without the conversions, for the decoders.
    pub(crate) fn insert_key(&mut self, key: CompactString, value: Value) {
        if let Some(at) = self.position(&key) {
            self.entries[at].1 = value;
            return;
        }
        if let Some(index) = &mut self.index {
            index.insert(key.clone(), self.entries.len());
        } else if self.entries.len() >= SCAN_LIMIT {
            let mut index: HashMap<CompactString, usize> = self
                .entries
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.clone(), i))
                .collect();
            index.insert(key.clone(), self.entries.len());
            self.index = Some(Box::new(index));
        }
        self.entries.push((key, value));
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.position(key).map(|at| &self.entries[at].1)
    }

    /// Removes `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let at = self.position(key)?;
        let (_, value) = self.entries.remove(at);
        if let Some(index) = &mut self.index {
            index.remove(key);
            for slot in index.values_mut() {
                if *slot > at {
                    *slot -= 1;
                }
            }
        }
        Some(value)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every field but keeps the allocated room, so a map reused
    /// per record (one per thread, say) stops allocating once it has grown
    /// to the usual size. The key index of a large map is dropped: the next
    /// record is most likely small, where scanning is faster.
    pub fn clear(&mut self) {
        self.entries.clear();
        self.index = None;
    }

    /// [`Fields::clear`], but a map that grew past `room` fields (one
    /// hostile record) gives its memory back instead of keeping it.
    pub(crate) fn clear_within(&mut self, room: usize) {
        if self.entries.capacity() > room {
            *self = Fields::new();
        } else {
            self.clear();
        }
    }

    /// The fields in insertion order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The keys in insertion order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// Adds every field of `other`, replacing values of keys present in both.
    pub fn extend(&mut self, other: Fields) {
        for (k, v) in other.entries {
            self.insert(k, v);
        }
    }
}

impl<K: Into<CompactString>, V: Into<Value>> FromIterator<(K, V)> for Fields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut fields = Fields::new();
        for (k, v) in iter {
            fields.insert(k, v);
        }
        fields
    }
}

impl IntoIterator for Fields {
    type Item = (CompactString, Value);
    type IntoIter = std::vec::IntoIter<(CompactString, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_int_keeps_digits_beyond_i64() {
        assert_eq!(Value::big_int("42"), Some(Value::Int(42)));
        assert_eq!(
            Value::big_int("-123456789012345678901234567890"),
            Some(Value::BigInt("-123456789012345678901234567890".into()))
        );
        assert_eq!(Value::big_int("12a"), None);
        assert_eq!(Value::big_int("-"), None);
        assert_eq!(
            Value::from(u64::MAX),
            Value::BigInt("18446744073709551615".into())
        );
    }

    #[test]
    fn display_is_python_str() {
        assert_eq!(Value::Null.to_string(), "None");
        assert_eq!(Value::Bool(true).to_string(), "True");
        assert_eq!(Value::Float(1.0).to_string(), "1.0");
        assert_eq!(Value::Float(0.1).to_string(), "0.1");
        assert_eq!(Value::from("x").to_string(), "x");
        assert_eq!(format!("{:>4}", Value::from("x")), "   x");
    }

    #[test]
    fn large_maps_stay_ordered_unique_and_indexed() {
        assert_eq!(std::mem::size_of::<Fields>(), 32);
        let mut f = Fields::new();
        for i in 0..10_000 {
            f.insert(format!("k{i}"), i);
        }
        for i in (0..10_000).step_by(7) {
            f.insert(format!("k{i}"), -1);
        }
        assert_eq!(f.len(), 10_000);
        assert_eq!(f.get("k7"), Some(&Value::Int(-1)));
        assert_eq!(f.get("k8"), Some(&Value::Int(8)));
        assert_eq!(f.remove("k0"), Some(Value::Int(-1)));
        assert_eq!(f.get("k1"), Some(&Value::Int(1)));
        assert_eq!(f.get("k9999"), Some(&Value::Int(9999)));
        assert_eq!(f.keys().next(), Some("k1"));
        f.insert("k0", 0);
        assert_eq!(f.keys().last(), Some("k0"));
        let small: Fields = f
            .iter()
            .take(3)
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect();
        assert_eq!(small.keys().collect::<Vec<_>>(), ["k1", "k2", "k3"]);
    }

    #[test]
    fn clear_empties_and_keeps_capacity() {
        let mut f = Fields::with_capacity(8);
        for i in 0..40 {
            f.insert(format!("k{i}"), i);
        }
        let room = f.entries.capacity();
        f.clear();
        assert!(f.is_empty());
        assert_eq!(f.get("k1"), None);
        assert_eq!(f.entries.capacity(), room);
        f.insert("a", 1);
        f.insert("b", 2);
        f.insert("a", 3);
        assert_eq!(f.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(f.get("a"), Some(&Value::Int(3)));
    }

    #[test]
    fn remove_and_extend() {
        let mut a: Fields = [("a", 1), ("b", 2)].into_iter().collect();
        let b: Fields = [("b", 3), ("c", 4)].into_iter().collect();
        a.extend(b);
        assert_eq!(a.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(a.remove("b"), Some(Value::Int(3)));
        assert_eq!(a.len(), 2);
    }
}
