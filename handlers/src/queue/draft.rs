//! A record as the calling thread builds it: borrowed `'static` strings and
//! shared span fields, so the caller allocates as little as possible; the
//! dispatcher thread turns it into a [`Record`](tributary_core::Record).

use super::scratch::{Scratch, set_opt, set_str};
use std::borrow::Cow;
use std::sync::Arc;
use tributary_core::{Level, Timestamp, Value};

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

impl Draft {
    /// Moves this draft into `scratch`, reusing its buffers. Event fields
    /// come first; span fields follow, the innermost span winning, and never
    /// replace an event field.
    pub fn fill(self, scratch: &mut Scratch) {
        scratch.clear_fields();
        let r = &mut scratch.record;
        r.ts = self.ts;
        r.level = self.level;
        set_str(&mut r.logger, &self.logger);
        r.msg = self.msg.into();
        set_opt(&mut r.file, self.file.as_deref());
        r.line = self.line;
        set_opt(&mut r.module, self.module.as_deref());
        r.tid = Some(self.tid);
        set_opt(&mut r.thread, self.thread.as_deref());
        r.seq = Some(self.seq);
        for (k, v) in self.fields {
            match k {
                Cow::Borrowed(k) => scratch.push_field(k, v),
                Cow::Owned(k) => scratch.record.fields.insert(k, v),
            }
        }
        for span in &self.context {
            for (k, v) in span.iter() {
                scratch.push_field_if_absent(k, v);
            }
        }
    }
}
