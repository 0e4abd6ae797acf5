//! A `tracing_subscriber::Layer` that turns events into records on a queue.

use crate::process::{self, with_thread};
use crate::queue::{Draft, QueueHandler, Scratch, SpanFields, set_opt, set_str};
use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::sync::Arc;
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record as SpanRecord};
use tracing_core::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tributary_core::{Level, Timestamp, Value};

/// Sends every `tracing` event to a [`QueueHandler`] as a record: the
/// message, the event's fields with their types (integers, floats, bools,
/// strings; anything else as its `Debug` text), the target as the logger
/// name, source file, line and module, thread, and the fields of the
/// enclosing spans (the innermost span winning, event fields winning over
/// span fields).
///
/// When every handler of the queue needs only the formatted line (no
/// filters, one shared formatter: the usual file or stream setup), the
/// calling thread formats the event into a reused record and sends the
/// line, so producers format in parallel and the dispatcher only writes.
/// Otherwise it collects the fields and sends them; the dispatcher builds
/// the record.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # let dir = tempfile::tempdir()?;
/// use tracing_subscriber::prelude::*;
/// use tributary_handlers::{FileHandler, QueueListener, TributaryLayer};
/// let listener = QueueListener::builder()
///     .handler(FileHandler::append(dir.path().join("app.log"))?)
///     .start()?;
/// let subscriber = tracing_subscriber::registry().with(TributaryLayer::new(listener.queue_handler()));
/// tracing::subscriber::with_default(subscriber, || {
///     let _span = tracing::info_span!("request", id = 7).entered();
///     tracing::info!(user = "ann", "logged in");
/// });
/// drop(listener);
/// let line = std::fs::read_to_string(dir.path().join("app.log"))?;
/// assert!(line.contains(r#""fields":{"user":"ann","id":7}"#), "{line}");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct TributaryLayer {
    queue: QueueHandler,
    max_level: tracing_core::LevelFilter,
}

impl TributaryLayer {
    /// A layer feeding `queue`, passing every level.
    pub fn new(queue: QueueHandler) -> TributaryLayer {
        TributaryLayer {
            queue,
            max_level: tracing_core::LevelFilter::TRACE,
        }
    }

    /// Passes only events at `max_level` or more severe (`INFO` passes
    /// INFO, WARN and ERROR). Disabled callsites then cost nothing.
    #[must_use]
    pub fn with_max_level(
        mut self,
        max_level: impl Into<tracing_core::LevelFilter>,
    ) -> TributaryLayer {
        self.max_level = max_level.into();
        self
    }
}

/// `tracing` level → record level: TRACE 5, DEBUG 10, INFO 20, WARN 30
/// (named `WARNING`, as Python does), ERROR 40.
pub fn level_of(level: &tracing_core::Level) -> Level {
    match *level {
        tracing_core::Level::TRACE => Level::TRACE,
        tracing_core::Level::DEBUG => Level::DEBUG,
        tracing_core::Level::INFO => Level::INFO,
        tracing_core::Level::WARN => Level::WARNING,
        _ => Level::ERROR,
    }
}

/// Collects an event's message and typed fields.
struct EventVisitor {
    msg: String,
    fields: Vec<(Cow<'static, str>, Value)>,
}

impl Visit for EventVisitor {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.fields
            .push((Cow::Borrowed(field.name()), Value::Float(value)));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields
            .push((Cow::Borrowed(field.name()), Value::Int(value)));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields
            .push((Cow::Borrowed(field.name()), Value::from(value)));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.fields
            .push((Cow::Borrowed(field.name()), Value::from(value)));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        let v = i64::try_from(value)
            .map_or_else(|_| Value::BigInt(value.to_string().into()), Value::Int);
        self.fields.push((Cow::Borrowed(field.name()), v));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields
            .push((Cow::Borrowed(field.name()), Value::Bool(value)));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.msg.push_str(value);
        } else {
            self.fields
                .push((Cow::Borrowed(field.name()), Value::from(value)));
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.fields
            .push((Cow::Borrowed(field.name()), Value::from(value.to_string())));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.msg, "{value:?}");
        } else {
            self.fields.push((
                Cow::Borrowed(field.name()),
                Value::from(format!("{value:?}")),
            ));
        }
    }
}

/// Collects an event's message and typed fields straight into the calling
/// thread's reused record.
struct ScratchVisitor<'a>(&'a mut Scratch);

