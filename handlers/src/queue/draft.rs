//! A record as the calling thread builds it: borrowed `'static` strings and
//! shared span fields, so the caller allocates as little as possible; the
//! dispatcher thread turns it into a [`Record`].

use std::borrow::Cow;
use std::sync::Arc;
use tributary_core::{Fields, Level, Record, Timestamp, Value};

/// Fields of one span, in recording order.
pub(crate) type SpanFields = Vec<(&'static str, Value)>;

/// An event on its way to the dispatcher.
pub(crate) struct Draft {
    pub ts: Timestamp,
    pub level: Level,
    pub logger: Cow<'static, str>,
    pub msg: String,
    pub file: Option<Cow<'static, str>>,
    pub line: Option<u32>,
    pub module: Option<Cow<'static, str>>,
    pub tid: u64,
    pub thread: Option<Arc<str>>,
    pub seq: u64,
    pub fields: Vec<(Cow<'static, str>, Value)>,
    /// Enclosing spans' fields, innermost first.
    pub context: Vec<Arc<SpanFields>>,
}

fn set_str(slot: &mut String, value: &str) {
    slot.clear();
    slot.push_str(value);
}

fn set_opt(slot: &mut Option<String>, value: Option<&str>) {
    match (slot.as_mut(), value) {
        (Some(s), Some(v)) => set_str(s, v),
        (None, Some(v)) => *slot = Some(v.to_owned()),
        (_, None) => *slot = None,
    }
}

impl Draft {
    /// Moves this draft into `scratch`, reusing its string buffers. Event
    /// fields come first; span fields follow, the innermost span winning,
    /// and never replace an event field.
    pub fn fill(self, scratch: &mut Record) {
        scratch.ts = self.ts;
        scratch.level = self.level;
        set_str(&mut scratch.logger, &self.logger);
        scratch.msg = self.msg;
        set_opt(&mut scratch.file, self.file.as_deref());
        scratch.line = self.line;
        set_opt(&mut scratch.module, self.module.as_deref());
        scratch.tid = Some(self.tid);
        set_opt(&mut scratch.thread, self.thread.as_deref());
        scratch.seq = Some(self.seq);
        let extra: usize = self.context.iter().map(|c| c.len()).sum();
        let mut fields = Fields::with_capacity(self.fields.len() + extra);
        // Reuse the previous record's key strings: no allocation per key.
        let mut spare = std::mem::take(&mut scratch.fields)
            .into_iter()
            .map(|(k, _)| k);
        let mut key = |k: &str| match spare.next() {
            Some(mut s) => {
                s.clear();
                s.push_str(k);
                s
            }
            None => k.to_owned(),
        };
        for (k, v) in self.fields {
            let k = match k {
                Cow::Borrowed(k) => key(k),
                Cow::Owned(k) => k,
            };
            fields.insert(k, v);
        }
        for span in &self.context {
            for (k, v) in span.iter() {
                if !fields.contains_key(k) {
                    fields.insert(key(k), v.clone());
                }
            }
        }
        scratch.fields = fields;
    }
}
