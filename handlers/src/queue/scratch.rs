//! A record reused from one log call to the next: its strings, field keys
//! and string values keep their allocations, so building a record costs
//! copies, not `malloc`/`free` pairs.

use std::fmt::{self, Write as _};
use tributary_core::{CompactString, Fields, Record, Value};

/// At most this many spare strings are kept (a record with more fields
/// than this allocates for the rest, as it would without reuse).
const SPARE: usize = 64;

/// A reusable [`Record`] plus the strings of the previous record's fields.
#[derive(Default)]
pub(crate) struct Scratch {
    pub record: Record,
    keys: Vec<CompactString>,
    strs: Vec<String>,
}

impl Scratch {
    /// A scratch whose record carries this process's identity.
    pub fn stamped() -> Scratch {
        let mut scratch = Scratch::default();
        crate::process::stamp_process(&mut scratch.record);
        scratch
    }

    /// Empties the fields, keeping their strings for [`Scratch::key`] and
    /// [`Scratch::string`], and makes room for `n` new ones.
    pub fn clear_fields(&mut self, n: usize) {
        let old = std::mem::replace(&mut self.record.fields, Fields::with_capacity(n));
        for (k, v) in old {
            if self.keys.len() < SPARE {
                self.keys.push(k);
            }
            if let Value::Str(s) = v
                && self.strs.len() < SPARE
            {
                self.strs.push(s);
            }
        }
    }

    /// Adds a field whose key is not present yet (event fields come from
    /// one callsite, whose names are unique).
    pub fn push_field(&mut self, key: &str, value: Value) {
        let key = self.key(key);
        self.record.fields.insert(key, value);
    }

    /// Adds a field unless its key is present: span fields never replace
    /// event fields or fields of an inner span.
    pub fn push_field_if_absent(&mut self, key: &str, value: &Value) {
        if !self.record.fields.contains_key(key) {
            let value = self.copy(value);
            self.push_field(key, value);
        }
    }

    fn key(&mut self, key: &str) -> CompactString {
        match self.keys.pop() {
            Some(mut s) => {
                s.clear();
                s.push_str(key);
                s
            }
            None => key.into(),
        }
    }

    fn spare(&mut self) -> String {
        let mut s = self.strs.pop().unwrap_or_default();
        s.clear();
        s
    }

    /// A string value, in a reused buffer.
    pub fn string(&mut self, value: &str) -> Value {
        let mut s = self.spare();
        s.push_str(value);
        Value::Str(s)
    }

    /// A value's `Debug` text, in a reused buffer.
    pub fn debug(&mut self, value: &dyn fmt::Debug) -> Value {
        let mut s = self.spare();
        let _ = write!(s, "{value:?}");
        Value::Str(s)
    }

    /// A `Display` text (an error's message), in a reused buffer.
    pub fn display(&mut self, value: &dyn fmt::Display) -> Value {
        let mut s = self.spare();
        let _ = write!(s, "{value}");
        Value::Str(s)
    }

    /// A copy of `value`, strings in reused buffers.
    pub fn copy(&mut self, value: &Value) -> Value {
        match value {
            Value::Str(s) => self.string(s),
            other => other.clone(),
        }
    }
}

/// Sets `slot` to `value`, reusing its buffer.
pub(crate) fn set_str(slot: &mut CompactString, value: &str) {
    slot.clear();
    slot.push_str(value);
}

/// Sets `slot` to `value`, reusing its buffer.
pub(crate) fn set_opt(slot: &mut Option<CompactString>, value: Option<&str>) {
    match (slot.as_mut(), value) {
        (Some(s), Some(v)) => set_str(s, v),
        (None, Some(v)) => *slot = Some(v.into()),
        (_, None) => *slot = None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_strings_and_keeps_event_fields_first() {
        let mut s = Scratch::default();
        s.clear_fields(2);
        let v = s.string("ann");
        s.push_field("user", v);
        s.push_field("n", Value::Int(1));
        s.push_field_if_absent("user", &Value::from("span"));
        s.push_field_if_absent("req", &Value::from("r1"));
        let keys: Vec<_> = s.record.fields.keys().collect();
        assert_eq!(keys, ["user", "n", "req"]);
        assert_eq!(s.record.fields.get("user"), Some(&Value::from("ann")));
        s.clear_fields(1);
        assert!(s.record.fields.is_empty());
        assert_eq!((s.keys.len(), s.strs.len()), (3, 2));
        let v = s.debug(&Some(3));
        s.push_field("opt", v);
        assert_eq!(s.record.fields.get("opt"), Some(&Value::from("Some(3)")));
    }
}