impl Visit for ScratchVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.push_field(field.name(), Value::Float(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push_field(field.name(), Value::Int(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push_field(field.name(), Value::from(value));
    }
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.0.push_field(field.name(), Value::from(value));
    }
    fn record_u128(&mut self, field: &Field, value: u128) {
        let v = i64::try_from(value)
            .map_or_else(|_| Value::BigInt(value.to_string().into()), Value::Int);
        self.0.push_field(field.name(), v);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push_field(field.name(), Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.record.msg.push_str(value);
        } else {
            let v = self.0.string(value);
            self.0.push_field(field.name(), v);
        }
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let v = self.0.display(&value);
        self.0.push_field(field.name(), v);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0.record.msg, "{value:?}");
        } else {
            let v = self.0.debug(value);
            self.0.push_field(field.name(), v);
        }
    }
}

thread_local! {
    /// The record this thread formats its events in; `None` until the
    /// thread's first event.
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

impl TributaryLayer {
    /// Builds the record in this thread's scratch, formats it here and
    /// sends the line. `false` when that cannot be done (the queue's
    /// handlers need records, the scratch is in use by an event logged
    /// while formatting a field, or the thread is exiting): the caller
    /// then sends a draft.
    fn send_formatted<S>(&self, ts: Timestamp, event: &Event<'_>, ctx: &Context<'_, S>) -> bool
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if !self.queue.formats_lines() {
            return false;
        }
        SCRATCH
            .try_with(|cell| {
                let Ok(mut slot) = cell.try_borrow_mut() else {
                    return false;
                };
                let scratch = slot.get_or_insert_with(|| {
                    let mut s = Scratch::stamped();
                    with_thread(|t| {
                        s.record.tid = Some(t.tid);
                        s.record.thread = t.name.as_deref().map(Into::into);
                    });
                    s
                });
                let meta = event.metadata();
                scratch.clear_fields();
                let r = &mut scratch.record;
                r.ts = ts;
                r.level = level_of(meta.level());
                set_str(&mut r.logger, meta.target());
                r.msg.clear();
                set_opt(&mut r.file, meta.file());
                r.line = meta.line();
                set_opt(&mut r.module, meta.module_path());
                event.record(&mut ScratchVisitor(scratch));
                if let Some(scope) = ctx.event_scope(event) {
                    for span in scope {
                        if let Some(fields) = span.extensions().get::<Arc<SpanFields>>() {
                            for (k, v) in fields.iter() {
                                scratch.push_field_if_absent(k, v);
                            }
                        }
                    }
                }
                scratch.record.seq = Some(process::next_seq());
                match self.queue.format(&scratch.record) {
                    Some(line) => self.queue.send_line(line),
                    // The formatter panicked: the dispatcher runs the
                    // handlers on the record, containing and reporting it.
                    None => self.queue.send_record(scratch.record.clone()),
                }
                true
            })
            .unwrap_or(false)
    }
}

/// Collects a span's fields (replacing a field recorded again).
struct SpanVisitor<'a>(&'a mut SpanFields);

impl SpanVisitor<'_> {
    fn put(&mut self, name: &'static str, value: Value) {
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }
}

impl Visit for SpanVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field.name(), Value::Float(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field.name(), Value::Int(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field.name(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field.name(), Value::Bool(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field.name(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field.name(), Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field.name(), Value::from(format!("{value:?}")));
    }
}

impl<S> tracing_subscriber::Layer<S> for TributaryLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.max_level >= *metadata.level()
    }

    fn max_level_hint(&self) -> Option<tracing_core::LevelFilter> {
        Some(self.max_level)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::new();
        attrs.record(&mut SpanVisitor(&mut fields));
        if !fields.is_empty() {
            span.extensions_mut().insert(Arc::new(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &SpanRecord<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        match ext.get_mut::<Arc<SpanFields>>() {
            // Events already sent keep their snapshot; copy-on-write.
            Some(fields) => values.record(&mut SpanVisitor(Arc::make_mut(fields))),
            None => {
                let mut fields = SpanFields::new();
                values.record(&mut SpanVisitor(&mut fields));
                if !fields.is_empty() {
                    ext.insert(Arc::new(fields));
                }
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let ts = Timestamp::now();
        if self.send_formatted(ts, event, &ctx) {
            return;
        }
        let meta = event.metadata();
        let mut visitor = EventVisitor {
            msg: String::new(),
            fields: Vec::new(),
        };
        event.record(&mut visitor);
        let mut context = Vec::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if let Some(fields) = span.extensions().get::<Arc<SpanFields>>() {
                    context.push(fields.clone());
                }
            }
        }
        let (tid, thread) = with_thread(|t| (t.tid, t.name.clone()));
        self.queue.send_draft(Draft {
            ts,
            level: level_of(meta.level()),
            logger: Cow::Borrowed(meta.target()),
            msg: visitor.msg,
            file: meta.file().map(Cow::Borrowed),
            line: meta.line(),
            module: meta.module_path().map(Cow::Borrowed),
            tid,
            thread,
            seq: process::next_seq(),
            fields: visitor.fields,
            context,
        });
    }
}
