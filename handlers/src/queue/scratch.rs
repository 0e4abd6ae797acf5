//! A record reused from one log call to the next: its text fields and its
//! field map keep their allocations, so building a record costs copies, not
//! `malloc`/`free` pairs. Keys are [`CompactString`]s (inline up to 24
//! bytes), so a field costs an allocation only for a string value.

use std::fmt::{self, Write as _};
use tributary_core::{CompactString, Record, Value};

/// A reusable [`Record`].
#[derive(Default)]
pub(crate) struct Scratch {
    pub record: Record,
}

impl Scratch {
    /// A scratch whose record carries this process's identity.
    pub fn stamped() -> Scratch {
        let mut scratch = Scratch::default();
        crate::process::stamp_process(&mut scratch.record);
        scratch
    }

    /// Empties the fields, keeping the map's room (callgrind: replacing the
    /// map to recycle its string values cost 533 instructions per event,
    /// more than freeing and allocating the few strings again).
    pub fn clear_fields(&mut self) {
        self.record.fields.clear();
    }

    /// Adds a field whose key is not present yet (event fields come from
    /// one callsite, whose names are unique).
    pub fn push_field(&mut self, key: &str, value: Value) {
        self.record.fields.insert(CompactString::from(key), value);
    }

    /// Adds a field unless its key is present: span fields never replace
    /// event fields or fields of an inner span.
    pub fn push_field_if_absent(&mut self, key: &str, value: &Value) {
        if !self.record.fields.contains_key(key) {
            self.push_field(key, value.clone());
        }
    }

    /// A string value.
    pub fn string(&mut self, value: &str) -> Value {
        Value::from(value)
    }

    /// A value's `Debug` text.
    pub fn debug(&mut self, value: &dyn fmt::Debug) -> Value {
        let mut s = CompactString::default();
        let _ = write!(s, "{value:?}");
        Value::Str(s)
    }

    /// A `Display` text (an error's message).
    pub fn display(&mut self, value: &dyn fmt::Display) -> Value {
        let mut s = CompactString::default();
        let _ = write!(s, "{value}");
        Value::Str(s)
    }
}

/// Sets `slot` to `value`, reusing its buffer. Events of one callsite
/// repeat their target, file and module: comparing is cheaper than copying.
pub(crate) fn set_str(slot: &mut CompactString, value: &str) {
    if slot.as_str() != value {
        slot.clear();
        slot.push_str(value);
    }
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
    fn keeps_event_fields_first_and_empties_between_records() {
        let mut s = Scratch::default();
        s.clear_fields();
        let v = s.string("ann");
        s.push_field("user", v);
        s.push_field("n", Value::Int(1));
        s.push_field_if_absent("user", &Value::from("span"));
        s.push_field_if_absent("req", &Value::from("r1"));
        let keys: Vec<_> = s.record.fields.keys().collect();
        assert_eq!(keys, ["user", "n", "req"]);
        assert_eq!(s.record.fields.get("user"), Some(&Value::from("ann")));
        s.clear_fields();
        assert!(s.record.fields.is_empty());
        let v = s.debug(&Some(3));
        s.push_field("opt", v);
        let v = s.display(&"shown");
        s.push_field("err", v);
        assert_eq!(s.record.fields.get("opt"), Some(&Value::from("Some(3)")));
        assert_eq!(s.record.fields.get("err"), Some(&Value::from("shown")));
        assert_eq!(s.record.fields.len(), 2);
    }
}
